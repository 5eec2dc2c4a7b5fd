"""Fence rule evaluation: 20,000 vehicles reporting once a second against 5,000 fences, on 2 cores.

Run:  .venv/bin/python bench/bench_fence_rules.py [--vehicles 20000] [--fences 5000] [--seconds 20] [--batch 2000]

Fences (polygons, circles and corridors of 100–800 m over a 60 × 40 km city) carry 1–2 rules each (enter, exit,
dwell, speed inside, no-go; a third with school-hours calendars). Vehicles drive random walks at 0–80 km/h, one fix
a second each; the fixes come in ingest-sized batches in time order and go through ``fences.engine.RuleSet.evaluate``
with the state carried between batches — what ``fences.services.judge_positions`` does after reading the state.
"2 cores" is two processes, each judging half of the fleet (as two ingest replicas would, terminals being spread
over them). Target: ≥ 20,000 fixes/s evaluated.

The peer, in the same run: the naive way, PostGIS ``ST_Intersects`` of each batch's points against the fence table
(GiST-indexed) in the bench database — only the point-in-fence answer, no rules — on one connection.
"""

import argparse
import multiprocessing
import os
import platform
import sys
import time
from datetime import UTC, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import shapely

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fences import engine  # noqa: E402

WEST, SOUTH, EAST, NORTH = 113.80, 22.45, 114.40, 22.81
M_LON, M_LAT = 1 / 102_600, 1 / 110_700  # degrees per metre near 22.6°N
KINDS = ["bus", "coach", "dangerous_goods", "cash_van", "police_car", "ambulance"]
SCHOOL = engine.Calendar(frozenset(range(5)), ((clock(7), clock(9)), (clock(15, 30), clock(17, 30))))
TRIGGERS = [engine.ENTER, engine.EXIT, engine.DWELL, engine.SPEED, engine.NO_GO]


def make_fences(n: int, rng: np.random.Generator) -> list[tuple[int, shapely.Geometry]]:
    fences = []
    for i in range(n):
        x, y = rng.uniform(WEST, EAST), rng.uniform(SOUTH, NORTH)
        size = rng.uniform(100, 800)
        shape = i % 3
        if shape == 0:  # a polygon: an irregular 8-gon
            angles = np.sort(rng.uniform(0, 2 * np.pi, 8))
            radii = size * rng.uniform(0.5, 1.0, 8)
            geom = shapely.Polygon(np.c_[x + radii * np.cos(angles) * M_LON, y + radii * np.sin(angles) * M_LAT])
        elif shape == 1:  # a circle
            geom = shapely.Point(x, y).buffer(size * M_LAT, quad_segs=16)
        else:  # a corridor: a 4-point route, 30–60 m half-width
            steps = rng.uniform(-size, size, (4, 2)).cumsum(axis=0)
            line = shapely.LineString(np.c_[x + steps[:, 0] * M_LON, y + steps[:, 1] * M_LAT])
            geom = line.buffer(rng.uniform(30, 60) * M_LAT)
        fences.append((i, geom))
    return fences


def make_rules(fences, rng: np.random.Generator) -> list[engine.Rule]:
    rules = []
    for fid, _ in fences:
        for j in range(int(rng.integers(1, 3))):
            trigger = TRIGGERS[int(rng.integers(len(TRIGGERS)))]
            threshold = {engine.DWELL: 15.0, engine.SPEED: 40.0}.get(trigger, 0.0)
            calendars = (SCHOOL,) if rng.random() < 0.33 else ()
            target, value = (
                (engine.KIND, KINDS[int(rng.integers(len(KINDS)))]) if rng.random() < 0.3 else (engine.ALL, "")
            )
            rules.append(engine.Rule(f"r{fid}-{j}", fid, trigger, target, value, threshold, calendars))
    return rules


def batches(vehicles: np.ndarray, seconds: int, batch: int, seed: int):
    """The fleet's fixes second by second (random walks), cut into batches of ``batch`` fixes."""
    rng = np.random.default_rng(seed)
    n = len(vehicles)
    lon, lat = rng.uniform(WEST, EAST, n), rng.uniform(SOUTH, NORTH, n)
    heading = rng.uniform(0, 2 * np.pi, n)
    kinds = [KINDS[v % len(KINDS)] for v in vehicles.tolist()]
    groups = frozenset()
    start = datetime(2026, 12, 7, 7, 59, 50, tzinfo=UTC).astimezone(ZoneInfo("Asia/Shanghai"))
    for second in range(seconds):
        speed = rng.uniform(0, 80, n)
        heading += rng.normal(0, 0.2, n)
        lon += np.cos(heading) * speed / 3.6 * M_LON
        lat += np.sin(heading) * speed / 3.6 * M_LAT
        at = start + timedelta(seconds=second)
        rows = [
            engine.FixRow(v, k, groups, at, x, y, s)
            for v, k, x, y, s in zip(vehicles.tolist(), kinds, lon.tolist(), lat.tolist(), speed.tolist(), strict=True)
        ]
        for i in range(0, n, batch):
            yield rows[i : i + batch]


