"""平战结合 through the API on the small demo city: a case escalated into an incident (once), an incident's
follow-up case routed into the case centre, both histories showing the link, the row rules of grid and dispatch
(404 for what a user may not see), the roles, and bad input refused with nothing stored."""

import pytest

from core.models import Event
from dispatch.models import Incident, TimelineEntry
from emergency.models import CaseIncidentLink
from grid.models import Case, CaseTransition

pytestmark = pytest.mark.django_db

ROAD_DAMAGE = "06013"  # 道路破损, fixed by the transport department


@pytest.fixture
def case(api, spot) -> dict:
    """A case reported by the grid's call taker, with the citizen's call-back number in its contact."""
    body = {
        "category_code": "06010",
        "description": "路面塌陷，有燃气味",
        "location": {"type": "Point", "coordinates": [spot.x, spot.y]},
        "address": "福华路1号",
    }
    response = api("gridclerk").post("/api/grid/cases/", body, format="json")
    assert response.status_code == 201, response.content
    Case.objects.filter(pk=response.json()["id"]).update(reporter_contact={"phone": "13800138000", "name": "王女士"})
    return response.json()["properties"]


@pytest.fixture
def incident(api, spot) -> dict:
    body = {
        "caller_number": "13612340000",
        "type_code": "122-WATER-MAIN-BURST",
        "location": {"type": "Point", "coordinates": [spot.x + 0.001, spot.y]},
        "address": "深南大道100号",
        "confirm_new": True,
    }
    response = api("calltaker").post("/api/dispatch/incidents/", body, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def escalate(client, number: str, **body):
    return client.post(f"/api/emergency/cases/{number}/escalate/", body, format="json")


def follow_up(client, incident_id: int, **body):
    return client.post(f"/api/emergency/incidents/{incident_id}/follow-up-cases/", body, format="json")


def stored() -> tuple[int, ...]:
    return (
        Incident.objects.count(),
        Case.objects.count(),
        CaseTransition.objects.count(),
        TimelineEntry.objects.count(),
        CaseIncidentLink.objects.count(),
        Event.objects.count(),
    )


def test_an_escalated_case_becomes_an_incident_at_its_place_and_both_histories_show_it(api, case):
    response = escalate(
        api("griddispatcher"), case["number"], incident_type="119-GAS-LEAK", priority=1, note="疑似燃气泄漏"
    )
    assert response.status_code == 201, response.content
    made = Incident.objects.get(pk=response.json()["incident"]["id"])
    row = Case.objects.get(number=case["number"])
    assert made.geom.equals_exact(row.geom, 1e-9)
    assert made.description == "路面塌陷，有燃气味" and made.address == "福华路1号"
    assert made.caller_number == "13800138000" and made.priority == 1 and made.incident_type.code == "119-GAS-LEAK"
    assert CaseIncidentLink.objects.get(case=row, incident=made).kind == "escalation"

    # the case keeps its stage; its history says which incident it became
    detail = api("griddispatcher").get(f"/api/grid/cases/{row.pk}/").json()
    assert detail["properties"]["stage"] == "reported"
    step = detail["history"][-1]
    assert step["action"] == "escalated" and step["action_label"] == "升级为警情"
    assert made.number in step["note"] and step["data"]["incident_id"] == made.pk
    assert step["from_stage"] == step["to_stage"] == "reported"

    # the incident's timeline names the case, in Chinese for a Chinese reader
    timeline = api("operator").get(f"/api/dispatch/incidents/{made.pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans").json()
    line = next(entry for entry in timeline["timeline"] if entry["type"] == "escalated_from_case")
    assert line["text"].startswith("由城管案件升级") and case["number"] in line["text"]

    # each side's links
    links = api("griddispatcher").get(f"/api/emergency/cases/{case['number']}/links/").json()
    assert links["can_escalate"] is False
    assert [link["incident"]["number"] for link in links["links"]] == [made.number]
    seen = api("operator").get(f"/api/emergency/incidents/{made.pk}/links/").json()["links"]
    assert [(link["kind"], link["case"]["number"], link["case"]["stage"]) for link in seen] == [
        ("escalation", case["number"], "reported")
    ]


def test_escalating_the_same_case_twice_names_the_incident_it_already_became(api, case):
    first = escalate(api("griddispatcher"), case["number"], incident_type="119-GAS-LEAK")
    assert first.status_code == 201
    before = stored()
    again = escalate(api("calltaker"), case["number"], incident_type="119-RESCUE")
    assert again.status_code == 409
    body = again.json()
    assert body["error"] == "already_escalated"
    assert body["incident"]["number"] == first.json()["incident"]["number"] in body["detail"]
    assert stored() == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "incident_type"),
        ({"incident_type": "NO-SUCH-TYPE"}, "incident_type"),
        ({"incident_type": "119-GAS-LEAK", "priority": 9}, "priority"),
        ({"incident_type": "119-GAS-LEAK", "priority": "urgent"}, "priority"),
        ({"incident_type": "119-GAS-LEAK", "note": "长" * 201}, "note"),
    ],
)
def test_bad_escalation_input_is_a_400_naming_the_field_and_stores_nothing(api, case, body, field):
    before = stored()
    response = escalate(api("griddispatcher"), case["number"], **body)
    assert response.status_code == 400, response.content
    assert response.json()["field"] == field
    assert stored() == before


