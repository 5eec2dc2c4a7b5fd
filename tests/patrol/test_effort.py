"""Patrol effort in SQL (patrol/selectors.py) against a track worked out by hand, and the positions API."""

from datetime import datetime, timedelta
from math import pi

import pytest
from django.contrib.auth.models import Group
from django.contrib.gis.geos import Point, Polygon
from django.utils import timezone

from core.models import AdminArea, Role, User
from grid import selectors as grid_selectors
from grid.calendar import SHANGHAI
from grid.models import Case, Category, UnitGrid
from patrol import selectors
from patrol.models import PatrolShift, Position

pytestmark = pytest.mark.django_db
LON = 120.0005
METRES_PER_MILLIDEGREE = 6371008.8 * pi / 180 * 0.001  # along a meridian on PostGIS's sphere: 111.195 m


def at(hour, minute, second=0):
    return datetime(2030, 1, 7, hour, minute, second, tzinfo=SHANGHAI)


def cell(code: str, south: float, community: AdminArea) -> UnitGrid:
    """A unit grid 0.001° × 0.001° from latitude ``south`` (lon 120.000–120.001)."""
    square = Polygon.from_bbox((120.0, south, 120.001, south + 0.001))
    square.srid = 4326
    return UnitGrid.objects.create(
        code=code, community=community, street=community, district=community, geom=square, area_m2=10000
    )


@pytest.fixture
def patrol(demo_city):
    """Inspector 甲 owns grids A (lat 30.000–30.001) and B (30.001–30.002); grid C (30.002–30.003) is another's.
    Shift 09:00–10:00. Fixes at lon 120.0005 (so every move runs along a meridian):

    ========  ==========  =====  ==============================================================
    time      lat         grid   segment from the fix before
    ========  ==========  =====  ==============================================================
    08:59:00  30.0005     A      —
    09:00:00  30.0005     A      starts before the shift: not counted
    09:01:00  30.0015     B      60 s, 0.001° = 111.195 m, own grids
    09:02:00  30.0025     C      60 s, 111.195 m, not own (ends in C)
    09:03:00  30.0015     B      60 s, 111.195 m, not own (starts in C)
    09:20:00  30.0005     A      17 min gap > 5 min: tablet off, not counted
    09:21:00  30.0005     A      60 s, 0 m, own grids
    09:25:00  30.0008     A      240 s, 0.0003° = 33.359 m, own grids
    09:59:30  30.0005     A      34.5 min gap: not counted
    10:00:30  30.0015     B      ends after the shift: not counted
    ========  ==========  =====  ==============================================================

    On duty 60+60+60+60+240 = 480 s; in own grids 60+60+240 = 360 s; distance 3 × 111.195 + 33.359 = 366.944 m;
    in own grids 111.195 + 0 + 33.359 = 144.554 m. Cases reported: two by 甲 that day (a third the day before and
    a hotline case do not count). Inspector 乙 has a shift and no fixes: zeros."""
    community = AdminArea.objects.filter(level="community").order_by("code").first()
    group = Group.objects.get_or_create(name=Role.INSPECTOR)[0]
    first = User.objects.create(username="patrol-jia", first_name="甲")
    second = User.objects.create(username="patrol-yi", first_name="乙")
    group.user_set.add(first, second)
    a, b = cell("999999999999001", 30.000, community), cell("999999999999002", 30.001, community)
    cell("999999999999003", 30.002, community).inspectors.add(second)
    a.inspectors.add(first)
    b.inspectors.add(first)
    for who in (first, second):
        PatrolShift.objects.create(inspector=who, start=at(9, 0), end=at(10, 0))
    track = [
        (at(8, 59), 30.0005), (at(9, 0), 30.0005), (at(9, 1), 30.0015), (at(9, 2), 30.0025), (at(9, 3), 30.0015),
        (at(9, 20), 30.0005), (at(9, 21), 30.0005), (at(9, 25), 30.0008), (at(9, 59, 30), 30.0005),
        (at(10, 0, 30), 30.0015),
    ]  # fmt: skip
    Position.objects.bulk_create([Position(inspector=first, at=t, geom=Point(LON, lat, srid=4326)) for t, lat in track])
    category = Category.objects.order_by("code").first()
    spot = Point(LON, 30.0005, srid=4326)
    for number, channel, reported in (
        ("P1", "inspector", at(9, 5)),
        ("P2", "inspector", at(9, 40)),
        ("P3", "inspector", at(9, 5) - timedelta(days=1)),
        ("P4", "hotline", at(9, 6)),
    ):
        Case.objects.create(number=number, channel=channel, stage="reported", category=category, geom=spot,
                            reporter=first, reported_at=reported)  # fmt: skip
    return first, second


