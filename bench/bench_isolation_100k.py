"""Burst isolation through the real stack on ≥100k pipes: PostGIS rows → warm graph → service → HTTP API, vs WNTR.

Run:  .venv/bin/python bench/bench_isolation_100k.py [--pipes 100000] [--bursts 300] [--wntr-pipes 2000,4000,8000]

Uses its own database (bench/benchdb.py: cityops_bench). The synthetic network of bench_isolation.py is
written to the pipelines tables (COPY), then the same random bursts are timed on four paths, graph warm:

1. the warm graph alone (`IsolationGraph.isolate_burst`: segment, valves, secondary outage, lengths);
2. the service (`selectors.isolation_result`: version check, plan, closing order, valves, pipes as
   GeoJSON, customers, nearest address), what the API and the repair order call;
3. the HTTP API (`POST /api/pipelines/isolation/` through Django, DRF and the JSON renderer, in process);
4. WNTR's `valve_segments` on the same generator and machine (see bench_isolation.py for why it is
   measured on smaller networks and extrapolated unless `--wntr-full`), printed as a ratio.
"""

import argparse
import io
import math
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchdb
from bench_isolation import MISSING_LINK_SHARE, SPACING_M, compare_with_wntr, ms, percentile, synthetic_network

NETWORK = "bench-100k"
ORIGIN = (480_000.0, 2_470_000.0)  # metres in the demo's metric CRS


def grid_side(pipe_target: int) -> int:
    """The grid size synthetic_network uses for this target (node J{i} sits at row i // side, column i % side)."""
    return math.ceil((1 + math.sqrt(1 + 2 * pipe_target / (1 - MISSING_LINK_SHARE))) / 2) + 1


def copy_rows(cursor, table: str, columns: str, rows) -> None:
    buffer = io.StringIO()
    for row in rows:
        buffer.write("\t".join("\\N" if value is None else str(value) for value in row) + "\n")
    buffer.seek(0)
    with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        copy.write(buffer.read())


