"""Response plans on the real PostGIS through the API: the suggestion follows the incident's facts and the most
specific plan, activation puts the level's run card, agencies and actions in force, escalation needs a reason,
revisions leave running incidents on their version, and an incident a desk may not see is a 404 here too."""

import pytest

from core.models import Event
from dispatch.models import Incident, Station, TimelineEntry
from duty.models import Desk
from emergency.models import Activation, ResponsePlan
from gis.models import Address
from notify.models import Delivery, Notification
from pipelines_mgmt.models import Pipe, RepairOrder, Utility

pytestmark = pytest.mark.django_db

INCIDENTS = "/api/dispatch/incidents/"
PLANS = "/api/emergency/plans/"


def plan_url(incident_id: int, tail: str = "plan/") -> str:
    return f"/api/emergency/incidents/{incident_id}/{tail}"


def gas_main_point() -> dict:
    pipes = Pipe.objects.filter(network__utility=Utility.GAS, link_type=Pipe.LinkType.PIPE).order_by("pk")
    middle = pipes[len(pipes) // 2].geom.interpolate_normalized(0.5)
    return {"type": "Point", "coordinates": [middle.x + 0.0001, middle.y + 0.00008]}


def call(client, type_code: str, where: dict, **extra) -> dict:
    body = {"caller_number": "13612340000", "type_code": type_code, "location": where, "confirm_new": True, **extra}
    response = client.post(INCIDENTS, body, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


@pytest.fixture
def gas_incident(api, demo_city, django_capture_on_commit_callbacks) -> dict:
    """A gas-leak call beside a main: its repair order (and so its customers without supply) opens on commit."""
    with django_capture_on_commit_callbacks(execute=True):
        incident = call(api("calltaker"), "119-GAS-LEAK", gas_main_point())
    assert RepairOrder.objects.filter(incident_id=incident["id"]).exists()
    return incident


def expected_level(levels: list[dict], facts: dict) -> int:
    """The grading rule read straight from the plan's JSON: the most severe level with a threshold reached."""
    values = {
        "priority_at_most": facts["priority"],
        "calls_at_least": facts["calls"],
        "customers_at_least": facts["customers"],
        "population_at_least": facts["population"],
    }
    for lv in sorted(levels, key=lambda lv: lv["level"]):
        for name, bound in (lv.get("thresholds") or {}).items():
            value = values[name]
            if value is not None and (value <= bound if name == "priority_at_most" else value >= bound):
                return lv["level"]
    return max(lv["level"] for lv in levels)


def test_the_suggestion_weighs_the_isolation_s_customers_against_the_plan_s_thresholds(api, gas_incident):
    suggestion = api("operator").get(plan_url(gas_incident["id"], "suggestion/")).json()
    order = RepairOrder.objects.get(incident_id=gas_incident["id"])
    assert suggestion["plan"]["code"] == "gas-leak" and suggestion["plan"]["version"] == 1
    assert suggestion["facts"]["customers"] == order.isolation["customers"]["count"] > 0
    assert suggestion["facts"]["calls"] == 1 and suggestion["facts"]["priority"] == 1
    assert suggestion["level"] == expected_level(suggestion["plan"]["levels"], suggestion["facts"])
    if suggestion["reasons"]:
        assert suggestion["level"] < 4 and suggestion["level_label"].startswith(("Ⅰ", "Ⅱ", "Ⅲ"))


def level_with(count: int, **thresholds) -> dict:
    return {"level": count, "thresholds": thresholds, "units": [{"agency": "119", "unit_kind": "fire_engine",
                                                                  "count": 5 - count}]}  # fmt: skip


def test_a_district_plan_beats_the_city_plan_and_its_thresholds_decide_the_level(api, gas_incident):
    incident = Incident.objects.get(pk=gas_incident["id"])
    customers = RepairOrder.objects.get(incident_id=incident.pk).isolation["customers"]["count"]
    operator = api("operator")
    levels = [level_with(4), level_with(2, customers_at_least=customers)]
    body = {"code": "gas-district", "name": "区燃气预案", "incident_type": "119-GAS-LEAK",
            "district": incident.district.code, "levels": levels}  # fmt: skip
    assert operator.post(PLANS, body, format="json").status_code == 201
    suggestion = operator.get(plan_url(incident.pk, "suggestion/")).json()
    assert (suggestion["plan"]["code"], suggestion["level"]) == ("gas-district", 2)
    assert len(suggestion["reasons"]) == 1 and f"{customers} ≥ {customers}" in suggestion["reasons"][0]

    # One customer short of the threshold: the plan's mildest level, and its revision is version 2.
    body["levels"] = [level_with(4), level_with(2, customers_at_least=customers + 1)]
    revised = operator.post(PLANS, body, format="json").json()
    assert revised["version"] == 2
    suggestion = operator.get(plan_url(incident.pk, "suggestion/")).json()
    assert (suggestion["plan"]["version"], suggestion["level"], suggestion["reasons"]) == (2, 4, [])
    assert ResponsePlan.objects.filter(code="gas-district", current=True).count() == 1


def test_activation_puts_the_level_in_force_and_escalation_needs_a_reason(api, gas_incident):
    operator, incident_id = api("operator"), gas_incident["id"]
    plan = ResponsePlan.objects.get(code="gas-leak", current=True)
    seq = Event.objects.order_by("-seq").values_list("seq", flat=True).first()

    activated = operator.post(plan_url(incident_id), {"plan": plan.pk, "level": 3, "reason": "用户多"}, format="json")
    assert activated.status_code == 201, activated.json()
    body = activated.json()
    level3 = next(lv for lv in plan.levels if lv["level"] == 3)
    assert body["level"] == 3 and [a["text"] for a in body["checklist"]] == sorted(
        (a["text"] for a in level3["actions"]),
        key=lambda t: next(a["due_minutes"] for a in level3["actions"] if a["text"] == t),
    )
    incident = Incident.objects.get(pk=incident_id)
    assert incident.response_level == 3 and incident.run_card == [
        [u["agency"], u["unit_kind"], u["count"]] for u in level3["units"]
    ]
    assert set(level3["agencies"]) <= set(incident.agencies)
    # The recommendation now asks for the level's units.
    needs = operator.get(f"{INCIDENTS}{incident_id}/recommendation/").json()["needs"]
    assert {(n["agency"], n["unit_kind"]) for n in needs} <= {(u["agency"], u["unit_kind"]) for u in level3["units"]}
    event = Event.objects.filter(seq__gt=seq, type="incident.response_changed").get()
    assert event.data["properties"]["response_level"] == 3 and event.orgs
    # The level's people are notified, each to acknowledge: the city's leaders (not another district's), the desks.
    notified = Delivery.objects.filter(notification__about_app="dispatch.incident",
                                       notification__about_id=str(incident_id), channel="in_app")  # fmt: skip
    usernames = set(notified.values_list("user__username", flat=True))
    assert {"leader", "dispatcher119", "dispatcher110"} <= usernames
    assert ("luohuleader" in usernames) == (incident.district.code == "440303")
    assert all(n.ack_deadline for n in Notification.objects.filter(about_id=str(incident_id)))

    # What the level stages comes from the resource search (nearest by road time), and the hazards nearby.
    shown = operator.get(plan_url(incident_id, "plan/surroundings/")).json()
    shelters = operator.get(f"/api/resources/search/?near={incident_id}&kind=shelter&limit=3").json()["results"]
    assert [r["id"] for r in shown["stage"][0]["results"]] == [r["id"] for r in shelters]
    assert all(h["straight_m"] <= 1000 for h in shown["hazards"])

    # A second activation is refused; escalation needs a reason and a different level.
    assert operator.post(plan_url(incident_id), {"plan": plan.pk, "level": 2}, format="json").status_code == 409
    missing = operator.post(plan_url(incident_id, "plan/level/"), {"level": 2, "reason": " "}, format="json")
    assert missing.status_code == 400 and missing.json()["field"] == "reason"
    same = operator.post(plan_url(incident_id, "plan/level/"), {"level": 3, "reason": "x"}, format="json")
    assert same.status_code == 400 and same.json()["field"] == "level"
    raised = operator.post(
        plan_url(incident_id, "plan/level/"), {"level": 2, "reason": "影响扩大"}, format="json"
    ).json()
    level2 = next(lv for lv in plan.levels if lv["level"] == 2)
    assert raised["level"] == 2 and [h["to_level"] for h in raised["history"]] == [3, 2]
    assert raised["history"][1]["reason"] == "影响扩大"
    texts = [item["text"] for item in raised["checklist"]]
    assert set(texts) == {a["text"] for a in level3["actions"]} | {a["text"] for a in level2["actions"]}
    assert len(texts) == len(set(texts))  # an action both levels ask for is on the list once
    raised_to = set(notified.filter(notification__key__contains="level-2").values_list("user__username", flat=True))
    assert {"dispatcher120", "dispatcher122"} <= raised_to  # level Ⅱ also calls the 120 and 122 desks
    types = list(TimelineEntry.objects.filter(incident_id=incident_id).values_list("type", flat=True))
    assert types.count("plan_activated") == 1 and types.count("level_raised") == 1

    # An action done once; the second tick is refused and the first stays.
    item = raised["checklist"][0]
    done = operator.post(plan_url(incident_id, f"plan/actions/{item['id']}/done/"), {"note": "已完成"}, format="json")
    assert next(i for i in done.json()["checklist"] if i["id"] == item["id"])["done_by"] == "值班员 王敏"
    again = operator.post(plan_url(incident_id, f"plan/actions/{item['id']}/done/"), {}, format="json")
    assert again.status_code == 409


def test_a_running_incident_keeps_its_plan_version_after_a_revision(api, gas_incident):
    operator = api("operator")
    plan = ResponsePlan.objects.get(code="gas-leak", current=True)
    operator.post(plan_url(gas_incident["id"]), {"plan": plan.pk, "level": 4}, format="json")
    body = {"code": "gas-leak", "name": plan.name, "incident_type": "119-GAS-LEAK", "levels": plan.levels,
            "note": "修订"}  # fmt: skip
    assert operator.post(PLANS, body, format="json").json()["version"] == plan.version + 1
    kept = operator.get(plan_url(gas_incident["id"])).json()
    assert kept["plan"]["version"] == plan.version and not kept["plan"]["current"]
    # ... and an outdated version can no longer be activated on another incident.
    other = call(api("calltaker"), "119-GAS-LEAK", gas_main_point())
    stale = operator.post(plan_url(other["id"]), {"plan": plan.pk, "level": 4}, format="json")
    assert stale.status_code == 400 and stale.json()["field"] == "plan"
    assert [v["version"] for v in operator.get(f"{PLANS}gas-leak/versions/").json()] == [2, 1]


def test_a_desk_that_may_not_see_the_incident_gets_404_on_every_plan_path(api, demo_city):
    station = Station.objects.filter(kind=Station.Kind.HOSPITAL).first()
    where = Address.objects.filter(geom__dwithin=(station.geom, 0.01)).first().geom
    injury = call(api("calltaker"), "120-INJURY", {"type": "Point", "coordinates": [where.x, where.y]})
    assert Incident.objects.get(pk=injury["id"]).agencies == ["120"]
    police = api("dispatcher110")
    for tail in ("suggestion/", "plan/", "plan/report/"):
        assert police.get(plan_url(injury["id"], tail)).status_code == 404
    assert (
        police.post(plan_url(injury["id"], "plan/level/"), {"level": 2, "reason": "x"}, format="json").status_code
        == 404
    )
    assert api("inspector").get(plan_url(injury["id"], "suggestion/")).status_code == 403


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"levels": [{"level": 3, "units": [{"agency": "119", "unit_kind": "tank", "count": 1}]}]},
         "levels.0.units.0.unit_kind"),
        ({"levels": [{"level": 3, "departments": ["NO-SUCH-DEPT"]}]}, "levels.0.departments.0"),
        ({"incident_type": "NO-SUCH-TYPE"}, "incident_type"),
        ({"code": "有 空格"}, "code"),
        ({"hours": ["08:00"]}, "hours"),
        ({"zone": {"type": "Point", "coordinates": [0, 0]}}, "zone"),
    ],
)  # fmt: skip
def test_a_bad_plan_is_a_400_naming_the_field_and_nothing_is_stored(api, demo_city, change, field):
    body = {"code": "x-plan", "name": "测试", "incident_type": "119-GAS-LEAK", "levels": [{"level": 4}], **change}
    before = ResponsePlan.objects.count()
    response = api("operator").post(PLANS, body, format="json")
    assert response.status_code == 400 and response.json()["field"] == field, response.json()
    assert ResponsePlan.objects.count() == before
    assert api("calltaker").post(PLANS, {**body, **{"levels": [{"level": 4}]}}, format="json").status_code == 403


