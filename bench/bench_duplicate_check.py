"""Duplicate check at intake (grid.selectors.possible_duplicates) on a city-scale case table: target < 20 ms.

Run after `bin/cityops setup`:  .venv/bin/python bench/bench_duplicate_check.py [--cases 1000000] [--checks 500]

Uses the benchmark database `cityops_bench` (bench/benchdb.py). Adds `--cases` synthetic cases tagged by their
number ("DUP…"), a year of a metro city spread over a 90 × 45 km box around Shenzhen, in the GB/T 47678 event
categories, the last 72 hours' still open; kept for the next run. Then times `--checks` duplicate checks at
points next to open cases (each finds at least that case) and at random points, and prints p50/p95/max and
the plan of one check.
"""

import argparse
import random
import statistics
import time

from benchdb import prepare_database

BOX = (113.75, 22.45, 114.62, 22.86)  # lon/lat of a metro city's built-up area

_FILL = """
WITH cats AS (SELECT array_agg(id) AS cats FROM grid_category WHERE scheme = 'gbt47678' AND kind = 'event'),
base AS (
  SELECT g AS n, %(now)s::timestamptz - (random() * interval '365 days') AS reported_at,
         %(x0)s + random() * (%(x1)s - %(x0)s) AS lon, %(y0)s + random() * (%(y1)s - %(y0)s) AS lat
  FROM generate_series(1, %(n)s) g)
INSERT INTO grid_case (number, channel, stage, category_id, geom, address, description, reporter_contact,
  request_hash, updated_at, clock, alerted, previous_stage, reported_at, returned_count, postponed_count,
  rework_count)
SELECT 'DUP' || lpad(n::text, 9, '0'), 'hotline',
  CASE WHEN reported_at > %(now)s::timestamptz - interval '72 hours' THEN 'dispatched' ELSE 'closed' END,
  cats[1 + (n %% array_length(cats, 1))], ST_SetSRID(ST_MakePoint(lon, lat), 4326), '', '', '{}', '',
  reported_at, '', '', '', reported_at, 0, 0, 0
FROM base, cats
"""


def fill(n: int) -> None:
    from django.db import connection, transaction
    from django.utils import timezone

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM grid_case WHERE number LIKE 'DUP%%'")
        if cursor.fetchone()[0] == n:
            print(f"{n:,} synthetic cases already in cityops_bench")
            return
        started = time.perf_counter()
        with transaction.atomic():
            cursor.execute("DELETE FROM grid_case WHERE number LIKE 'DUP%%'")
            x0, y0, x1, y1 = BOX
            cursor.execute(_FILL, {"n": n, "now": timezone.now(), "x0": x0, "y0": y0, "x1": x1, "y1": y1})
        cursor.execute("ANALYZE grid_case")
        print(f"inserted {n:,} synthetic cases in {time.perf_counter() - started:.1f} s")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(q * len(ordered)), len(ordered) - 1)]


def main(n: int, checks: int) -> None:
    import django

    django.setup()
    from django.contrib.gis.geos import Point
    from django.db import connection
    from django.utils import timezone

    from grid.models import Case
    from grid.selectors import possible_duplicates

    fill(n)
    now = timezone.now()
    rng = random.Random(20)  # noqa: S311 - a repeatable spread of probe points
    open_cases = list(
        Case.objects.filter(number__startswith="DUP", stage="dispatched")
        .select_related("category")
        .order_by("?")[: checks // 2]
    )
    probes = [(c.category, Point(c.geom.x + 0.0002, c.geom.y, srid=4326), True) for c in open_cases]
    categories = [c.category for c in open_cases]
    while len(probes) < checks:
        lon, lat = rng.uniform(BOX[0], BOX[2]), rng.uniform(BOX[1], BOX[3])
        probes.append((rng.choice(categories), Point(lon, lat, srid=4326), False))
    rng.shuffle(probes)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*), count(*) FILTER (WHERE stage = 'dispatched') FROM grid_case")
        total, still_open = cursor.fetchone()
    print(f"grid_case: {total:,} rows, {still_open:,} open; {checks} checks (half next to an open case)")
    for category, point, _ in probes[:20]:  # warm the cache as a running server is
        possible_duplicates(category, point, now)
    times, found_all = [], True
    for category, point, near in probes:
        started = time.perf_counter()
        found = possible_duplicates(category, point, now)
        times.append((time.perf_counter() - started) * 1000)
        found_all &= bool(found) or not near
    print(f"possible_duplicates: p50 {statistics.median(times):.2f} ms, p95 {percentile(times, 0.95):.2f} ms, "
          f"max {max(times):.2f} ms; every probe next to an open case found it: {found_all}")  # fmt: skip
    category, point, _ = probes[0]
    with connection.cursor() as cursor:
        sql, params = possible_duplicates_sql(category, point, now)
        cursor.execute("EXPLAIN (ANALYZE, COSTS OFF) " + sql, params)
        print("plan of one check:\n  " + "\n  ".join(row[0] for row in cursor.fetchall()))
    print("target: < 20 ms")


def possible_duplicates_sql(category, point, now):
    """The SQL and parameters of one check, as the selector sends it."""
    from django.db import connection

    from grid import selectors

    captured = []

    def capture(execute, sql, params, many, context):
        captured.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(capture):
        selectors.possible_duplicates(category, point, now)
    return captured[0]


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--checks", type=int, default=500)
    args = parser.parse_args()
    prepare_database()
    main(args.cases, args.checks)
