"""The MDT API: sign-on under dispatch's row rule, the job with its road route, and status buttons that move the
assignment through dispatch's own lifecycle — once per Idempotency-Key, refused for another crew's unit."""

import uuid

import pytest

from crews.models import CrewAction, CrewSignOn
from dispatch.models import Assignment, Vehicle

pytestmark = pytest.mark.django_db


def sign_on(client, unit):
    return client.post("/api/crews/mdt/", {"vehicle": unit.pk}, format="json")


def press(client, assignment, status, key=None):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return client.post("/api/crews/mdt/status/", {"assignment": assignment.pk, "status": status}, **headers)


def test_the_mdt_shows_the_job_and_its_road_route(api, ambulance, ambulance_job):
    crew = api("crew120")
    assert crew.get("/api/crews/mdt/").json()["sign_on"] is None  # not signed on yet
    incident, assignment = ambulance_job(ambulance)
    assert sign_on(crew, ambulance).status_code == 201
    view = crew.get("/api/crews/mdt/").json()
    assert view["vehicle"]["id"] == ambulance.pk
    job = view["job"]
    assert job["assignment"] == job["assignment"] | {"id": assignment.pk, "status": "dispatched"}
    assert job["incident"]["properties"]["number"] == incident.number
    assert job["incident"]["properties"]["description"] == "两车相撞，一人受伤"
    route = job["route"]["coordinates"]
    assert route[0] == list(ambulance.last_position.coords) and route[-1] == list(incident.geom.coords)
    assert len(route) > 2 and job["eta_s"] > 0  # along the roads, not a straight line
    assert [line["type"] for line in job["timeline"]][-1] == "dispatched"


def test_status_buttons_drive_the_assignment_once_per_key(api, ambulance, ambulance_job):
    crew = api("crew120")
    incident, assignment = ambulance_job(ambulance)
    sign_on(crew, ambulance)
    key = str(uuid.uuid4())
    first = press(crew, assignment, "en_route", key)
    assert first.status_code == 200, first.content
    again = press(crew, assignment, "en_route", key)  # the outbox's replay after a lost answer
    assert again.status_code == 200 and again.json() == first.json()
    assert press(crew, assignment, "on_scene", str(uuid.uuid4())).status_code == 200
    assert press(crew, assignment, "transporting", str(uuid.uuid4())).status_code == 200
    assignment.refresh_from_db()
    assert assignment.status == Assignment.Status.RETURNING
    assert crew.get("/api/crews/mdt/").json()["job"]["assignment"]["phase"] == "transporting"
    assert press(crew, assignment, "cleared", str(uuid.uuid4())).status_code == 200
    seen = api("dispatcher120").get(f"/api/dispatch/incidents/{incident.pk}/").json()
    types = [line["type"] for line in seen["timeline"]]
    for step in ("unit.en_route", "unit.on_scene", "unit.transporting", "unit.returning", "unit.cleared"):
        assert types.count(step) == 1, step
    ambulance.refresh_from_db()
    assert ambulance.status == Vehicle.Status.AVAILABLE
    assert crew.get("/api/crews/mdt/").json()["job"] is None


def test_a_key_reused_for_another_request_is_refused(api, ambulance, ambulance_job):
    crew = api("crew120")
    _incident, assignment = ambulance_job(ambulance)
    sign_on(crew, ambulance)
    key = str(uuid.uuid4())
    press(crew, assignment, "en_route", key)
    response = press(crew, assignment, "on_scene", key)
    assert response.status_code == 409 and response.json()["error"] == "idempotency_conflict"
    assignment.refresh_from_db()
    assert assignment.status == Assignment.Status.EN_ROUTE


def test_going_back_is_refused_naming_the_current_state(api, ambulance, ambulance_job):
    crew = api("crew120")
    _incident, assignment = ambulance_job(ambulance)
    sign_on(crew, ambulance)
    press(crew, assignment, "on_scene")
    response = press(crew, assignment, "en_route")
    assert response.status_code == 409 and response.json()["current"] == "on_scene"
    assert CrewAction.objects.count() == 0  # no key, nothing kept


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"status": "en_route"}, "assignment"),
        ({"assignment": "x", "status": "en_route"}, "assignment"),
        (None, "status"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(api, ambulance, ambulance_job, body, field):
    crew = api("crew120")
    _incident, assignment = ambulance_job(ambulance)
    sign_on(crew, ambulance)
    body = body or {"assignment": assignment.pk, "status": "flying"}
    response = crew.post("/api/crews/mdt/status/", body, format="json")
    assert response.status_code == 400 and response.json()["field"] == field
    assignment.refresh_from_db()
    assert assignment.status == Assignment.Status.DISPATCHED


def test_another_crews_unit_is_refused(api, ambulance, ambulance_job):
    _incident, assignment = ambulance_job(ambulance)
    fire = api("crew119")
    engine = Vehicle.objects.filter(kind=Vehicle.Kind.FIRE_ENGINE).order_by("pk").first()
    assert sign_on(fire, ambulance).json()["field"] == "vehicle"  # not 119's: dispatch's row rule
    assert sign_on(fire, engine).status_code == 201
    response = press(fire, assignment, "en_route")
    assert response.status_code == 403
    assert press(api("crew110"), assignment, "en_route").json()["error"] == "conflict"  # not signed on
    assert api("operator").post("/api/crews/mdt/status/", {}).status_code == 403  # not a crew
    assignment.refresh_from_db()
    assert assignment.status == Assignment.Status.DISPATCHED


def test_one_open_sign_on_per_person(api, ambulance):
    crew = api("crew120")
    other = Vehicle.objects.filter(agency=ambulance.agency).exclude(pk=ambulance.pk).first()
    assert sign_on(crew, ambulance).status_code == 201
    refused = sign_on(crew, other)
    assert refused.status_code == 409 and refused.json()["current"] == ambulance.pk
    assert crew.delete("/api/crews/mdt/").status_code == 204
    assert sign_on(crew, other).status_code == 201
    assert CrewSignOn.objects.filter(user__username="crew120", ended_at__isnull=True).get().vehicle == other


def test_transporting_is_for_ambulances_on_scene(api, ambulance, ambulance_job):
    crew = api("crew120")
    _incident, assignment = ambulance_job(ambulance)
    sign_on(crew, ambulance)
    response = press(crew, assignment, "transporting")
    assert response.status_code == 409 and response.json()["current"] == "dispatched"