def test_a_closed_case_is_not_escalated(api, case):
    Case.objects.filter(number=case["number"]).update(stage="closed")
    before = stored()
    response = escalate(api("griddispatcher"), case["number"], incident_type="119-GAS-LEAK")
    assert response.status_code == 409 and response.json()["stage"] == "closed"
    assert stored() == before


def test_escalation_roles_and_the_case_row_rule(api, case):
    before = stored()
    # roles that may not escalate
    for username in ("inspector", "depthandler", "leader", "planner"):
        assert escalate(api(username), case["number"], incident_type="119-GAS-LEAK").status_code == 403, username
    # a 110 desk's call taker may escalate, but grid shows it no unassigned case: as if it did not exist
    assert escalate(api("dispatcher110"), case["number"], incident_type="119-GAS-LEAK").status_code == 404
    assert api("dispatcher110").get(f"/api/emergency/cases/{case['number']}/links/").status_code == 404
    assert escalate(api("griddispatcher"), "20990101999999", incident_type="119-GAS-LEAK").status_code == 404
    assert stored() == before
    # the leader reads a case's links but may not escalate it
    links = api("leader").get(f"/api/emergency/cases/{case['number']}/links/").json()
    assert links == {"case": {"id": case["id"], "number": case["number"]}, "links": [], "can_escalate": False}
    for username in ("operator", "calltaker", "admin"):
        assert api(username).get(f"/api/emergency/cases/{case['number']}/links/").json()["can_escalate"] is True


