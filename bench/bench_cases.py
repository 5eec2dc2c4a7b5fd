"""Case reports per second through the grid API over real HTTP, grid and component look-up included.

Run after `bin/cityops setup`:
  .venv/bin/python bench/bench_cases.py [--modes single batch] [--clients 4] [--server-workers 2] [--seconds 20]

Uses the benchmark database `cityops_bench` (bench/benchdb.py) and the demo city loaded there; if that city
has no unit grids yet, the grid layer of the demo (grids, components, inspectors, a year of cases) is added.
The server is `uvicorn cityops.asgi:application` as bin/cityops runs it (with --server-workers processes).
--clients processes each sign in as the demo inspector through the login form and send reports one after
another on one keep-alive connection, at addresses of the city, a third of them component classes (covers,
street lights) so the nearest-component search runs:
- single: `POST /api/grid/cases/` with an Idempotency-Key, one report per request (the tablet's way);
- batch:  `POST /api/grid/cases/batch/` with --batch reports per request, each with its key (the way of the
  12345 hotline system and of a queue's backlog).
Every report must come back 201. CPU per report is measured from /proc for the server processes, PostgreSQL
and the clients, so the figure can be read against the 2 cores the clients share with the server.
The reports are deleted afterwards. Target (issue 5): at least 500 reports/s on 2 cores.
"""

import argparse
import json
import multiprocessing as mp
import os
import random
import statistics
import time
import uuid
from pathlib import Path

from benchdb import prepare_database
from peers import servers

CATEGORIES = ["06010", "06012", "09009", "07001", "01002", "01037", "01003", "09006", "03005"]
KEY_PREFIX = "bench-"
TICK = os.sysconf("SC_CLK_TCK")


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


def cpu_seconds(pids) -> dict[int, float]:
    """CPU seconds (user + system) of each process still running."""
    seconds = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        seconds[pid] = (int(fields[11]) + int(fields[12])) / TICK
    return seconds


def used(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU used between two readings; a process that started in between counts from zero."""
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


def tree(root: int) -> list[int]:
    """`root` and its child processes (uvicorn's workers)."""
    pids = [root]
    for pid in pids:
        for task in Path(f"/proc/{pid}/task").iterdir():
            children = (task / "children").read_text().split()
            pids += [int(c) for c in children]
    return pids


def postgres_pids() -> list[int]:
    pids = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if (proc / "comm").read_text().strip() == "postgres":
                    pids.append(int(proc.name))
            except OSError:
                pass
    return pids


def client(args) -> tuple[int, list[float], float]:
    index, port, password, points, mode, batch, seconds, barrier = args
    rng = random.Random(index)  # noqa: S311 - test positions
    http = servers.KeepAlive(port)
    servers.sign_in(http, "inspector", password)

    def report() -> dict:
        x, y = points[rng.randrange(len(points))]
        return {
            "category_code": rng.choice(CATEGORIES),
            "description": "bench",
            "location": {"type": "Point", "coordinates": [x + rng.uniform(-1e-4, 1e-4), y]},
        }

    def send() -> int:
        if mode == "single":
            headers = {"Content-Type": "application/json", "Idempotency-Key": f"{KEY_PREFIX}{uuid.uuid4()}"}
            status, _, body = http.request("POST", "/api/grid/cases/", json.dumps(report()).encode(), headers)
            if status != 201:
                raise RuntimeError(f"{status} {body[:300]!r}")
            return 1
        reports = [{**report(), "idempotency_key": f"{KEY_PREFIX}{uuid.uuid4()}"} for _ in range(batch)]
        body = json.dumps({"reports": reports}).encode()
        status, _, answer = http.request("POST", "/api/grid/cases/batch/", body, {"Content-Type": "application/json"})
        if status != 200 or any(r["status"] != 201 for r in json.loads(answer)["results"]):
            raise RuntimeError(f"{status} {answer[:300]!r}")
        return batch

    for _ in range(3):  # warm-up: connections, caches, plans
        send()
    barrier.wait()
    latencies, filed = [], 0
    cpu = time.process_time()
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        started = time.perf_counter()
        filed += send()
        latencies.append(time.perf_counter() - started)
    return filed, latencies, time.process_time() - cpu


def run(mode: str, args, server, points, password) -> None:
    manager = mp.Manager()
    barrier = manager.Barrier(args.clients + 1)
    with mp.get_context("fork").Pool(args.clients) as pool:
        jobs = [
            (i, server.port, password, points, mode, args.batch, args.seconds, barrier) for i in range(args.clients)
        ]
        pending = pool.map_async(client, jobs)
        barrier.wait()
        before = cpu_seconds(tree(server.proc.pid)), cpu_seconds(postgres_pids())
        results = pending.get()
        after = cpu_seconds(tree(server.proc.pid)), cpu_seconds(postgres_pids())
    filed = sum(r[0] for r in results)
    latencies = sorted(x for r in results for x in r[1])
    per = {
        "server": used(before[0], after[0]) / filed * 1000,
        "PostgreSQL": used(before[1], after[1]) / filed * 1000,
        "clients": sum(r[2] for r in results) / filed * 1000,
    }
    unit = "request" if mode == "single" else f"batch of {args.batch}"
    print(
        f"{mode:>6s}: {filed:,} reports in {args.seconds:.0f} s = {filed / args.seconds:,.0f} reports/s "
        f"(target ≥ 500/s) | latency per {unit}: median {statistics.median(latencies) * 1000:.1f} ms, "
        f"p95 {latencies[int(len(latencies) * 0.95)] * 1000:.1f} ms"
    )
    print(
        "        CPU per report: "
        + ", ".join(f"{name} {ms:.2f} ms" for name, ms in per.items())
        + f" = {sum(per.values()):.2f} ms (2 cores give {2000 / sum(per.values()):,.0f} reports/s at that cost)"
    )


def cleanup() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        bench = "SELECT id FROM grid_case WHERE idempotency_key LIKE %s"
        cursor.execute(f"DELETE FROM grid_casetransition WHERE case_id IN ({bench})", [KEY_PREFIX + "%"])  # noqa: S608
        cursor.execute(f"DELETE FROM grid_casephoto WHERE case_id IN ({bench})", [KEY_PREFIX + "%"])  # noqa: S608
        cursor.execute("DELETE FROM grid_case WHERE idempotency_key LIKE %s", [KEY_PREFIX + "%"])
        return cursor.rowcount


def main(args) -> None:
    scale = ensure_grid_layer()
    from django.conf import settings
    from django.db import connection

    from gis.models import Address
    from grid.models import Component, UnitGrid

    points = [(p.x, p.y) for p in Address.objects.order_by("?").values_list("geom", flat=True)[:2000]]
    print(
        f"# case report bench: {scale} city, {UnitGrid.objects.count():,} unit grids, "
        f"{Component.objects.count():,} components; {mp.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; "
        f"{args.server_workers} server worker process(es), {args.clients} client processes"
    )
    connection.close()
    server = servers.start_cityops(workers=args.server_workers)
    try:
        for mode in args.modes:
            run(mode, args, server, points, settings.CITYOPS_DEMO_PASSWORD)
    finally:
        server.stop()
    print(f"removed {cleanup()} benchmark cases; load average now {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modes", nargs="+", default=["single", "batch"], choices=["single", "batch"])
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--server-workers", type=int, default=2)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=20)
    arguments = parser.parse_args()
    prepare_database()
    main(arguments)