def judge(args: tuple) -> tuple[int, float, int]:
    """One process: build the rule set, judge its share of the fleet; (fixes, seconds judging, alarm events)."""
    vehicles, n_fences, seconds, batch, seed = args
    rng = np.random.default_rng(7)
    fences = make_fences(n_fences, rng)
    rule_set = engine.RuleSet(fences, make_rules(fences, rng), ZoneInfo("Asia/Shanghai"))
    state, fixes, events, spent = engine.State(), 0, 0, 0.0
    for rows in batches(vehicles, seconds, batch, seed):
        started = time.perf_counter()
        outcome = rule_set.evaluate(rows, state)
        spent += time.perf_counter() - started
        fixes += len(rows)
        events += len(outcome.events)
    return fixes, spent, events


def postgis_peer(n_fences: int, n_vehicles: int, batch: int, rounds: int) -> float:
    """Fixes/s of the naive way: each batch's points joined to the fence table with ST_Intersects (GiST index)."""
    import psycopg

    from bench import benchdb

    benchdb.prepare_database()
    fences = make_fences(n_fences, np.random.default_rng(7))
    url = os.environ["DATABASE_URL"].replace("postgis://", "postgresql://")
    with psycopg.connect(url) as conn:
        conn.execute("CREATE TEMP TABLE bench_fence (id int, geom geometry(Polygon, 4326))")
        with conn.cursor().copy("COPY bench_fence (id, geom) FROM STDIN") as copy:
            for fid, geom in fences:
                copy.write_row((fid, f"SRID=4326;{geom.wkt}"))
        conn.execute("CREATE INDEX ON bench_fence USING gist (geom)")
        conn.execute("ANALYZE bench_fence")
        rng = np.random.default_rng(3)
        total, spent = 0, 0.0
        for _ in range(rounds):
            lon, lat = rng.uniform(WEST, EAST, batch).tolist(), rng.uniform(SOUTH, NORTH, batch).tolist()
            started = time.perf_counter()
            conn.execute(
                "SELECT p.i, f.id FROM unnest(%s::float8[], %s::float8[]) WITH ORDINALITY AS p(lon, lat, i)"
                " JOIN bench_fence f ON ST_Intersects(f.geom, ST_SetSRID(ST_MakePoint(p.lon, p.lat), 4326))",
                [lon, lat],
            ).fetchall()
            spent += time.perf_counter() - started
            total += batch
    return total / spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vehicles", type=int, default=20_000)
    parser.add_argument("--fences", type=int, default=5_000)
    parser.add_argument("--seconds", type=int, default=20, help="seconds of fleet time (1 fix/s per vehicle)")
    parser.add_argument("--batch", type=int, default=2_000, help="fixes per batch (the ingest's batch size)")
    parser.add_argument("--processes", type=int, default=2)
    args = parser.parse_args()
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs; shapely {shapely.__version__}")
    print(f"{args.vehicles} vehicles × {args.seconds} s at 1 fix/s, {args.fences} fences, batches of {args.batch}")

    one = judge((np.arange(args.vehicles), args.fences, args.seconds, args.batch, 1))
    print(f"1 process : {one[0] / one[1]:>9,.0f} fixes/s judged ({one[0]:,} fixes, {one[2]:,} alarm events)")

    shares = np.array_split(np.arange(args.vehicles), args.processes)
    started = time.perf_counter()
    with multiprocessing.get_context("spawn").Pool(args.processes) as pool:
        results = pool.map(
            judge, [(share, args.fences, args.seconds, args.batch, 1 + i) for i, share in enumerate(shares)]
        )
    fixes = sum(r[0] for r in results)
    slowest = max(r[1] for r in results)
    print(
        f"{args.processes} processes: {fixes / slowest:>9,.0f} fixes/s judged (slowest process's judging time;"
        f" {time.perf_counter() - started:.1f} s wall with building the rule sets and generating the fixes)"
    )

    peer = postgis_peer(args.fences, args.vehicles, args.batch, rounds=20)
    print(f"peer, PostGIS ST_Intersects per batch (point-in-fence only, 1 connection): {peer:,.0f} fixes/s")
    print(
        f"ratio, ours on 1 process / peer: {one[0] / one[1] / peer:.1f}×; target ≥ 20,000 fixes/s on 2 cores: "
        f"{'met' if fixes / slowest >= 20_000 else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