def test_patrol_effort_equals_the_hand_computed_track(patrol):
    first, second = patrol
    effort = selectors.patrol_effort(at(0, 0), at(0, 0) + timedelta(days=1))
    mine = effort[first.pk]
    assert (mine["on_duty_s"], mine["in_grid_s"], mine["cases_reported"]) == (480, 360, 2)
    assert mine["distance_m"] == pytest.approx(3 * METRES_PER_MILLIDEGREE + 0.3 * METRES_PER_MILLIDEGREE, rel=1e-4)
    assert mine["distance_m"] == pytest.approx(366.944, abs=0.05)
    assert mine["in_grid_distance_m"] == pytest.approx(144.554, abs=0.05)
    assert effort[second.pk] == {
        "on_duty_s": 0.0, "in_grid_s": 0.0, "distance_m": 0.0, "in_grid_distance_m": 0.0, "cases_reported": 0
    }  # fmt: skip


def test_on_duty_states_from_the_track(patrol):
    first, second = patrol
    states = {row["id"]: row for row in selectors.on_duty(at(9, 2, 30))}
    assert (states[first.pk]["state_label"], states[first.pk]["lat"]) == ("离岗", pytest.approx(30.0025))
    assert states[second.pk]["state_label"] == "未上岗"
    assert {row["id"]: row["state_label"] for row in selectors.on_duty(at(9, 12))}[first.pk] == "超时未报"
    assert {row["id"]: row["state_label"] for row in selectors.on_duty(at(9, 24))}[first.pk] == "在岗"
    assert selectors.on_duty(at(10, 0)) == []


def test_positions_api_stores_a_batch_once_and_refuses_bad_fixes(api):
    client = api("inspector")
    now = timezone.now().replace(microsecond=0)
    batch = {"positions": [{"at": (now - timedelta(seconds=30 * i)).isoformat(), "lon": 114.05, "lat": 22.54}
                           for i in range(3)]}  # fmt: skip
    assert client.post("/api/patrol/positions/", batch, format="json").json() == {"received": 3, "stored": 3}
    assert client.post("/api/patrol/positions/", batch, format="json").json() == {"received": 3, "stored": 0}
    gcj02 = {"positions": [{"at": now.isoformat(), "lon": 114.05, "lat": 22.54, "crs": "gcj02"}]}
    assert client.post("/api/patrol/positions/", gcj02, format="json").json() == {"received": 1, "stored": 0}
    shifted = {
        "positions": [{"at": (now - timedelta(minutes=5)).isoformat(), "lon": 114.05, "lat": 22.54, "crs": "gcj02"}]
    }
    assert client.post("/api/patrol/positions/", shifted, format="json").json()["stored"] == 1
    stored = Position.objects.get(at=now - timedelta(minutes=5)).geom
    # in Shenzhen GCJ-02 lies ~0.005° east and ~0.003° south of WGS84
    assert 0.004 < 114.05 - stored.x < 0.007 and 0.001 < stored.y - 22.54 < 0.004
    bad = [
        ({"positions": []}, "positions"),
        ({"positions": [{"at": now.isoformat(), "lon": 200, "lat": 22.5}]}, "positions[0]"),
        ({"positions": [{"at": (now + timedelta(hours=1)).isoformat(), "lon": 114, "lat": 22.5}]}, "positions[0]"),
        ({"positions": [{"at": "yesterday", "lon": 114, "lat": 22.5}]}, "positions[0].at"),
        ({"positions": [{"at": now.isoformat(), "lon": 114, "lat": 22.5}] * 501}, "positions"),
        ({"positions": [{"at": now.isoformat(), "lon": 114, "lat": 22.5, "crs": "mars"}]}, "positions[0].crs"),
    ]
    for body, field in bad:
        answer = client.post("/api/patrol/positions/", body, format="json")
        assert answer.status_code == 400, body
        assert answer.json()["field"] == field
    assert Position.objects.count() == 4
    assert api("operator").post("/api/patrol/positions/", batch, format="json").status_code == 403
    assert api("operator").get("/api/patrol/on-duty/").status_code == 200


def test_patrol_effort_in_the_inspectors_evaluation(patrol):
    """grid's KPI report by inspector carries the same hand-computed effort: 480 s on duty, 360 s of it in own
    grids (75 %), 366.944 m."""
    first, _second = patrol
    report = grid_selectors.kpi_report(at(0, 0), at(0, 0) + timedelta(days=1), "inspector", at(12, 0))
    mine = next(row for row in report["rows"] if row["id"] == first.pk)["values"]
    assert mine["patrol_hours"] == pytest.approx(480 / 3600)
    assert mine["in_grid_rate"] == pytest.approx(0.75)
    assert mine["patrol_km"] == pytest.approx(0.366944, abs=5e-5)
    assert report["labels"]["patrol_km"] == "巡查里程（公里）"
