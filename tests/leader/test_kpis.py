"""The dashboard's indicators are those of the grid and dispatch KPI APIs for the same period and area."""

from datetime import timedelta

import pytest
from django.utils import timezone

from core.models import AdminArea
from dispatch.models import Assignment, Incident, IncidentType, Vehicle
from gis.models import Address

pytestmark = pytest.mark.django_db

DISTRICT = "440304"


@pytest.fixture
def past_month():
    """Thirty whole past days: evaluated as of their end, so both sides see the same moment."""
    today = timezone.localdate()
    return (today - timedelta(days=40)).isoformat(), (today - timedelta(days=11)).isoformat()


def period_of(summary) -> str:
    return f"from={summary['period']['from'].replace('+', '%2B')}&to={summary['period']['to'].replace('+', '%2B')}"


def test_case_headlines_equal_the_grid_kpi_api_for_the_city_and_for_a_district(api, past_month):
    start, end = past_month
    summary = api("leader").get(f"/api/leader/summary/?from={start}&to={end}").json()
    grid = api("admin").get(f"/api/grid/kpis/?{period_of(summary)}&group_by=district").json()
    assert summary["grid"]["current"] == grid["total"]["values"]
    assert summary["grid"]["current"]["reports"] > 0, "the demo city has a year of cases"
    for headline in summary["headlines"]:
        if headline["source"] == "grid":
            assert headline["value"] == grid["total"]["values"][headline["key"]]

    district = api("districtleader").get(f"/api/leader/summary/?from={start}&to={end}").json()
    row = next(r for r in grid["rows"] if r["code"] == DISTRICT)
    assert district["area"]["code"] == DISTRICT
    assert district["grid"]["current"] == row["values"]
    # The change is against the same number of days just before, as the grid API answers for them.
    before = api("admin").get(f"/api/grid/kpis/?{period_of({'period': district['previous']})}&group_by=district").json()
    previous_row = next(r for r in before["rows"] if r["code"] == DISTRICT)
    assert district["grid"]["previous"] == previous_row["values"]


def test_case_choropleth_per_district_carries_the_grid_kpi_rows(api, past_month):
    start, end = past_month
    layer = api("leader").get(f"/api/leader/layers/cases/?from={start}&to={end}&metric=closure_rate").json()
    grid = api("admin").get(f"/api/grid/kpis/?{period_of(layer)}&group_by=district").json()
    rows = {r["code"]: r["values"] for r in grid["rows"]}
    drawn = {f["properties"]["code"]: f["properties"] for f in layer["features"]}
    assert set(drawn) == set(AdminArea.objects.filter(level="district").values_list("code", flat=True))
    for code, props in drawn.items():
        if code in rows:
            assert props["value"] == rows[code]["closure_rate"]
            assert {k: props["indicators"][k] for k in rows[code]} == rows[code]
        else:
            assert props["value"] is None and props["color"] == "#c5ccd6"


@pytest.fixture
def answered_fires(demo_city):
    """Three fires in the district answered in 4, 6 and 9 minutes, their timestamps written as the CAD would."""
    district = AdminArea.objects.get(code=DISTRICT)
    kind = IncidentType.objects.get(code="119-FIRE-BUILDING")
    engines = list(Vehicle.objects.filter(agency__agency="119")[:3])
    places = Address.objects.filter(geom__within=district.geom).order_by("pk")[:3]
    start = timezone.now() - timedelta(days=20)
    for n, (minutes, engine, place) in enumerate(zip((4, 6, 9), engines, places, strict=True)):
        called = start + timedelta(hours=n)
        incident = Incident.objects.create(
            number=f"119-TEST-{n}", incident_type=kind, priority=1, status="closed", agencies=["119"],
            district=district, geom=place.geom, call_received_at=called, created_at=called,
            dispatched_at=called + timedelta(seconds=50), closed_at=called + timedelta(hours=1),
        )  # fmt: skip
        Assignment.objects.create(
            incident=incident, vehicle=engine, agency="119", status="cleared",
            dispatched_at=called + timedelta(seconds=50), en_route_at=called + timedelta(seconds=110),
            on_scene_at=called + timedelta(minutes=minutes), cleared_at=called + timedelta(hours=1),
        )  # fmt: skip


def test_response_headlines_and_map_equal_the_dispatch_kpi_api(api, answered_fires, past_month):
    today = timezone.localdate()
    query = f"from={(today - timedelta(days=30)).isoformat()}&to={(today - timedelta(days=1)).isoformat()}"
    summary = api("districtleader").get(f"/api/leader/summary/?{query}").json()
    dispatch = api("admin").get(f"/api/dispatch/kpis/?{period_of(summary)}&district={DISTRICT}&agency=119").json()
    (row,) = dispatch["rows"]
    fire = next(h for h in summary["headlines"] if h["key"] == "response_119")
    assert fire["value"] == row["total_response"]["p90_s"] and fire["value"] is not None
    assert fire["objective_s"] == row["total_response"]["objective_s"] and fire["incidents"] == row["incidents"] == 3

    layer = api("leader").get(f"/api/leader/layers/response/?{query}&agency=119").json()
    everywhere = api("admin").get(f"/api/dispatch/kpis/?{period_of(layer)}&agency=119").json()
    by_name = {r["district"]: r for r in everywhere["rows"]}
    for feature in layer["features"]:
        props = feature["properties"]
        expected = by_name.get(props["name"])
        assert props["agencies"] == ([expected] if expected else [])
        if expected:
            total = expected["total_response"]
            assert props["value"] == round(total["p90_s"] / total["objective_s"], 3)
