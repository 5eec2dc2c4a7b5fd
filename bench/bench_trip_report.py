"""A month's trip report for 2,000 vehicles (target, issue 19: under 3 s), from the daily roll-up of the track.

Run after `bin/cityops setup`:
  .venv/bin/python bench/bench_trip_report.py [--vehicles 2000] [--days 30] [--interval 30] [--keep]

Uses a database of its own, `cityops_bench_trips` (created and migrated here; other benchmarks' track data stays
out of it). Generates `--days` closed local days of fixes for `--vehicles` vehicles (police cars, buses and
tankers): each vehicle is on the road 8 hours a day, from a start between 06:00 and 10:00, driving 10–40 minutes
at a time with 5–20 minute stops, one fix every `--interval` seconds while its ignition is on (driving or standing)
and none while it is parked at night; now and then it runs above its kind's limit. The fixes are written with COPY
straight into the day partitions of `dispatch_track` (the ingest's table and indexes). Then it rolls every day up
(trips.services.roll_up_day, what the hourly job does for each closed day) and times:
- the month's trip report of every vehicle (trips.selectors.report: per-vehicle summary, per-day series and the
  first 5,000 trips), read from the roll-up: the figure against the 3 s target;
- the same month's mileage and stop reports;
- the same month with its last day not rolled up (computed from the raw fixes on the fly, as today always is);
- one vehicle's month of trips computed from the raw fixes only (no roll-up), the replay/report of one unit.
With --keep the generated data stays for another run (the generation is skipped when the days are there).
"""

import argparse
import os
import random
import struct
import time
from datetime import UTC, datetime, timedelta

import numpy as np
from benchdb import prepare_database, use_database

use_database("cityops_bench_trips")
os.environ.setdefault("CITYOPS_LOG_LEVEL", "WARNING")

CENTRE = (114.06, 22.56)  # the demo city (Shenzhen): vehicles start within ~15 km of it
KINDS = [("police_car", 0.6), ("bus", 0.3), ("dangerous_goods", 0.1)]
EWKB_POINT_4326 = "0101000020E6100000"  # little-endian EWKB header: Point with SRID 4326
DRIVE_MIN = (10, 40)
STOP_MIN = (5, 20)
ON_ROAD_H = 8
_COPY = (
    "COPY dispatch_track (terminal, fix_time, vehicle_id, geom, speed_kmh, heading, altitude, alarm, status,"
    " received_at) FROM STDIN"
)


def fleet(count: int) -> list[tuple[int, str]]:
    from core.models import Organisation
    from dispatch.models import Vehicle

    agency, _ = Organisation.objects.get_or_create(
        code="BENCH-TRIPS", defaults={"name": "bench fleet", "kind": "agency", "agency": "110"}
    )
    have = Vehicle.objects.filter(agency=agency).count()
    rng = random.Random(19)  # noqa: S311 - a repeatable fleet, not a secret
    kinds = rng.choices([k for k, _ in KINDS], [w for _, w in KINDS], k=count)
    Vehicle.objects.bulk_create(
        Vehicle(call_sign=f"BT-{n:05d}", kind=kinds[n], agency=agency, plate=f"粤B{n:05d}") for n in range(have, count)
    )
    return list(Vehicle.objects.filter(agency=agency).order_by("pk").values_list("pk", "kind")[:count])


