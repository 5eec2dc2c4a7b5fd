"""Soak: 200 consoles, 500 vehicles at 1 Hz and 5 incidents/s for 10 minutes against one web process.

Run:  .venv/bin/python bench/soak_consoles.py [--consoles 200] [--terminals 500] [--incidents 5] [--seconds 600]

Real processes on loopback against the bench database, as bench_ws_latency.py starts them (`run_gps_ingest` and
one uvicorn web process). Terminals report over JT/T 808 once a second; incidents are created on
POST /api/dispatch/incidents/ by a signed-in desk; every console (one operator account each) subscribes to
vehicles and incidents, and one in ten measures position delays. Printed:
- delivery delay of positions (frame sent -> console) and of incident events (POST sent -> console), p50/p99,
  against the 500 ms goal;
- consoles dropped (a closed socket) and incident events a console never got;
- the web process's resident memory every 30 s, and its drift from the end of the warm-up (first fifth) to the
  end (goal: flat, within ±10 %).
The load runs in separate processes (terminals, consoles in two groups, the incident desk) so the bench's own
Python does not queue behind the platform's on the same two cores.
"""

import argparse
import asyncio
import http.client
import json
import multiprocessing as mp
import os
import platform
import secrets
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_ws_latency as latency  # same directory: its set-up, its terminals, the bench database
import benchdb
import web_session

GOAL_MS = 500
POSITIONS = b'{"op": "positions"'  # core.consumers' position batches, as sent
POSITION_SAMPLE = 10  # every tenth console measures position delays
DESK_PASSWORD = secrets.token_urlsafe(16)  # this run's


def prepare(terminals: int, consoles: int) -> tuple[dict[str, int], list[str], str]:
    """Units from bench_ws_latency; one signed-in operator per console (as on a real shift: one person's
    sockets are capped, settings.CITYOPS_WS_PER_USER), a desk account and an incident type for the calls."""
    units, _ = latency.prepare(terminals)
    from django.test import Client

    from core.models import User
    from dispatch.models import Incident, IncidentType

    # Earlier runs' calls are still open in the consoles' area: every console's snapshot would carry them all.
    Incident.objects.filter(description__startswith="soak-").delete()
    cookies = []
    for n in range(consoles):
        operator, _ = User.objects.get_or_create(username=f"soak-console-{n:03d}", defaults={"is_superuser": True})
        client = Client()
        client.force_login(operator)
        cookies.append(client.cookies["sessionid"].value)

    desk, _ = User.objects.get_or_create(username="soak-desk", defaults={"is_superuser": True})
    desk.set_password(DESK_PASSWORD)
    desk.save()
    incident_type = IncidentType.objects.filter(active=True).values_list("code", flat=True).first()
    if incident_type is None:
        raise SystemExit("the bench database has no incident types")
    return units, cookies, incident_type


def incident_desk(port: int, headers: dict, incident_type: str, rate: float, until: float, out) -> None:
    """Creates incidents at `rate` per second; records when each POST was sent (by the description's marker)."""
    headers = {**headers, "Content-Type": "application/json"}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    sent, refused, n = {}, 0, 0
    next_at = time.time()
    while time.time() < until:
        n += 1
        marker = f"soak-{os.getpid()}-{n}"
        body = {"type_code": incident_type, "description": marker, "confirm_new": True,
                "location": {"type": "Point", "coordinates": [114.0 + (n % 100) * 1e-4, 22.51]}}  # fmt: skip
        sent[marker] = time.time()
        conn.request("POST", "/api/dispatch/incidents/", json.dumps(body), headers)
        response = conn.getresponse()
        answer = response.read()
        if response.status != 201:
            refused += 1
            if refused == 1:
                print(f"incident refused: {response.status} {answer[:300]!r}", flush=True)
        next_at += 1 / rate
        time.sleep(max(0.0, next_at - time.time()))
    out.put(("desk", sent, refused))


