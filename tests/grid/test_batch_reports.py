"""Batch reports (POST /api/grid/cases/batch/): each report filed once by its key, bad ones answered alone."""

import pytest
from django.contrib.gis.geos import Point

from core.models import AdminArea, Event
from grid import services
from grid.models import Case, CaseTransition, Category, Component
from grid.places import locate

pytestmark = pytest.mark.django_db
URL = "/api/grid/cases/batch/"


@pytest.fixture
def spots(demo_city) -> list[Point]:
    communities = AdminArea.objects.filter(level="community").order_by("code")[:3]
    return [c.geom.point_on_surface for c in communities]


def item(key: str, spot: Point, code: str = "06010", **extra) -> dict:
    body = {
        "idempotency_key": key,
        "category_code": code,
        "description": f"批量上报 {key}",
        "location": {"type": "Point", "coordinates": [spot.x, spot.y]},
    }
    body.update(extra)
    return body


def counts():
    return Case.objects.count(), CaseTransition.objects.count(), Event.objects.filter(topic="cases").count()


def test_a_batch_files_the_good_reports_and_answers_the_bad_ones(api, spots):
    before_cases, before_steps, before_events = counts()
    first_event = Event.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
    lamp = Component.objects.filter(component_class=Category.objects.get(code="01002").component_class).first()
    batch = [
        item("b-1", spots[0]),
        item("b-2", lamp.geom, code="01002", channel="hotline"),  # a component class: the nearest is looked up
        item("b-3", spots[2]),
        item("b-4", Point(116.4, 39.9)),  # Beijing: outside the demo city
        item("b-5", spots[0], code="99999"),
        {k: v for k, v in item("", spots[0]).items() if k != "idempotency_key"},
        "not an object",
    ]
    response = api("calltaker").post(URL, {"reports": batch}, format="json")
    assert response.status_code == 200, response.content
    results = response.json()["results"]
    assert [r["status"] for r in results] == [201, 201, 201, 400, 400, 400, 400]
    assert [r.get("field") for r in results[3:]] == ["location", "category_code", "idempotency_key", "reports"]
    assert "outside the city" in results[3]["detail"] and "99999" in results[4]["detail"]
    assert counts() == (before_cases + 3, before_steps + 3, before_events + 3)

    for result, spot in zip(results[:3], [spots[0], lamp.geom, spots[2]], strict=True):
        case = Case.objects.get(pk=result["id"])
        single = locate(Point(spot.x, spot.y, srid=4326), case.category)
        assert case.number == result["number"] and case.stage == result["stage"] == "reported"
        assert (case.grid_id, case.street_id, case.district_id) == (
            single.grid.pk if single.grid else None,
            single.street_id,
            single.district_id,
        )
        assert case.component_id == (single.component.pk if single.component else None)
        assert case.transitions.get().action == "report"
    assert Case.objects.get(pk=results[1]["id"]).channel == "hotline"
    assert Case.objects.get(pk=results[1]["id"]).component_id == lamp.pk  # reported on the spot of a lamp

    events = list(Event.objects.filter(seq__gt=first_event).order_by("seq"))
    assert [e.data["id"] for e in events] == [r["id"] for r in results[:3]]
    assert all(e.type == "case.reported" and e.data["properties"]["stage"] == "reported" for e in events)


def test_a_resent_batch_files_nothing_twice_and_a_reused_key_is_a_conflict(api, spots):
    client = api("inspector")
    batch = [item("r-1", spots[0]), item("r-2", spots[1])]
    first = client.post(URL, {"reports": batch}, format="json").json()["results"]
    assert [r["status"] for r in first] == [201, 201]
    before = counts()
    again = client.post(URL, {"reports": batch}, format="json").json()["results"]
    assert [(r["status"], r["id"]) for r in again] == [(200, first[0]["id"]), (200, first[1]["id"])]
    changed = client.post(URL, {"reports": [item("r-1", spots[0], description="别的")]}, format="json")
    assert changed.json()["results"][0]["status"] == 409
    assert changed.json()["results"][0]["field"] == "idempotency_key"
    assert counts() == before


def test_a_key_sent_twice_in_one_batch_files_one_case(api, spots):
    batch = [item("d-1", spots[0]), item("d-1", spots[0]), item("d-1", spots[1])]
    before = counts()
    results = api("inspector").post(URL, {"reports": batch}, format="json").json()["results"]
    assert [r["status"] for r in results] == [201, 200, 409]
    assert results[1]["id"] == results[0]["id"]
    assert counts()[0] == before[0] + 1


@pytest.mark.parametrize(
    ("body", "detail"),
    [({}, "non-empty list"), ({"reports": []}, "non-empty list"), ({"reports": "x"}, "non-empty list")],
)
def test_a_malformed_batch_is_a_400_and_changes_nothing(api, body, detail):
    before = counts()
    response = api("inspector").post(URL, body, format="json")
    assert response.status_code == 400 and response.json()["field"] == "reports"
    assert detail in response.json()["detail"]
    assert counts() == before


def test_an_oversized_batch_is_refused(api, spots):
    before = counts()
    batch = [item(f"o-{i}", spots[0]) for i in range(services.BATCH_LIMIT + 1)]
    response = api("inspector").post(URL, {"reports": batch}, format="json")
    assert response.status_code == 400 and str(services.BATCH_LIMIT) in response.json()["detail"]
    assert counts() == before


def test_a_role_that_may_not_report_is_refused_the_whole_batch(api, spots):
    before = counts()
    response = api("leader").post(URL, {"reports": [item("x-1", spots[0])]}, format="json")
    assert response.status_code == 403, response.content
    assert counts() == before