def load_network(pipe_target: int, seed: int):
    """Write the synthetic network into the pipelines tables; returns (network, graph tuples)."""
    import pyproj
    from django.conf import settings
    from django.db import connection, transaction

    from core.models import Organisation
    from pipelines_mgmt.models import Network
    from pipelines_mgmt.services import bump_network_version

    nodes, sources, pipes, valves = synthetic_network(pipe_target, seed)
    side = grid_side(pipe_target)
    to_wgs84 = pyproj.Transformer.from_crs(settings.CITYOPS_METRIC_SRID, 4326, always_xy=True)
    xy = {}
    for node in nodes:
        if node.startswith("J"):
            i = int(node[1:])
            xy[node] = (ORIGIN[0] + (i // side) * SPACING_M, ORIGIN[1] + (i % side) * SPACING_M)
    for pipe in pipes:  # sources sit 500 m beyond the junction they feed
        if pipe.start in sources:
            x, y = xy[pipe.end]
            xy[pipe.start] = (x - 500.0, y)
    names = list(xy)
    lon, lat = to_wgs84.transform([xy[n][0] for n in names], [xy[n][1] for n in names])
    lonlat = {name: (a, b) for name, a, b in zip(names, lon, lat, strict=True)}

    with transaction.atomic():
        with connection.cursor() as cursor:  # a previous run's network: rows in FK order, no per-row collection
            for statement in (
                "DELETE FROM pipelines_mgmt_valve v USING pipelines_mgmt_pipe p, pipelines_mgmt_network n "
                "WHERE v.pipe_id = p.id AND p.network_id = n.id AND n.code = %s",
                "DELETE FROM pipelines_mgmt_pipe p USING pipelines_mgmt_network n "
                "WHERE p.network_id = n.id AND n.code = %s",
                "DELETE FROM pipelines_mgmt_node d USING pipelines_mgmt_network n "
                "WHERE d.network_id = n.id AND n.code = %s",
                "DELETE FROM pipelines_mgmt_network WHERE code = %s",
            ):
                cursor.execute(statement, [NETWORK])
        owner, _ = Organisation.objects.get_or_create(
            code="BENCH-UTILITY", defaults={"name": "Bench utility", "kind": Organisation.Kind.UTILITY}
        )
        network = Network.objects.create(code=NETWORK, name="100k bench network", utility="water", owner=owner)
        with connection.cursor() as cursor:
            source_set = set(sources)
            copy_rows(
                cursor,
                "pipelines_mgmt_node",
                "network_id, code, kind, source_kind, name, geom",
                (
                    (network.pk, n, "source" if n in source_set else "junction",
                     "reservoir" if n in source_set else "", "", f"SRID=4326;POINT({lonlat[n][0]} {lonlat[n][1]})")
                    for n in names
                ),
            )  # fmt: skip
            cursor.execute("SELECT code, id FROM pipelines_mgmt_node WHERE network_id = %s", [network.pk])
            node_id = dict(cursor.fetchall())
            copy_rows(
                cursor,
                "pipelines_mgmt_pipe",
                "network_id, code, link_type, start_node_id, end_node_id, material, pressure_class, length_m, geom",
                (
                    (network.pk, p.id, "pipe", node_id[p.start], node_id[p.end], "ductile_iron", "pn10", p.length,
                     f"SRID=4326;LINESTRING({lonlat[p.start][0]} {lonlat[p.start][1]},"
                     f"{lonlat[p.end][0]} {lonlat[p.end][1]})")
                    for p in pipes
                ),
            )  # fmt: skip
            cursor.execute("SELECT code, id FROM pipelines_mgmt_pipe WHERE network_id = %s", [network.pk])
            pipe_id = dict(cursor.fetchall())
            copy_rows(
                cursor,
                "pipelines_mgmt_valve",
                "code, pipe_id, node_id, normal_state, operability, geom",
                (
                    (v.id, pipe_id[v.pipe], node_id[v.node], "closed" if v.normally_closed else "open",
                     str(v.operability), f"SRID=4326;POINT({lonlat[v.node][0]} {lonlat[v.node][1]})")
                    for v in valves
                ),
            )  # fmt: skip
            cursor.execute("ANALYZE pipelines_mgmt_node; ANALYZE pipelines_mgmt_pipe; ANALYZE pipelines_mgmt_valve")
        bump_network_version(network.pk)
    return network, pipe_id, (nodes, sources, pipes, valves)


def timed(function, items):
    timings = []
    for item in items:
        started = time.perf_counter()
        function(item)
        timings.append(time.perf_counter() - started)
    return timings


def line(label: str, timings) -> str:
    return (
        f"  {label:<44} median {ms(statistics.median(timings))}   p95 {ms(percentile(timings, 0.95))}"
        f"   max {ms(max(timings))}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pipes", type=int, default=100_000)
    parser.add_argument("--bursts", type=int, default=300)
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--wntr-pipes", default="2000,4000,8000", help="sizes WNTR is measured on (comma list)")
    parser.add_argument("--wntr-full", action="store_true", help="also run WNTR at full size (very slow)")
    args = parser.parse_args()

    benchdb.prepare_database()
    import django

    django.setup()
    import numpy as np
    from django.contrib.auth.models import Group
    from rest_framework.test import APIClient

    from core.models import User
    from pipelines_mgmt import selectors
    from pipelines_mgmt.graph import network_graph

    started = time.perf_counter()
    network, pipe_id, (nodes, sources, pipes, valves) = load_network(args.pipes, args.seed)
    print(
        f"Network {NETWORK}: {len(nodes)} nodes ({len(sources)} sources), {len(pipes)} pipes, {len(valves)} valves; "
        f"written to PostGIS in {time.perf_counter() - started:.1f} s"
    )

    started = time.perf_counter()
    warm = network_graph(network.pk)
    print(
        f"Warm graph from the database (rows → arrays → segments): {warm.build_seconds:.2f} s "
        f"({time.perf_counter() - started:.2f} s with the version check); {warm.isolation.n_segments} segments"
    )
    rng = np.random.default_rng(args.seed + 7)
    bursts = [pipe_id[pipes[i].id] for i in rng.choice(len(pipes), args.bursts, replace=False)]
    warm.isolation.isolate_burst(bursts[0])  # the segment graph is derived on the first query

    graph_path = timed(warm.isolation.isolate_burst, bursts)
    service_path = timed(lambda pk: selectors.isolation_result(selectors.locate_burst(network, pipe_id=pk)), bursts)
    user, _ = User.objects.get_or_create(username="bench-planner")
    user.groups.add(Group.objects.get_or_create(name="planner")[0])
    client = APIClient()
    client.force_login(user)

    def through_api(pk):
        response = client.post("/api/pipelines/isolation/", {"network": NETWORK, "pipe": pk}, format="json")
        assert response.status_code == 200, response.content[:300]

    through_api(bursts[0])  # the process's first request loads URL conf and renderers: not a burst's cost
    api_path = timed(through_api, bursts)
    print(f"\n{len(bursts)} random bursts, graph warm:")
    print(line("warm graph (isolate_burst)", graph_path))
    print(line("service (selectors.isolation_result)", service_path))
    print(line("HTTP API (POST /api/pipelines/isolation/)", api_path))

    print("\nWNTR 1.5 valve_segments on the same generator, same machine:")
    measured = []
    for size in [int(s) for s in args.wntr_pipes.split(",") if s] + ([args.pipes] if args.wntr_full else []):
        row = compare_with_wntr(size, 100, args.seed)
        measured.append(row)
        print(f"  {row['pipes']:>7} pipes: valve_segments {row['wntr_segments']:.2f} s, lookup "
              f"{ms(row['wntr_lookup_median']).strip()}; our query {ms(row['ours_median']).strip()}; "
              f"same answers: {'yes' if row['same'] else 'NO'}")  # fmt: skip
    full = next((row for row in measured if row["pipes"] == len(pipes)), None)
    if full is not None:
        wntr, label = full["wntr_segments"] + full["wntr_lookup_median"], "measured"
    else:
        exponent, intercept = np.polyfit(
            np.log([r["pipes"] for r in measured]), np.log([r["wntr_segments"] for r in measured]), 1
        )
        largest = measured[-1]
        wntr = (
            math.exp(intercept) * len(pipes) ** exponent + largest["wntr_lookup_median"] * len(pipes) / largest["pipes"]
        )
        label = f"extrapolated to {len(pipes)} pipes, power law exponent {exponent:.2f}"
    print(f"  WNTR per burst at {len(pipes)} pipes: {wntr:.1f} s ({label})")
    print("\nRatio WNTR / ours, per burst (median):")
    for name, timings in (("warm graph", graph_path), ("service", service_path), ("HTTP API", api_path)):
        print(f"  {name:<12} {wntr / statistics.median(timings):>12,.0f}×")
    print(f"Goal: < 20 ms per burst on ≥100k pipes — API median {ms(statistics.median(api_path)).strip()}")


if __name__ == "__main__":
    main()
