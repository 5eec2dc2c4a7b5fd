"""Drills (预案推演) on the real PostGIS: a scenario's steps run on their clock, once each, as an exercise incident;
the same gas-main emergency played as a drill leaves every real KPI as it was (and, played for real, changes them —
so the comparison can fail); a drill's messages say 演练 and its isolation's customers are never texted."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone, translation
from procrastinate.contrib.django.models import ProcrastinateJob

from dispatch.models import Incident, TimelineEntry
from drills import script, services
from drills.models import Drill, Scenario
from emergency.models import ResponsePlan
from notify.models import Notification
from pipelines_mgmt.models import RepairOrder

pytestmark = pytest.mark.django_db

# A fixed window around now: the dispatch KPIs' default window moves with the clock.
NOW = timezone.now()
WINDOW = f"from={NOW - timedelta(days=30):%Y-%m-%dT%H:%M:%SZ}&to={NOW + timedelta(days=1):%Y-%m-%dT%H:%M:%SZ}"
# The decision maps' "month" ends now (to the minute): a slow run would see it move, so a fixed custom period.
DAYS = f"from={NOW - timedelta(days=30):%Y-%m-%d}&to={NOW + timedelta(days=1):%Y-%m-%d}"
KPI_READS = [
    f"/api/dispatch/kpis/?{WINDOW}",
    f"/api/leader/summary/?{DAYS}",
    f"/api/leader/layers/incidents/?{DAYS}",
    f"/api/leader/layers/bursts/?{DAYS}",
    f"/api/leader/layers/response/?{DAYS}",
    "/api/leader/trends/incidents/",
    "/api/leader/trends/bursts/",
]


def kpis(api) -> dict:
    cache.clear()  # the dashboard keeps its answers a minute
    answers = {}
    for url in KPI_READS:
        response = api("leader").get(url)
        assert response.status_code == 200, (url, response.content[:300])
        answers[url] = response.json()
    return answers


def test_a_script_is_read_in_time_order_and_refused_with_the_path_of_its_fault():
    steps = script.read_steps(
        [{"at_s": 60, "kind": "note", "text": "风力加大"}, {"at_s": 0, "kind": "call", "type": "119-GAS-LEAK"}],
        {"119-GAS-LEAK"},
    )
    assert [s.kind for s in steps] == ["call", "note"]
    for bad, field in [
        ([], "steps"),
        ([{"at_s": 0, "kind": "call", "type": "NOPE"}], "steps.0.type"),
        ([{"at_s": -1, "kind": "call", "type": "119-GAS-LEAK"}], "steps.0.at_s"),
        ([{"at_s": 0, "kind": "explode"}], "steps.0.kind"),
        ([{"at_s": 0, "kind": "note", "text": "x"}], "steps"),  # no call first
        ([{"at_s": 0, "kind": "call", "type": "119-GAS-LEAK", "colour": 1}], "steps.0.colour"),
        ([{"at_s": 0, "kind": "call", "type": "119-GAS-LEAK"}, {"at_s": 5, "kind": "note"}], "steps.1.text"),
    ]:
        with pytest.raises(script.ScriptError) as error:
            script.read_steps(bad, {"119-GAS-LEAK"})
        assert error.value.field == field


def start_drill(api) -> Drill:
    response = api("operator").post("/api/drills/", {"scenario": "gas-main-drill"}, format="json")
    assert response.status_code == 201, response.json()
    return Drill.objects.get(pk=response.json()["id"])


def test_a_drill_s_steps_are_jobs_at_their_times_and_each_runs_once(api, demo_city, django_capture_on_commit_callbacks):
    scenario = Scenario.objects.get(code="gas-main-drill")
    drill = start_drill(api)
    jobs = ProcrastinateJob.objects.filter(task_name="drills.run_step", args__drill_id=drill.pk)
    assert sorted(job.args["index"] for job in jobs) == list(range(len(scenario.steps)))
    for step in drill.steps.all():  # each job is due when its step is
        job = next(j for j in jobs if j.args["index"] == step.index)
        assert abs((job.scheduled_at - step.due_at).total_seconds()) < 1

    with django_capture_on_commit_callbacks(execute=True):
        call = services.run_step(drill.pk, 0)
    drill.refresh_from_db()
    incident = drill.incident
    assert incident.exercise and call.result == incident.number
    assert RepairOrder.objects.get(incident_id=incident.pk).exercise  # the burst it opened is an exercise too
    assert services.run_step(drill.pk, 0).done_at == call.done_at  # a job run twice does nothing more
    assert Incident.objects.filter(exercise=True).count() == 1
    services.run_step(drill.pk, 1)  # a repeat call
    services.run_step(drill.pk, 2)  # an inject on the timeline
    assert incident.calls.count() == 2
    assert TimelineEntry.objects.filter(incident=incident, type="drill_inject").count() == 1

    ended = api("operator").post(f"/api/drills/{drill.pk}/finish/", {}, format="json").json()
    assert ended["status"] == "finished"
    with translation.override("en"):
        assert services.run_step(drill.pk, 3).result == "skipped: the drill had ended"
    assert api("operator").post(f"/api/drills/{drill.pk}/finish/", {}, format="json").status_code == 409
    detail = api("leader").get(f"/api/drills/{drill.pk}/").json()
    assert detail["incident"]["number"] == incident.number and len(detail["steps"]) == len(scenario.steps)


def play_the_emergency(api, incident: Incident) -> None:
    """What the operators do: the gas-leak plan at level Ⅲ, the recommended units sent, on scene, closed."""
    operator = api("operator")
    plan = ResponsePlan.objects.get(code="gas-leak", current=True)
    url = f"/api/emergency/incidents/{incident.pk}/plan/"
    assert operator.post(url, {"plan": plan.pk, "level": 3}, format="json").status_code == 201
    proposal = operator.get(f"/api/dispatch/incidents/{incident.pk}/recommendation/").json()
    ids = [unit["vehicle_id"] for unit in proposal["units"] if unit["recommended"]]
    assert ids
    sent = operator.post(f"/api/dispatch/incidents/{incident.pk}/dispatch/", {"vehicle_ids": ids}, format="json")
    assert sent.status_code == 200, sent.json()
    for assignment in sent.json()["properties"]["assignments"]:
        arrived = operator.post(f"/api/dispatch/assignments/{assignment['id']}/status/", {"status": "on_scene"},
                                format="json")  # fmt: skip
        assert arrived.status_code == 200
    closed = operator.post(f"/api/dispatch/incidents/{incident.pk}/status/", {"status": "closed"}, format="json")
    assert closed.status_code == 200, closed.json()


def test_the_emergency_played_as_a_drill_leaves_every_real_kpi_unchanged(
    api, demo_city, django_capture_on_commit_callbacks
):
    before = kpis(api)
    drill = start_drill(api)
    with django_capture_on_commit_callbacks(execute=True):
        services.run_step(drill.pk, 0)
    drill.refresh_from_db()
    play_the_emergency(api, drill.incident)
    assert Incident.objects.get(pk=drill.incident_id).status == "closed"
    assert kpis(api) == before

    # Its messages said it was a drill; its customers cannot be texted.
    subjects = list(Notification.objects.filter(about_id=str(drill.incident_id)).values_list("subject", flat=True))
    assert subjects and all(subject.startswith("【演练】") for subject in subjects)
    order = RepairOrder.objects.get(incident_id=drill.incident_id)
    refused = api("operator").post(f"/api/pipelines/repair-orders/{order.number}/notify-customers/", {}, format="json")
    assert refused.status_code == 409 and "演练" in refused.json()["detail"]

    # The same emergency for real does count: the comparison above can fail.
    with django_capture_on_commit_callbacks(execute=True):
        real = api("calltaker").post(
            "/api/dispatch/incidents/",
            {"type_code": "119-GAS-LEAK", "location": {"type": "Point", "coordinates": list(drill.place.coords)},
             "caller_number": "13900000009", "confirm_new": True},
            format="json",
        )  # fmt: skip
    play_the_emergency(api, Incident.objects.get(pk=real.json()["id"]))
    after = kpis(api)
    changed = [url for url in KPI_READS if after[url] != before[url]]
    assert set(changed) >= {f"/api/dispatch/kpis/?{WINDOW}", f"/api/leader/layers/incidents/?{DAYS}"}


def test_drills_are_for_the_command_centre(api, demo_city):
    assert api("calltaker").post("/api/drills/", {"scenario": "gas-main-drill"}, format="json").status_code == 403
    assert api("leader").post("/api/drills/", {"scenario": "gas-main-drill"}, format="json").status_code == 403
    assert api("leader").get("/api/drills/").status_code == 200
    bad = api("operator").post("/api/drills/", {"scenario": "no-such"}, format="json")
    assert bad.status_code == 400 and bad.json()["field"] == "scenario"
    assert not Drill.objects.exists()
