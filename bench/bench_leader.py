"""The leaders' dashboard: every layer and the headline indicators for a year of a metro-scale city.

Run after `bin/cityops setup`:  .venv/bin/python bench/bench_leader.py [--incidents 60000] [--repeat 3]

Uses the benchmark database `cityops_bench` (bench/benchdb.py) with its demo city (metro for the intended
figure) and the cases already there (bench/bench_grid_kpi.py adds a million). Adds `--incidents` synthetic
incidents with one answering unit each over the last year (numbers "LB…", kept for the next run). Then
builds what /leader/ asks for one period of 365 days — the summary (grid KPIs and response times, this year
and the year before), cases per district (three metrics) and per unit grid, incident density, response
times per district and bursts — once with an empty cache (cold) and again from the cache, best of
`--repeat`. Targets (issue 7): under 5 s cold, under 1 s from the cache.
"""

import argparse
import json
import time
from datetime import timedelta

from benchdb import prepare_database

_FILL_INCIDENTS = """
WITH types AS (SELECT array_agg(id ORDER BY id) AS ids, array_agg(agency ORDER BY id) AS agencies
               FROM dispatch_incidenttype),
units AS (SELECT array_agg(v.id ORDER BY v.id) AS ids FROM dispatch_vehicle v),
districts AS (SELECT array_agg(id ORDER BY id) AS ids, array_agg(geom ORDER BY id) AS shapes
              FROM core_adminarea WHERE level = 'district'),
base AS (
  SELECT g AS n, %(now)s::timestamptz - random() * interval '365 days' AS called,
         random() AS r1, random() AS r2, random() AS r3, 1 + floor(random() * 1000)::int AS pick
  FROM generate_series(1, %(n)s) g),
placed AS (
  SELECT b.*, 1 + (pick %% array_length(d.ids, 1)) AS k, t.ids[1 + (pick %% array_length(t.ids, 1))] AS type_id,
         t.agencies[1 + (pick %% array_length(t.ids, 1))] AS agency, d.ids, d.shapes
  FROM base b, types t, districts d),
made AS (
  INSERT INTO dispatch_incident (number, priority, status, agencies, address, description, caller_number, geom,
    call_received_at, created_at, dispatched_at, en_route_at, on_scene_at, closed_at, district_id, incident_type_id)
  SELECT 'LB' || lpad(n::text, 9, '0'), 1 + (pick %% 4), 'closed', ARRAY[agency], '', '', '',
         ST_PointOnSurface(shapes[k]), called, called, called + (30 + r1 * 60) * interval '1 second',
         called + (80 + r1 * 60) * interval '1 second', called + (200 + r2 * 400) * interval '1 second',
         called + interval '1 hour', ids[k], type_id
  FROM placed RETURNING id, agencies[1] AS agency, dispatched_at, en_route_at, on_scene_at, closed_at)
INSERT INTO dispatch_assignment (agency, status, dispatched_at, en_route_at, on_scene_at, cleared_at, vehicle_id,
  incident_id)
SELECT m.agency, 'cleared', m.dispatched_at, m.en_route_at, m.on_scene_at, m.closed_at,
       u.ids[1 + (m.id %% array_length(u.ids, 1))], m.id
FROM made m, units u
"""


def fill_incidents(n: int) -> None:
    from django.db import connection, transaction
    from django.utils import timezone

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM dispatch_incident WHERE number LIKE 'LB%%'")
        if cursor.fetchone()[0] == n:
            print(f"{n:,} synthetic incidents already in cityops_bench")
            return
        started = time.perf_counter()
        with transaction.atomic():
            cursor.execute("DELETE FROM dispatch_incident WHERE number LIKE 'LB%%'")
            cursor.execute(_FILL_INCIDENTS, {"n": n, "now": timezone.now()})
        cursor.execute("ANALYZE dispatch_incident")
        cursor.execute("ANALYZE dispatch_assignment")
        print(f"inserted {n:,} synthetic incidents in {time.perf_counter() - started:.1f} s")


def dashboard(period) -> dict:
    """Everything the dashboard requests for one period, city-wide, as the API builds it."""
    from leader import layers

    out = {"summary": layers.summary(period, None)}
    requests = [
        ("cases", "district", "count"),
        ("cases", "district", "overdue_share"),
        ("cases", "district", "closure_rate"),
        ("cases", "grid", "count"),
        ("incidents", "district", "count"),
        ("response", "district", "count"),
        ("bursts", "district", "count"),
    ]
    for layer, by, metric in requests:
        out[f"{layer}/{by}/{metric}"] = layers.build(layers.Request(layer, period, None, by, metric))
    return out


def best(repeat: int, call) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--incidents", type=int, default=60_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    prepare_database()

    import django

    django.setup()
    from django.core.cache import cache
    from django.db import connection
    from django.utils import timezone

    from leader.periods import Period

    fill_incidents(args.incidents)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (SELECT count(*) FROM grid_case), (SELECT count(*) FROM grid_unitgrid), "
            "(SELECT count(*) FROM dispatch_incident), (SELECT count(*) FROM core_adminarea WHERE level='district')"
        )
        cases, grids, incidents, districts = cursor.fetchone()
    print(f"city: {districts} districts, {grids:,} unit grids, {cases:,} cases, {incidents:,} incidents")

    now = timezone.now()
    year = Period("custom", now - timedelta(days=365), now)

    def cold():
        cache.clear()
        return dashboard(year)

    result = cold()
    sizes = {name: len(json.loads(layer)["features"]) for name, layer in result.items() if name != "summary"}
    print("features per layer:", ", ".join(f"{name} {n:,}" for name, n in sizes.items()))
    cold_s = best(args.repeat, cold)
    warm_s = best(args.repeat, lambda: dashboard(year))
    print(f"dashboard for 365 days, cold (empty cache): {cold_s:.2f} s  (target < 5 s)")
    print(f"dashboard for 365 days, from the cache:     {warm_s * 1000:.1f} ms  (target < 1 s)")
    from functools import partial

    from leader import kpis, layers

    parts = {
        "summary (both years)": partial(kpis.summary, year, None),
        "cases per district": partial(layers.build, layers.Request("cases", year, None, "district", "count")),
        "cases per unit grid": partial(layers.build, layers.Request("cases", year, None, "grid", "count")),
        "incident density": partial(layers.build, layers.Request("incidents", year, None)),
        "response per district": partial(layers.build, layers.Request("response", year, None)),
    }
    for name, build in parts.items():
        print(f"  {name:24s} cold {best(args.repeat, lambda build=build: (cache.clear(), build())):.2f} s")


if __name__ == "__main__":
    main()
