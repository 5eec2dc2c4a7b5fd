"""Incidents through the REST API on the real PostGIS: intake, duplicates, recommendation, dispatch, statuses,
joint linking and what each agency's desk sees."""

import re

import pytest

from core.models import Event, Organisation
from dispatch.models import Assignment, Incident, Station, Vehicle
from gis.models import Address

pytestmark = pytest.mark.django_db

URL = "/api/dispatch/incidents/"


def point(geom, dx=0.0, dy=0.0) -> dict:
    return {"type": "Point", "coordinates": [geom.x + dx, geom.y + dy]}


@pytest.fixture
def fire_site(demo_city):
    """An address a few hundred metres from a fire station: on the road network, inside the city."""
    station = Station.objects.filter(kind=Station.Kind.FIRE_STATION).first()
    return (
        Address.objects.exclude(geom__distance_lte=(station.geom, 200))
        .filter(geom__dwithin=(station.geom, 0.02))
        .first()
        .geom
    )


def create(client, where, type_code="119-FIRE-BUILDING", **extra):
    return client.post(
        URL,
        {"caller_number": "13800138000", "type_code": type_code, "description": "三楼冒烟", "location": where, **extra},
        format="json",
    )


def test_incident_types_are_the_shipped_code_tables_with_their_plans(api):
    types = {t["code"]: t for t in api("calltaker").get("/api/dispatch/incident-types/").json()}
    assert {t["agency"] for t in types.values()} == {"110", "119", "120", "122"}
    fire = types["119-FIRE-BUILDING"]
    assert fire["label"] == "建筑火灾" and fire["default_priority"] == 1
    assert {(p["agency"], p["unit_kind"]) for p in fire["plan"]} >= {("119", "fire_engine"), ("120", "ambulance")}


def test_call_creates_a_joint_incident_with_its_timeline_and_an_event(api, fire_site):
    response = create(api("calltaker"), point(fire_site), address="测试路1号")
    assert response.status_code == 201, response.json()
    feature = response.json()
    props = feature["properties"]
    assert re.fullmatch(r"119-\d{8}-\d{4}", props["number"])
    assert props["agencies"] == ["110", "119", "120"] and props["status"] == "received" and props["priority"] == 1
    assert props["district"] and props["times"]["call_received"] and props["times"]["dispatched"] is None
    event = Event.objects.filter(topic="incidents", type="incident.created").last()
    assert event.data["id"] == feature["id"] and len(event.orgs) == 3
    detail = api("calltaker").get(f"{URL}{feature['id']}/").json()
    assert [e["type"] for e in detail["timeline"]][:2] == ["call", "created"]


def test_a_second_call_nearby_is_offered_as_the_same_incident(api, fire_site):
    client = api("calltaker")
    first = create(client, point(fire_site)).json()
    again = create(client, point(fire_site, 0.001), type_code="119-RESCUE")  # ~100 m away, same agency
    assert again.status_code == 409 and again.json()["error"] == "possible_duplicate"
    assert [d["id"] for d in again.json()["duplicates"]] == [first["id"]]
    same = create(client, point(fire_site, 0.001), same_as=first["id"])
    assert same.status_code == 200 and same.json()["id"] == first["id"]
    assert Incident.objects.get(pk=first["id"]).calls.count() == 2
    assert create(client, point(fire_site, 0.001), confirm_new=True).status_code == 201
    assert Incident.objects.count() == 2


@pytest.mark.parametrize(
    "location, says",
    [
        (None, "GeoJSON"),
        ({"type": "Point", "coordinates": [116.40, 39.90]}, "深圳市"),  # Beijing: outside the city
        ({"type": "Point", "coordinates": [114.05, 95]}, "latitude"),
        ({"type": "LineString", "coordinates": [[114.05, 22.54], [114.06, 22.55]]}, "LineString"),
    ],
)
def test_incident_without_a_location_in_the_city_is_refused(api, location, says):
    body = {"type_code": "110-THEFT", "caller_number": "110"}
    if location is not None:
        body["location"] = location
    response = api("calltaker").post(URL, body, format="json")
    assert response.status_code == 400 and response.json()["field"] == "location" and says in response.json()["detail"]
    assert not Incident.objects.exists()


def test_unknown_type_and_future_call_time_are_refused(api, fire_site):
    assert create(api("calltaker"), point(fire_site), type_code="999-X").json()["field"] == "type_code"
    late = create(api("calltaker"), point(fire_site), call_received_at="2099-01-01T00:00:00+08:00")
    assert late.status_code == 400 and late.json()["field"] == "call_received_at"


def test_gcj02_location_is_converted_to_wgs84(api, fire_site):
    import prcoords

    gcj = prcoords.wgs_gcj(prcoords.Coords(fire_site.y, fire_site.x))
    response = create(api("calltaker"), {"type": "Point", "coordinates": [gcj.lon, gcj.lat]}, crs="gcj02")
    lon, lat = response.json()["geometry"]["coordinates"]
    assert abs(lon - fire_site.x) < 1e-5 and abs(lat - fire_site.y) < 1e-5


def test_recommendation_ranks_available_units_by_road_time_and_marks_the_plan(api, fire_site):
    client = api("calltaker")
    incident = create(client, point(fire_site)).json()
    answer = client.get(f"{URL}{incident['id']}/recommendation/").json()
    needs = {(n["agency"], n["unit_kind"]): n["count"] for n in answer["needs"]}
    assert needs[("119", "fire_engine")] == 2 and needs[("120", "ambulance")] == 1
    units = answer["units"]
    assert [u["eta_s"] for u in units] == sorted(u["eta_s"] for u in units)
    assert not answer["unroutable"] and answer["incident"]["off_network"] is False  # the demo city is connected
    engines = [u for u in units if u["kind"] == "fire_engine"]
    assert [u["recommended"] for u in engines[:3]] == [True, True, False]
    assert sum(u["recommended"] for u in units) == sum(needs.values())


