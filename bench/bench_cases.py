"""Case reports per second through the grid API, grid and component look-up included.

Run after `bin/cityops setup`:  .venv/bin/python bench/bench_cases.py [--workers 2] [--seconds 20]

Uses the benchmark database `cityops_bench` (bench/benchdb.py) and the demo city loaded there; if that city
has no unit grids yet, the grid layer of the demo (grids, components, inspectors, a year of cases) is added.
Each worker process signs in as a demo inspector and POSTs JSON reports (`/api/grid/cases/` with an
Idempotency-Key) at addresses of the city through Django's full request stack (middleware, session auth,
DRF, the service, PostGIS look-up of grid, areas and nearest component, the event log) — no HTTP socket,
so the figure is the server's capacity on this machine. A third of the reports are component classes
(covers, street lights) so the nearest-component search runs. The reports are deleted afterwards.
Target (issue 5): at least 500 reports/s on 2 cores.
"""

import argparse
import multiprocessing as mp
import os
import statistics
import time
import uuid

from benchdb import prepare_database

CATEGORIES = ["06010", "06012", "09009", "07001", "01002", "01037", "01003", "09006", "03005"]
KEY_PREFIX = "bench-"


def ensure_grid_layer() -> str:
    import django

    django.setup()
    from core.models import AdminArea, Organisation
    from data import democity
    from grid import demo
    from grid.models import UnitGrid

    districts = AdminArea.objects.filter(level="district").count()
    if districts == 0:
        raise SystemExit("no demo city in cityops_bench: run bench/bench_demo_city.py --scales city first")
    scale = {2: "small", 5: "city"}.get(districts, "metro")
    if not UnitGrid.objects.exists():
        from django.db import transaction

        started = time.perf_counter()
        context = {
            "scale": scale,
            "orgs": {o.code: o for o in Organisation.objects.all()},
            "areas": {a.code: a for a in AdminArea.objects.all()},
        }
        with transaction.atomic():
            demo.clear_demo()
            stats = demo.load_demo(democity.generate(scale), context)
        print(f"grid layer added to the {scale} city: {stats['grid']} in {time.perf_counter() - started:.1f} s")
    return scale


def _backend_cpu_seconds(pid: int) -> float:
    """CPU time of this worker's PostgreSQL backend (same machine), from /proc."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()  # noqa: SIM115
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def worker(args) -> tuple[int, list[float], float, float]:
    index, seconds, barrier = args
    import random

    import django

    django.setup()
    from django.db import connection
    from django.test import Client

    from core.models import User
    from gis.models import Address

    client = Client()
    client.force_login(User.objects.get(username="inspector"))
    rng = random.Random(index)  # noqa: S311 - test positions
    points = list(Address.objects.order_by("?").values_list("geom", flat=True)[:2000])
    latencies = []

    def one():
        p = points[rng.randrange(len(points))]
        body = {
            "category_code": rng.choice(CATEGORIES),
            "description": "bench",
            "location": {"type": "Point", "coordinates": [p.x + rng.uniform(-1e-4, 1e-4), p.y]},
        }
        t = time.perf_counter()
        r = client.post("/api/grid/cases/", body, content_type="application/json",
                        HTTP_IDEMPOTENCY_KEY=f"{KEY_PREFIX}{uuid.uuid4()}")  # fmt: skip
        latencies.append(time.perf_counter() - t)
        if r.status_code != 201:
            raise RuntimeError(f"{r.status_code} {r.content[:300]!r}")

    for _ in range(20):  # warm-up: connections, caches
        one()
    latencies.clear()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    barrier.wait()
    end = time.perf_counter() + seconds
    n = 0
    cpu = time.process_time(), _backend_cpu_seconds(backend)
    while time.perf_counter() < end:
        one()
        n += 1
    django_cpu = time.process_time() - cpu[0]
    backend_cpu = _backend_cpu_seconds(backend) - cpu[1]
    connection.close()
    return n, latencies, django_cpu, backend_cpu


def cleanup() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        bench = "SELECT id FROM grid_case WHERE idempotency_key LIKE %s"
        cursor.execute(f"DELETE FROM grid_casetransition WHERE case_id IN ({bench})", [KEY_PREFIX + "%"])  # noqa: S608
        cursor.execute(f"DELETE FROM grid_casephoto WHERE case_id IN ({bench})", [KEY_PREFIX + "%"])  # noqa: S608
        cursor.execute("DELETE FROM grid_case WHERE idempotency_key LIKE %s", [KEY_PREFIX + "%"])
        return cursor.rowcount


def main(workers: int, seconds: float) -> None:
    scale = ensure_grid_layer()
    from django.db import connection

    from grid.models import Component, UnitGrid

    connection.close()
    manager = mp.Manager()
    barrier = manager.Barrier(workers)
    started = time.perf_counter()
    with mp.get_context("fork").Pool(workers) as pool:
        results = pool.map(worker, [(i, seconds, barrier) for i in range(workers)])
    wall = time.perf_counter() - started
    total = sum(r[0] for r in results)
    latencies = sorted(x for r in results for x in r[1])
    django_ms = sum(r[2] for r in results) / total * 1000
    backend_ms = sum(r[3] for r in results) / total * 1000
    cpu_ms = django_ms + backend_ms
    print(
        f"{scale} city: {UnitGrid.objects.count():,} unit grids, {Component.objects.count():,} components; "
        f"{workers} worker processes, {mp.cpu_count()} CPUs"
    )
    print(
        f"case reports: {total} in {seconds:.0f} s = {total / seconds:,.0f} reports/s "
        f"(latency median {statistics.median(latencies) * 1000:.1f} ms, "
        f"p95 {latencies[int(len(latencies) * 0.95)] * 1000:.1f} ms; wall incl. start-up {wall:.1f} s); target ≥ 500/s"
    )
    print(
        f"CPU per report: {cpu_ms:.1f} ms (Django process {django_ms:.1f} ms + its PostgreSQL backend "
        f"{backend_ms:.1f} ms) → capacity of "
        f"{mp.cpu_count()} idle cores ≈ {mp.cpu_count() * 1000 / cpu_ms:,.0f} reports/s "
        f"(load average now {os.getloadavg()[0]:.1f}: other processes share these cores)"
    )
    print(f"removed {cleanup()} benchmark cases")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args()
    prepare_database()
    main(args.workers, args.seconds)