async def console(url: str, cookie: str, until: float, record: dict, measure_positions: bool) -> None:
    """One console; only some measure positions: parsing every console's 500 positions a second would make the
    bench's own Python, on the same two cores, the bottleneck (a browser decodes on its own machine)."""
    headers = {"Cookie": f"sessionid={cookie}", "Origin": url.replace("ws", "http", 1).split("/ws/")[0]}
    try:
        ws = await latency.websockets.connect(url, additional_headers=headers, max_size=2**24, open_timeout=120)
    except (OSError, TimeoutError, latency.websockets.InvalidHandshake) as exc:
        record["refused"] = f"{type(exc).__name__}: {exc}"
        return
    async with ws:
        await ws.send(json.dumps({"op": "subscribe", "topics": ["vehicles", "incidents"], "bbox": latency.BBOX}))
        try:
            while time.time() < until:
                try:
                    raw = await asyncio.wait_for(ws.recv(decode=False), 1.0)
                except TimeoutError:
                    continue
                now = time.time()
                if not measure_positions and raw.startswith(POSITIONS):
                    continue
                message = json.loads(raw)
                if message.get("op") == "positions":
                    for feature in message["features"]:
                        lon, lat = feature["geometry"]["coordinates"]
                        record["positions"].append((feature["id"], round(lon, 6), round(lat, 6), now))
                elif message.get("topic") == "incidents" and message.get("type") == "incident.created":
                    record["incidents"].append((message["data"].get("properties", {}).get("description"), now))
        except latency.websockets.ConnectionClosed:
            record["dropped"] = True


def console_group(url: str, cookies: list[str], until: float, out) -> None:
    records = [{"positions": [], "incidents": [], "dropped": False, "refused": None} for _ in cookies]

    async def run():
        tasks = []
        for wave in range(0, len(cookies), 20):  # connect in waves, as consoles come up over a shift start
            tasks += [
                asyncio.create_task(console(url, cookie, until, record, n % POSITION_SAMPLE == 0))
                for n, cookie, record in zip(
                    range(wave, wave + 20), cookies[wave : wave + 20], records[wave : wave + 20], strict=False
                )
            ]
            await asyncio.sleep(1)
        await asyncio.gather(*tasks)

    asyncio.run(run())
    out.put(("consoles", records))