def vehicle_day(rng: np.random.Generator, kind: str, day_start: datetime, interval: int):
    """One vehicle's fixes of a day as arrays: epoch seconds, lon, lat, speed (km/h), heading."""
    n = ON_ROAD_H * 3600 // interval
    moving = np.zeros(n, dtype=bool)
    i, driving = 0, True
    while i < n:
        span = int(rng.uniform(*(DRIVE_MIN if driving else STOP_MIN)) * 60 // interval)
        moving[i : i + span] = driving
        i, driving = i + span, not driving
    cruise = 80.0 if kind == "police_car" else 55.0
    speed = np.where(moving, np.clip(rng.normal(cruise * 0.6, cruise * 0.25, n), 8, None), rng.uniform(0, 2, n))
    over = moving & (rng.random(n) < 0.01)  # now and then above the limit (police 130, bus and tanker 80)
    speed[over] = 135.0 if kind == "police_car" else 88.0
    heading = np.cumsum(rng.normal(0, 20, n)) % 360
    metres = np.where(moving, speed / 3.6 * interval, 0.0)
    rad = np.radians(heading)
    lat0 = CENTRE[1] + rng.uniform(-0.12, 0.12)
    lon0 = CENTRE[0] + rng.uniform(-0.15, 0.15)
    lat = lat0 + np.cumsum(metres * np.cos(rad)) / 111_320.0
    lon = lon0 + np.cumsum(metres * np.sin(rad)) / (111_320.0 * np.cos(np.radians(lat0)))
    begin = day_start.timestamp() + rng.uniform(6, 10) * 3600
    seconds = begin + np.arange(n) * interval
    return seconds, lon, lat, speed, heading.astype(int)


def generate(vehicles, days: list, interval: int) -> int:
    """COPY every vehicle-day's fixes into the track; the rows written."""
    from django.db import connection

    from dispatch.tracks import ensure_partitions
    from trips.selectors import day_start

    ensure_partitions({(day_start(d) + timedelta(hours=h)).astimezone(UTC).date() for d in days for h in (0, 23)})
    rng = np.random.default_rng(19)
    rows = 0
    for day in days:
        started = time.perf_counter()
        lines = []
        for pk, kind in vehicles:
            seconds, lon, lat, speed, heading = vehicle_day(rng, kind, day_start(day), interval)
            terminal = f"bench-{pk}"
            columns = (seconds.tolist(), lon.tolist(), lat.tolist(), speed.tolist(), heading.tolist())
            for t, x, y, v, h in zip(*columns, strict=True):
                stamp = datetime.fromtimestamp(t, UTC).isoformat()
                geom = EWKB_POINT_4326 + struct.pack("<dd", x, y).hex()
                lines.append(f"{terminal}\t{stamp}\t{pk}\t{geom}\t{v:.1f}\t{h}\t0\t0\t0\t{stamp}\n")
        with connection.cursor() as wrapper, wrapper.cursor.copy(_COPY) as copy:
            for chunk in range(0, len(lines), 50_000):
                copy.write("".join(lines[chunk : chunk + 50_000]))
        rows += len(lines)
        print(f"  {day}: {len(lines):,} fixes in {time.perf_counter() - started:.1f} s", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE dispatch_track")
    return rows


def timed(label: str, work, repeat: int = 3):
    best, answer = float("inf"), None
    for _ in range(repeat):
        started = time.perf_counter()
        answer = work()
        best = min(best, time.perf_counter() - started)
    print(f"{label}: {best:.2f} s (best of {repeat})", flush=True)
    return answer, best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vehicles", type=int, default=2000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--interval", type=int, default=30, help="seconds between fixes while the ignition is on")
    parser.add_argument("--keep", action="store_true", help="keep the generated data for the next run")
    args = parser.parse_args()

    prepare_database()
    import django

    django.setup()
    from django.db import connection
    from django.utils import timezone

    from dispatch.selectors import CITY_WIDE
    from trips import selectors, services
    from trips.models import Episode, RolledDay

    vehicles = fleet(args.vehicles)
    today = timezone.localdate()
    days = [today - timedelta(days=n) for n in range(args.days, 0, -1)]
    start, end = selectors.day_start(days[0]), selectors.day_start(today)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM dispatch_track WHERE fix_time >= %s AND fix_time < %s", [start, end])
        present = cursor.fetchone()[0]
    expected = args.vehicles * args.days * (ON_ROAD_H * 3600 // args.interval)
    if present != expected:
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE dispatch_track")
        Episode.objects.all().delete()
        RolledDay.objects.all().delete()
        print(f"generating {args.days} days × {args.vehicles} vehicles, a fix every {args.interval} s on the road …")
        started = time.perf_counter()
        rows = generate(vehicles, days, args.interval)
        load = time.perf_counter() - started
        print(f"track rows: {rows:,}; load (generation + COPY + indexes) {load:.0f} s = {rows / load:,.0f} rows/s")
    else:
        print(f"track rows: {present:,} (kept from an earlier run)")

    missing = [d for d in days if not RolledDay.objects.filter(day=d).exists()]
    if missing:
        started = time.perf_counter()
        for day in missing:
            day_started = time.perf_counter()
            stored = services.roll_up_day(day)
            print(f"  roll-up {day}: {stored:,} episodes in {time.perf_counter() - day_started:.1f} s", flush=True)
        spent = time.perf_counter() - started
        print(f"roll-up of {len(missing)} days: {spent:.0f} s ({spent / len(missing):.1f} s per day)")
    print(f"episodes stored: {Episode.objects.count():,}")

    operator = selectors.Viewer(0, frozenset({"admin"}), None)
    fleet_rows = selectors.report_vehicles(operator, vehicle_ids=[pk for pk, _ in vehicles])
    print(f"\nreports over {len(fleet_rows)} vehicles, {start:%Y-%m-%d} to {end:%Y-%m-%d} ({args.days} days):")
    answer, month = timed(
        "month trip report, every vehicle (roll-up)",
        lambda: selectors.report("trips", CITY_WIDE, fleet_rows, start, end),
    )
    trips = sum(s["count"] for s in answer["summary"])
    km = sum(s["distance_km"] for s in answer["summary"])
    verdict = "met" if month < 3 else "NOT met"
    print(f"  {trips:,} trips, {km:,.0f} km, {len(answer['rows'])} rows listed; target < 3 s: {verdict}")
    timed("month mileage report (roll-up)", lambda: selectors.report("mileage", CITY_WIDE, fleet_rows, start, end))
    timed("month stop report (roll-up)", lambda: selectors.report("stops", CITY_WIDE, fleet_rows, start, end))

    last = days[-1]
    kept = RolledDay.objects.get(day=last)
    RolledDay.objects.filter(day=last).delete()  # the last day as today is: not rolled up, computed from the fixes
    try:
        timed(
            "month trip report with its last day from the raw fixes",
            lambda: selectors.report("trips", CITY_WIDE, fleet_rows, start, end),
            repeat=1,
        )
    finally:
        RolledDay.objects.create(day=last, rolled_at=kept.rolled_at)
    one = fleet_rows[:1]
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM dispatch_track WHERE vehicle_id = %s", [one[0][0]])
        print(f"one vehicle's fixes in the month: {cursor.fetchone()[0]:,}")
    rolled = list(RolledDay.objects.filter(day__in=days))
    RolledDay.objects.filter(day__in=days).delete()
    try:
        timed(
            "one vehicle's month of trips from the raw fixes (no roll-up)",
            lambda: selectors.report("trips", CITY_WIDE, one, start, end),
        )
    finally:
        RolledDay.objects.bulk_create(rolled)

    if not args.keep:
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE dispatch_track")
        Episode.objects.all().delete()
        RolledDay.objects.all().delete()
        print("generated data removed (--keep keeps it)")


if __name__ == "__main__":
    main()
