"""Fleet reports on a constructed track whose trips, stops, mileage and speeding were worked out by hand (below),
stored through dispatch's own ingest path into the real partitioned track table; the roll-up of the day gives the
same rows as the computation from the raw fixes; the row rule holds for reports and replay."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.utils import timezone
from pyproj import Geod

from core.models import User
from core.realtime import Viewer
from dispatch.models import Vehicle
from dispatch.tracks import Fix, record_fixes
from trips import selectors, services
from trips.models import Episode, RolledDay

pytestmark = pytest.mark.django_db(transaction=True)
WGS84 = Geod(ellps="WGS84")
START_LON, START_LAT = 114.05, 22.53

# Minute after 08:00 local → speed (km/h); the vehicle is a police car (limit 130 km/h). Where it moves it covers
# exactly 1 km north per minute (positions from pyproj's geodesic, so each moving minute is 1,000 m).
#  0–10  parked at A (11 fixes, speed 0)                   → stop 08:00–08:10 (10 min ≥ 5)
# 10–30  drives 20 km north, 60 km/h; 140/150/140 at 20–22 → trip 08:10–08:30, 20 km, max 150, avg 60
#                                                          → speeding 08:20–08:23 (back under at 08:23), max 150
# 30–36  stands at B = A + 20 km (6 min)                   → stop 08:30–08:36
# 36–40  drives 4 km; 41–42 stands 2 min (no stop, < 5); 43–45 drives 3 km → trip 08:36–08:45, 7 km, avg 46.7
# 45–60  no fixes (15 min gap > 5), then 60–62 stands       → stop 08:45–09:02 (the short stand joins the gap)
# mileage: 27 km; 49 fixes.
STEPS = set(range(11, 31)) | set(range(37, 41)) | set(range(43, 46))  # 1 km further north than the fix before
SPEEDS = {20: 140.0, 21: 150.0, 22: 140.0, 30: 0.0}  # 60 km/h at the other steps, 0 elsewhere
MINUTES = [*range(0, 46), 60, 61, 62]


def the_day():
    return timezone.localdate() - timedelta(days=3)


def at(minute: int) -> datetime:
    return datetime.combine(the_day(), time(8), tzinfo=ZoneInfo(settings.TIME_ZONE)) + timedelta(minutes=minute)


def constructed_track(vehicle: Vehicle) -> list[Fix]:
    lon, lat, fixes = START_LON, START_LAT, []
    for minute in MINUTES:
        if minute in STEPS:
            lon, lat, _ = WGS84.fwd(lon, lat, 0, 1000)
        speed = SPEEDS.get(minute, 60.0) if minute in STEPS else 0.0
        fixes.append(Fix("track-test", vehicle.pk, at(minute), lat, lon, speed))
    return fixes


@pytest.fixture
def police_car(empty_track):
    car = Vehicle.objects.filter(kind=Vehicle.Kind.POLICE_CAR).order_by("pk").first()
    record_fixes(constructed_track(car))
    return car


def operator_report(kind, vehicle, start=None, end=None, username="operator"):
    viewer = Viewer.for_user(User.objects.get(username=username))
    vehicles = selectors.report_vehicles(viewer, vehicle_ids=[vehicle.pk])
    return selectors.report(kind, viewer, vehicles, start or at(-60), end or at(180))


def spans(rows):
    return [(r["start"], r["end"]) for r in rows]


def test_trips_stops_speeding_and_mileage_match_the_hand_computed_track(police_car):
    trips = operator_report("trips", police_car)["rows"]
    assert spans(trips) == [(at(10).isoformat(), at(30).isoformat()), (at(36).isoformat(), at(45).isoformat())]
    assert [r["distance_km"] for r in trips] == pytest.approx([20.0, 7.0], abs=0.001)
    assert [r["max_speed_kmh"] for r in trips] == [150.0, 60.0]
    assert [r["avg_speed_kmh"] for r in trips] == [60.0, 46.7]
    assert [r["duration_s"] for r in trips] == [1200, 540]
    assert (trips[0]["start_lat"], trips[0]["start_lon"]) == (pytest.approx(START_LAT), pytest.approx(START_LON))

    stops = operator_report("stops", police_car)["rows"]
    assert spans(stops) == [(at(a).isoformat(), at(b).isoformat()) for a, b in [(0, 10), (30, 36), (45, 62)]]
    assert stops[1]["start_lat"] == pytest.approx(trips[0]["end_lat"])

    speeding = operator_report("speeding", police_car)["rows"]
    assert spans(speeding) == [(at(20).isoformat(), at(23).isoformat())]
    assert speeding[0]["max_speed_kmh"] == 150.0 and speeding[0]["limit_kmh"] == 130.0

    mileage = operator_report("mileage", police_car)
    assert [r["distance_km"] for r in mileage["rows"]] == pytest.approx([27.0], abs=0.001)
    assert mileage["rows"][0]["fixes"] == len(MINUTES)
    assert mileage["summary"][0]["call_sign"] == police_car.call_sign
    assert mileage["daily"] == [{**mileage["daily"][0], "day": the_day().isoformat(), "count": 1}]


def test_the_rolled_up_day_answers_the_same_rows_as_the_raw_track(police_car):
    raw = {kind: operator_report(kind, police_car) for kind in ("trips", "stops", "speeding", "mileage")}
    services.roll_up_day(the_day())
    assert RolledDay.objects.filter(day=the_day()).exists()
    assert Episode.objects.filter(day=the_day(), vehicle=police_car).count() == 2 + 3 + 1 + 1
    whole_day = (at(-8 * 60), at(16 * 60))  # local midnight to midnight: read from the stored episodes
    assert selectors.rolled_days(*whole_day) == {the_day()}
    for kind, answer in raw.items():
        stored = operator_report(kind, police_car, *whole_day)
        assert stored["rows"] == answer["rows"], kind
    assert services.stale_days(the_day() + timedelta(days=1))[-1:] != [the_day()]


def test_a_range_cuts_the_track_at_its_edges(police_car):
    trips = operator_report("trips", police_car, at(15), at(40))["rows"]
    assert spans(trips) == [(at(15).isoformat(), at(30).isoformat()), (at(36).isoformat(), at(39).isoformat())]


def test_time_in_fence_counts_the_segments_that_start_inside(police_car):
    from django.contrib.gis.geos import MultiPolygon, Polygon

    from core.models import Organisation
    from fences.models import Fence

    box = Polygon.from_bbox((START_LON - 0.002, START_LAT - 0.002, START_LON + 0.002, START_LAT + 0.002))
    Fence.objects.create(
        name="停车场A", organisation=Organisation.objects.get(code="SZ-ECC"), shape="polygon", drawn=box,
        geom=MultiPolygon(box),
    )  # fmt: skip
    rows = operator_report("fences", police_car)["rows"]
    # Fixes of 08:00–08:10 lie at A; each counts the minute to its next fix (the last one's leads out of the box).
    # (The demo's own fences may lie on the track too: only the box is hand-computed.)
    box_rows = [(r["fence"], r["fixes"], r["duration_s"]) for r in rows if r["fence"] == "停车场A"]
    assert box_rows == [("停车场A", 11, 660)]
    # The police desk sees its car but not the command centre's fence: the fence is not in its report.
    assert operator_report("fences", police_car, username="dispatcher110")["rows"] == []
