"""A utility repair crew works its repair order: valves closed or failed (a failed valve re-plans the isolation),
then isolated → repaired → restored; the repair record is written and the outage ends on every map.
Other crews, wrong states and bad input are refused and change nothing."""

import pytest
from django.contrib.auth.models import Group
from django.contrib.gis.db.models.functions import GeometryDistance

from core.events import Event
from core.models import AdminArea, Organisation, Role, User
from pipelines_mgmt import selectors, services
from pipelines_mgmt.models import Pipe, RepairOrder, RepairRecord, Utility

pytestmark = pytest.mark.django_db


@pytest.fixture
def order(demo_city):
    """A gas burst near the city centre whose plan has several valves to close."""
    centre = AdminArea.objects.get(level="city").geom.point_on_surface
    pipes = Pipe.objects.filter(network__utility=Utility.GAS, link_type=Pipe.LinkType.PIPE)
    for pipe in pipes.order_by(GeometryDistance("geom", centre))[:20]:
        burst = selectors.locate_burst(pipe.network, pipe_id=pipe.pk)
        made = services.create_repair_order(None, burst)
        if len(made.valves_to_close) >= 2:
            return made
    pytest.fail("no gas pipe near the centre needs two valves")


def url(order, action=""):
    return f"/api/pipelines/repair-orders/{order.number}/{action}"


def test_a_failed_valve_replans_and_the_order_runs_to_restored(api, order):
    crew = api("crewgas")
    assert [o["number"] for o in crew.get("/api/pipelines/repair-orders/").json()] == [order.number]
    first, *others = [v["id"] for v in order.valves_to_close]
    for valve in others:
        assert crew.post(url(order, "valves-closed/"), {"valve": valve}, format="json").status_code == 200
    replanned = crew.post(url(order, "valves-failed/"), {"valve": first}, format="json")
    assert replanned.status_code == 200, replanned.content
    body = replanned.json()
    planned = {f["id"] for f in body["valves"]["features"]}
    assert first not in planned and planned - set(others), "the plan goes past the failed valve to new valves"
    assert body["record"]["valves_failed"] == [next(v["code"] for v in order.valves_to_close if v["id"] == first)]
    assert body["customer_count"] >= order.isolation["customers"]["count"]
    early = crew.post(url(order, "step/"), {"step": "isolated"}, format="json")
    assert early.status_code == 409 and early.json()["current"] == "isolating" and early.json()["valves"]
    for feature in body["valves"]["features"]:
        if not feature["properties"]["closed"]:
            crew.post(url(order, "valves-closed/"), {"valve": feature["id"]}, format="json")
    head = Event.objects.order_by("-seq").values_list("seq", flat=True).first()
    for step, status in (("isolated", "repairing"), ("repaired", "repaired"), ("restored", "restored")):
        answer = crew.post(url(order, "step/"), {"step": step}, format="json")
        assert answer.status_code == 200, answer.content
        assert answer.json()["status"] == status
    done = answer.json()
    assert done["outage_ended"] and done["customers"]["features"] == [] and done["pipes"]["features"] == []
    record = done["record"]
    assert record["crew"] == ["燃气抢修班 韩磊"] and record["duration_s"] >= 0
    assert [e["action"] for e in record["log"]][-3:] == ["isolated", "repaired", "restored"]
    assert len(record["valves_closed"]) == len(planned)
    statuses = [e.data["properties"]["status"] for e in Event.objects.filter(seq__gt=head, topic="pipeline")]
    assert statuses == ["repairing", "repaired", "restored"]
    assert RepairRecord.objects.filter(pipe=order.burst_pipe, kind="burst", note=order.number).count() == 1
    assert RepairRecord.objects.filter(valve_id=first, kind="valve_seized", note=order.number).count() == 1
    assert crew.get("/api/pipelines/repair-orders/").json() == []  # finished: off the crew's list


@pytest.fixture
def water_crew(demo_city):
    user = User.objects.create(username="crewwater", organisation=Organisation.objects.get(code="SZ-WATER-GROUP"))
    user.groups.add(Group.objects.get_or_create(name=Role.CREW)[0])
    return user


def test_another_utilitys_crew_neither_sees_nor_works_the_order(api, order, water_crew):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_login(water_crew)
    valve = order.valves_to_close[0]["id"]
    assert client.get("/api/pipelines/repair-orders/").json() == []
    assert client.get(url(order, "map/")).status_code == 404
    assert client.post(url(order, "valves-closed/"), {"valve": valve}, format="json").status_code == 404
    assert api("crew119").post(url(order, "step/"), {"step": "isolated"}, format="json").status_code == 404
    assert api("leader").post(url(order, "valves-failed/"), {"valve": valve}, format="json").status_code == 403
    assert api("crewgas").post("/api/pipelines/repair-orders/", {"pipe": order.burst_pipe_id}).status_code == 403
    order.refresh_from_db()
    assert order.status == RepairOrder.Status.OPEN and order.closed_valves == [] and order.failed_valves == []


@pytest.mark.parametrize(
    ("action", "body", "status", "key"),
    [
        ("step/", {"step": "repaired"}, 409, "current"),
        ("step/", {"step": "restored"}, 409, "current"),
        ("step/", {"step": "fixed"}, 400, "field"),
        ("step/", {}, 400, "field"),
        ("valves-failed/", {"valve": 10**9}, 400, "field"),
        ("valves-failed/", {"valve": "one"}, 400, "field"),
    ],
)
def test_wrong_state_and_bad_input_change_nothing(api, order, action, body, status, key):
    response = api("crewgas").post(url(order, action), body, format="json")
    assert response.status_code == status and key in response.json()
    if key == "current":
        assert response.json()["current"] == "open" and "open" in response.json()["detail"]
    order.refresh_from_db()
    assert order.status == RepairOrder.Status.OPEN and order.failed_valves == [] and order.crew_log == []


def test_a_closed_valve_cannot_fail_and_a_repaired_order_takes_no_valves(api, order):
    crew = api("crewgas")
    valve = order.valves_to_close[0]["id"]
    crew.post(url(order, "valves-closed/"), {"valve": valve}, format="json")
    refused = crew.post(url(order, "valves-failed/"), {"valve": valve}, format="json")
    assert refused.status_code == 400 and refused.json()["field"] == "valve"
    RepairOrder.objects.filter(pk=order.pk).update(status=RepairOrder.Status.REPAIRED)
    late = crew.post(url(order, "valves-closed/"), {"valve": order.valves_to_close[1]["id"]}, format="json")
    assert late.status_code == 409 and late.json()["current"] == "repaired"