def test_the_after_action_report_sets_actions_against_deadlines_and_units_against_the_run_card(api, gas_incident):
    operator, incident_id = api("operator"), gas_incident["id"]
    plan = ResponsePlan.objects.get(code="gas-leak", current=True)
    body = operator.post(plan_url(incident_id), {"plan": plan.pk, "level": 4}, format="json").json()
    operator.post(plan_url(incident_id, f"plan/actions/{body['checklist'][0]['id']}/done/"), {}, format="json")
    report = operator.get(plan_url(incident_id, "plan/report/")).json()
    assert report["actions_on_time"] == 1 and report["actions_late_or_open"] == len(body["checklist"]) - 1
    level4 = next(lv for lv in plan.levels if lv["level"] == 4)
    assert [(u["agency"], u["unit_kind"], u["required"], u["sent"]) for u in report["units"]] == [
        (u["agency"], u["unit_kind"], u["count"], 0) for u in level4["units"]
    ]
    assert Activation.objects.get(incident_id=incident_id).plan_id == plan.pk


def test_the_duty_log_holds_the_incident_its_plan_levels_and_notifications(api, gas_incident):
    operator, incident_id = api("operator"), gas_incident["id"]
    plan = ResponsePlan.objects.get(code="gas-leak", current=True)
    operator.post(plan_url(incident_id), {"plan": plan.pk, "level": 3}, format="json")
    operator.post(plan_url(incident_id, "plan/level/"), {"level": 2, "reason": "影响扩大"}, format="json")
    desk = Desk.objects.get(kind=Desk.Kind.COMMAND_CENTRE)
    log = operator.get(f"/api/duty/desks/{desk.pk}/log/?major=1").json()
    texts = [entry["text"] for entry in log["entries"]]
    number = gas_incident["properties"]["number"]
    assert any(number in t and "燃气泄漏" in t for t in texts)  # received
    assert sum(number in t and plan.name in t for t in texts) == 2  # activated at Ⅲ, raised to Ⅱ
    sent = [t for t in texts if t.startswith("信息发布")]
    assert len(sent) == Notification.objects.filter(about_id=str(incident_id)).count() >= 2
    # The 120 desk's own log shows the notifications its organisation sent: none.
    desk120 = Desk.objects.get(kind="120")
    own = api("dispatcher120").get(f"/api/duty/desks/{desk120.pk}/log/?major=1").json()["entries"]
    assert not [entry for entry in own if entry["id"].startswith("notification-")]


def test_the_departments_a_level_links_hear_of_it(api, demo_city):
    pipes = Pipe.objects.filter(network__utility=Utility.WATER, link_type=Pipe.LinkType.PIPE).order_by("pk")
    middle = pipes[len(pipes) // 2].geom.interpolate_normalized(0.5)
    incident = call(api("calltaker"), "122-WATER-MAIN-BURST", {"type": "Point", "coordinates": [middle.x, middle.y]})
    plan = ResponsePlan.objects.get(code="water-main-burst", current=True)
    shown = api("operator").post(plan_url(incident["id"]), {"plan": plan.pk, "level": 4}, format="json").json()
    assert [d["code"] for d in shown["departments"]] == ["SZ-WATER-GROUP"]
    told = Delivery.objects.filter(
        notification__about_id=str(incident["id"]), channel="in_app", user__username="waterhandler"
    )
    assert told.count() == 1