def test_dispatch_then_dispatching_a_busy_unit_again_is_a_conflict_that_changes_nothing(api, fire_site):
    client = api("calltaker")
    first = create(client, point(fire_site)).json()
    second = create(client, point(fire_site, 0.01), type_code="110-THEFT", confirm_new=True).json()
    engine = next(u for u in client.get(f"{URL}{first['id']}/recommendation/").json()["units"] if u["recommended"])
    police = Vehicle.objects.filter(kind=Vehicle.Kind.POLICE_CAR).first()
    sent = client.post(f"{URL}{first['id']}/dispatch/", {"vehicle_ids": [engine["vehicle_id"]]}, format="json")
    assert sent.status_code == 200
    props = sent.json()["properties"]
    assert props["status"] == "dispatched" and props["times"]["dispatched"]
    assert props["assignments"][0]["call_sign"] == engine["call_sign"] and props["assignments"][0]["eta_s"] > 0
    assert Vehicle.objects.get(pk=engine["vehicle_id"]).status == "dispatched"
    twice = client.post(
        f"{URL}{second['id']}/dispatch/", {"vehicle_ids": [police.pk, engine["vehicle_id"]]}, format="json"
    )
    assert twice.status_code == 409 and engine["call_sign"] in twice.json()["detail"]
    assert twice.json()["vehicle_ids"] == [engine["vehicle_id"]]
    assert Vehicle.objects.get(pk=police.pk).status == "available"
    assert not Assignment.objects.filter(incident_id=second["id"]).exists()


def test_statuses_move_forward_only(api, fire_site):
    client = api("calltaker")
    incident = create(client, point(fire_site)).json()
    engine = Vehicle.objects.filter(kind=Vehicle.Kind.FIRE_ENGINE).first()
    assignment = client.post(f"{URL}{incident['id']}/dispatch/", {"vehicle_ids": [engine.pk]}, format="json").json()
    a_id = assignment["properties"]["assignments"][0]["id"]
    on_scene = client.post(f"/api/dispatch/assignments/{a_id}/status/", {"status": "on_scene"}, format="json")
    assert on_scene.json()["properties"]["status"] == "on_scene"
    back = client.post(f"/api/dispatch/assignments/{a_id}/status/", {"status": "en_route"}, format="json")
    assert back.status_code == 409 and back.json()["current"] == "on_scene"
    closed = client.post(f"{URL}{incident['id']}/status/", {"status": "closed"}, format="json").json()
    assert closed["properties"]["status"] == "closed" and closed["properties"]["times"]["under_control"]
    assert Vehicle.objects.get(pk=engine.pk).status == "returning"
    reopen = client.post(f"{URL}{incident['id']}/status/", {"status": "under_control"}, format="json")
    assert reopen.status_code == 409
    cleared = client.post(f"/api/dispatch/assignments/{a_id}/status/", {"status": "available"}, format="json")
    assert cleared.status_code == 200 and Vehicle.objects.get(pk=engine.pk).status == "available"
    assert Event.objects.filter(topic="incidents", type="incident.closed").exists()


def test_each_agency_desk_sees_and_works_its_share(api, fire_site):
    incident = create(api("calltaker"), point(fire_site)).json()
    assert api("dispatcher120").get(f"{URL}{incident['id']}/").status_code == 200
    assert api("dispatcher122").get(f"{URL}{incident['id']}/").status_code == 404
    assert incident["id"] not in [f["id"] for f in api("dispatcher122").get(URL).json()["features"]]
    ems = api("dispatcher120").get(f"{URL}{incident['id']}/recommendation/").json()
    assert ems["units"] and {u["agency"] for u in ems["units"]} == {"120"}
    engine = Vehicle.objects.filter(kind=Vehicle.Kind.FIRE_ENGINE).first()
    foreign = api("dispatcher120").post(f"{URL}{incident['id']}/dispatch/", {"vehicle_ids": [engine.pk]}, format="json")
    assert foreign.status_code == 409 and Vehicle.objects.get(pk=engine.pk).status == "available"
    linked = api("dispatcher120").post(f"{URL}{incident['id']}/agencies/", {"link": "122"}, format="json")
    assert linked.json()["properties"]["agencies"] == ["110", "119", "120", "122"]
    assert api("dispatcher122").get(f"{URL}{incident['id']}/").status_code == 200
    refused = api("dispatcher120").post(f"{URL}{incident['id']}/agencies/", {"unlink": "122"}, format="json")
    assert refused.status_code == 409
    withdrawn = api("dispatcher122").post(f"{URL}{incident['id']}/agencies/", {"unlink": "122"}, format="json")
    assert withdrawn.status_code == 200 and "122" not in withdrawn.json()["properties"]["agencies"]
    unlink_event = Event.objects.filter(topic="incidents").last()
    assert Organisation.objects.get(code="SZ-TRAFFIC-122").pk in unlink_event.orgs  # so its desk drops it


def test_readers_cannot_write(api, fire_site):
    assert create(api("leader"), point(fire_site)).status_code == 403
    assert api("planner").get(URL).status_code == 403