def terminals(port: int, units: dict[str, int], until: float, out) -> None:
    sent: dict = {}

    async def run():
        go = asyncio.Event()
        tasks = [
            asyncio.create_task(latency.terminal(port, phone, uid, n, sent, until_perf, go))
            for n, (phone, uid) in enumerate(units.items())
        ]
        go.set()
        await asyncio.gather(*tasks)

    # bench_ws_latency's terminal keeps perf_counter times: converted to wall time at the end (one clock)
    until_perf = time.perf_counter() + (until - time.time())
    offset = time.time() - time.perf_counter()
    asyncio.run(run())
    out.put(("terminals", {key: at + offset for key, at in sent.items()}))


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--consoles", type=int, default=200)
    parser.add_argument("--terminals", type=int, default=500)
    parser.add_argument("--incidents", type=float, default=5)
    parser.add_argument("--seconds", type=float, default=600)
    args = parser.parse_args()
    units, cookies, incident_type = prepare(args.terminals, args.consoles)
    ingest_port, web_port = benchdb.free_port(), benchdb.free_port()
    python = sys.executable
    ingest = benchdb.start(
        [python, "manage.py", "run_gps_ingest", "--host", "127.0.0.1", "--port", str(ingest_port)],
        ingest_port,
        pool=True,
    )
    web = benchdb.start(
        [python, "-m", "uvicorn", "cityops.asgi:application", "--host", "127.0.0.1", "--port", str(web_port),
         "--log-level", "warning", *latency.WEB_SERVER_OPTIONS],
        web_port, pool=True,
    )  # fmt: skip
    # the desk signs in before the load: under it, the login page may take longer than a desk waits
    desk = web_session.sign_in(web_port, "soak-desk", DESK_PASSWORD)
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    url = f"ws://127.0.0.1:{web_port}/ws/ops/"
    connect_s = 15 + args.consoles / 20  # the consoles' waves
    start = time.time() + connect_s
    until = start + args.seconds
    groups = [cookies[: args.consoles // 2], cookies[args.consoles // 2 :]]
    workers = [ctx.Process(target=console_group, args=(url, group, until + 3, out)) for group in groups]
    for worker in workers:
        worker.start()
    time.sleep(connect_s)
    workers += [
        ctx.Process(target=terminals, args=(ingest_port, units, until, out)),
        ctx.Process(target=incident_desk, args=(web_port, desk, incident_type, args.incidents, until, out)),
    ]
    for worker in workers[2:]:
        worker.start()
    memory = []
    try:
        while time.time() < until:
            memory.append((time.time() - start, rss_kib(web.pid)))
            time.sleep(30)
        memory.append((time.time() - start, rss_kib(web.pid)))
        results = {"consoles": []}
        for _ in workers:
            item = out.get(timeout=300)
            if item[0] == "consoles":
                results["consoles"] += item[1]
            else:
                results[item[0]] = item[1:]
        for worker in workers:
            worker.join()
    finally:
        for proc in (ingest, web):
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:  # uvicorn waiting on sockets the consoles left half-closed
                proc.kill()
    report(args, results, memory)


def report(args, results: dict, memory: list[tuple[float, int]]) -> None:
    (sent_positions,) = results["terminals"]
    sent_incidents, refused = results["desk"]
    records = results["consoles"]
    position_ms, incident_ms, missed = [], [], 0
    for record in records:
        for unit, lon, lat, at in record["positions"]:
            sent = sent_positions.get((unit, lon, lat))
            if sent is not None:
                position_ms.append((at - sent) * 1000)
        got = {marker: at for marker, at in record["incidents"]}
        for marker, sent in sent_incidents.items():
            if marker in got:
                incident_ms.append((got[marker] - sent) * 1000)
            else:
                missed += 1
    print(f"# console soak: {os.cpu_count()} CPUs, Python {platform.python_version()}, one web process")
    print(
        f"{args.consoles} consoles, {args.terminals} terminals at 1 Hz ({len(sent_positions)} positions), "
        f"{len(sent_incidents)} incidents at {args.incidents}/s ({refused} refused), {args.seconds:.0f} s"
    )
    for name, values in (("position", position_ms), ("incident event", incident_ms)):
        if not values:
            print(f"{name}: nothing delivered")
            continue
        ms = np.array(values)
        p99 = float(np.percentile(ms, 99))
        print(
            f"{name} delivery: {len(ms)} measured, p50 {np.median(ms):.0f} ms, p90 {np.percentile(ms, 90):.0f} ms, "
            f"p99 {p99:.0f} ms, max {ms.max():.0f} ms ({'OK' if p99 < GOAL_MS else 'OVER'} the {GOAL_MS} ms goal)"
        )
    per_console = sorted(len(r["incidents"]) for r in records)
    last = max((at for r in records for _, at in r["incidents"]), default=0.0)
    first_sent = min(sent_incidents.values(), default=0.0)
    print(f"incident events per console: min {per_console[0]}, median {per_console[len(per_console) // 2]}, "
          f"max {per_console[-1]} of {len(sent_incidents)}; the last one arrived {last - first_sent:.0f} s after "
          f"the first call")  # fmt: skip
    not_connected = [r["refused"] for r in records if r["refused"]]
    if not_connected:
        print(f"consoles refused at connect: {len(not_connected)} (first: {not_connected[0]})")
    print(f"consoles dropped: {sum(r['dropped'] for r in records)} of {len(records)}; "
          f"incident events a console never got: {missed}")  # fmt: skip
    print("web RSS (MiB) every 30 s: " + " ".join(f"{kib / 1024:.0f}" for _, kib in memory))
    warm = next((kib for t, kib in memory if t >= args.seconds / 5), memory[0][1])
    drift = (memory[-1][1] - warm) / warm * 100
    print(f"web RSS after warm-up {warm / 1024:.0f} MiB -> end {memory[-1][1] / 1024:.0f} MiB: {drift:+.1f} % "
          f"({'flat' if abs(drift) <= 10 else 'NOT flat'} within ±10 %)")  # fmt: skip


if __name__ == "__main__":
    main()