def test_an_incident_spawns_a_follow_up_case_routed_by_grid_and_linked(api, incident):
    response = follow_up(api("operator"), incident["id"], category_code=ROAD_DAMAGE, description="爆管处路面修复")
    assert response.status_code == 201, response.content
    made = Case.objects.select_related("grid", "category").get(pk=response.json()["case"]["id"])
    spot = Incident.objects.get(pk=incident["id"])
    assert made.geom.equals_exact(spot.geom, 1e-9) and made.address == "深南大道100号"
    assert made.stage == "reported" and made.channel == "hotline" and made.grid is not None
    assert made.category.code == ROAD_DAMAGE and made.description == "爆管处路面修复"
    assert made.reporter.username == "operator"
    assert CaseIncidentLink.objects.get(case=made, incident_id=incident["id"]).kind == "follow_up"

    # the case centre sees it in its queue, with a step naming the incident
    detail = api("griddispatcher").get(f"/api/grid/cases/{made.pk}/").json()
    assert [step["action"] for step in detail["history"]] == ["report", "incident_follow_up"]
    assert (
        detail["history"][1]["action_label"] == "警情后续案件"
        and incident["properties"]["number"] in detail["history"][1]["note"]
    )
    # the incident's timeline names the case; its links give the case's stage and the department grid routes it to
    timeline = api("calltaker").get(f"/api/dispatch/incidents/{incident['id']}/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    line = next(entry for entry in timeline.json()["timeline"] if entry["type"] == "follow_up_case")
    assert line["text"].startswith("后续案件") and made.number in line["text"]
    links = api("operator").get(f"/api/emergency/incidents/{incident['id']}/links/").json()["links"]
    assert len(links) == 1 and links[0]["kind"] == "follow_up"
    assert links[0]["case"]["stage"] == "reported" and links[0]["case"]["stage_label"] == "已上报"
    assert (
        links[0]["case"]["department"]["name"] == "深圳市交通运输局" and not links[0]["case"]["department"]["assigned"]
    )
    # and the case's links lead back to the incident
    back = api("griddispatcher").get(f"/api/emergency/cases/{made.number}/links/").json()["links"]
    assert back[0]["incident"]["number"] == incident["properties"]["number"]


def test_a_follow_up_case_at_a_point_of_its_own(api, incident, spot):
    where = {"type": "Point", "coordinates": [spot.x + 0.002, spot.y + 0.001]}
    response = follow_up(
        api("calltaker"), incident["id"], category_code=ROAD_DAMAGE, description="下游路面", location=where
    )
    assert response.status_code == 201, response.content
    made = Case.objects.get(pk=response.json()["case"]["id"])
    assert [round(c, 6) for c in made.geom.coords] == [round(c, 6) for c in where["coordinates"]]


OUTSIDE = {"type": "Point", "coordinates": [0, 0]}
A_LINE = {"type": "LineString", "coordinates": [[114, 22], [114.1, 22.1]]}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"description": "路面修复"}, "category_code"),
        ({"category_code": "99999", "description": "路面修复"}, "category_code"),
        ({"category_code": ROAD_DAMAGE}, "description"),
        ({"category_code": ROAD_DAMAGE, "description": "x", "location": OUTSIDE}, "location"),
        ({"category_code": ROAD_DAMAGE, "description": "x", "location": A_LINE}, "location"),
        ({"category_code": ROAD_DAMAGE, "description": "x", "location": "not json"}, "location"),
    ],
)
def test_bad_follow_up_input_is_a_400_naming_the_field_and_stores_nothing(api, incident, body, field):
    before = stored()
    response = follow_up(api("operator"), incident["id"], **body)
    assert response.status_code == 400, response.content
    assert response.json()["field"] == field
    assert stored() == before


def test_follow_up_roles_and_the_incident_row_rule(api, incident):
    before = stored()
    for username in ("griddispatcher", "inspector", "leader", "depthandler"):
        assert follow_up(api(username), incident["id"], category_code=ROAD_DAMAGE, description="x").status_code == 403
    # the 120 desk does not work this 122 incident: as if it did not exist, for writes and reads
    assert (
        follow_up(api("dispatcher120"), incident["id"], category_code=ROAD_DAMAGE, description="x").status_code == 404
    )
    assert api("dispatcher120").get(f"/api/emergency/incidents/{incident['id']}/links/").status_code == 404
    assert stored() == before
    assert api("dispatcher122").get(f"/api/emergency/incidents/{incident['id']}/links/").json()["links"] == []


def test_a_link_shows_only_the_number_of_an_incident_the_reader_may_not_see(api, case):
    made = escalate(api("griddispatcher"), case["number"], incident_type="119-GAS-LEAK").json()["incident"]
    # the grid dispatcher made it but works no dispatch desk
    links = api("griddispatcher").get(f"/api/emergency/cases/{case['number']}/links/").json()["links"]
    assert links[0]["incident"] == {"id": made["id"], "number": made["number"], "visible": False}
    full = api("operator").get(f"/api/emergency/cases/{case['number']}/links/").json()["links"]
    assert full[0]["incident"]["visible"] is True and full[0]["incident"]["status"] == "received"


def test_the_escalation_types_are_the_active_incident_types(api):
    types = api("griddispatcher").get("/api/emergency/escalation-types/").json()
    assert "119-GAS-LEAK" in {t["code"] for t in types}
    assert api("inspector").get("/api/emergency/escalation-types/").status_code == 403
