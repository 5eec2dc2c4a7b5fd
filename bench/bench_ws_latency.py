"""GPS frame to console: delay from a JT/T 808 position frame sent to its delivery on /ws/ops/, 200 consoles.

Run:  .venv/bin/python bench/bench_ws_latency.py [--consoles 200] [--terminals 100] [--seconds 30]

Real processes on loopback against the bench database: `manage.py run_gps_ingest` and uvicorn (the ASGI
app with the Redis channel layer). N terminals register, authenticate and report once a second each (the
rate a real terminal reports at; the platform coalesces faster ones to 1 Hz per vehicle); M consoles, signed
in with a session cookie, subscribe to "vehicles". Every delivered position is matched to the moment its
frame left the terminal (same process, one clock), so the delay covers the ingest batch and commit, the
coalescing tick, the channel layer and the consumer. Target: p99 under 500 ms.
"""

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta

import benchdb
import django
import numpy as np
import websockets

os.environ.setdefault("CITYOPS_LOG_LEVEL", "WARNING")
PHONE_BASE = 18_900_000_000
# As bin/cityops starts the web server.
WEB_SERVER_OPTIONS = ["--ws", "websockets", "--ws-per-message-deflate", "false"]
# The consoles watch the area the terminals drive in (other benches leave units elsewhere in this database).
BBOX = [113.999, 22.499, 114.02, 22.52]


def prepare(terminals: int) -> tuple[dict[str, int], str]:
    """Terminals' units and a city-wide console account; returns phone → unit id and a session cookie."""
    benchdb.prepare_database()
    django.setup()
    import redis
    from django.conf import settings
    from django.test import Client

    from dispatch import device_security

    client = redis.Redis.from_url(settings.REDIS_URL)  # an earlier run's authentication back-offs are forgotten
    for key in client.scan_iter(f"{device_security.key_prefix()}:*"):
        client.delete(key)

    from core.models import Organisation, User
    from dispatch.models import Vehicle

    agency, _ = Organisation.objects.get_or_create(
        code="BENCH-110", defaults={"name": "bench police", "kind": "agency", "agency": "110"}
    )
    units = {}
    for n in range(terminals):
        unit, _ = Vehicle.objects.update_or_create(
            jt808_phone=str(PHONE_BASE + n),
            # released (empty auth code), as an administrator does, so each run's terminals register afresh
            defaults={
                "call_sign": f"WSBENCH-{n:04d}",
                "kind": "police_car",
                "agency": agency,
                "last_fix_at": None,
                "jt808_auth_code": "",
            },
        )
        units[unit.jt808_phone] = unit.pk
    user, _ = User.objects.get_or_create(username="bench-console", defaults={"is_superuser": True})
    client = Client()
    client.force_login(user)
    return units, client.cookies["sessionid"].value


async def console(url: str, cookie: str, sent: dict, delays: list[float], ready: asyncio.Event, until: float):
    headers = {"Cookie": f"sessionid={cookie}", "Origin": url.replace("ws", "http", 1).split("/ws/")[0]}
    async with websockets.connect(url, additional_headers=headers, max_size=2**24, open_timeout=120) as ws:
        await ws.send(json.dumps({"op": "subscribe", "topics": ["vehicles"], "bbox": BBOX}))
        while json.loads(await ws.recv()).get("op") != "subscribed":
            pass
        ready.set()
        while time.perf_counter() < until:
            try:
                message = json.loads(await asyncio.wait_for(ws.recv(), 1.0))
            except TimeoutError:
                continue
            now = time.perf_counter()
            if message.get("op") != "positions":
                continue
            for feature in message["features"]:
                lon, lat = feature["geometry"]["coordinates"]
                at = sent.get((feature["id"], round(lon, 6), round(lat, 6)))
                if at is not None:
                    delays.append(now - at)


async def terminal(port: int, phone: str, unit_id: int, n: int, sent: dict, until: float, go: asyncio.Event):
    from dispatch import jt808

    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    splitter, inbox, serial = jt808.FrameSplitter(), [], 0

    async def request(body) -> jt808.Message:
        nonlocal serial
        serial += 1
        writer.write(jt808.encode_frame(jt808.Header(body.MSG_ID, phone, serial), body))
        while not inbox:
            inbox.extend(splitter.feed(await reader.read(65536)))
        return jt808.decode_frame(inbox.pop(0))

    code = (await request(jt808.Register(44, 300, "BENCH", "B1", f"{n:07d}", 1, ""))).body.auth_code
    await request(jt808.Authenticate(code))
    await go.wait()
    await asyncio.sleep(n / 100 % 1.0)  # spread the terminals over the second
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    i = 0
    while time.perf_counter() < until:
        i += 1
        lat, lon = round(22.5 + n * 1e-4, 6), round(114.0 + i * 1e-5, 6)
        fix = jt808.Location(
            jt808.Alarm(0), jt808.Status.FIXED | jt808.Status.GPS, lat, lon, 10, 40.0, 90, base + timedelta(seconds=i)
        )
        sent[(unit_id, lon, lat)] = time.perf_counter()
        await request(fix)  # waits for the ack (committed) before the next second
        await asyncio.sleep(max(0.0, 1.0 - (time.perf_counter() - sent[(unit_id, lon, lat)])))
    writer.close()


async def run(args, units: dict[str, int], cookie: str, ingest_port: int, web_port: int):
    sent: dict = {}
    delays: list[float] = []
    url = f"ws://127.0.0.1:{web_port}/ws/ops/"
    until = time.perf_counter() + 3600
    readies = [asyncio.Event() for _ in range(args.consoles)]
    consoles = []
    for wave in range(0, args.consoles, 20):  # connect in waves, as consoles come up over a shift start
        for ready in readies[wave : wave + 20]:
            consoles.append(asyncio.create_task(console(url, cookie, sent, delays, ready, until)))
        await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies[wave : wave + 20])), 120)
    go = asyncio.Event()
    stop_at = time.perf_counter() + args.seconds
    terminals = [
        asyncio.create_task(terminal(ingest_port, phone, uid, n, sent, stop_at, go))
        for n, (phone, uid) in enumerate(units.items())
    ]
    go.set()
    await asyncio.gather(*terminals)
    await asyncio.sleep(2)  # the last positions reach the consoles
    for task in consoles:
        task.cancel()
    await asyncio.gather(*consoles, return_exceptions=True)
    return sent, delays


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--consoles", type=int, default=200)
    parser.add_argument("--terminals", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    units, cookie = prepare(args.terminals)
    ingest_port, web_port = benchdb.free_port(), benchdb.free_port()
    python = sys.executable
    ingest_cmd = [python, "manage.py", "run_gps_ingest", "--host", "127.0.0.1", "--port", str(ingest_port)]
    ingest = benchdb.start(ingest_cmd, ingest_port, pool=True)
    web = benchdb.start(
        [python, "-m", "uvicorn", "cityops.asgi:application", "--host", "127.0.0.1", "--port", str(web_port),
         "--log-level", "warning", *WEB_SERVER_OPTIONS],
        web_port, pool=True,
    )  # fmt: skip
    try:
        sent, delays = asyncio.run(run(args, units, cookie, ingest_port, web_port))
    finally:
        for proc in (ingest, web):
            proc.terminate()
            proc.wait(30)
    print(f"# WebSocket delivery bench: {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print(f"{args.terminals} JT/T 808 terminals at 1 Hz for {args.seconds:.0f} s -> {len(sent)} positions sent; "
          f"{args.consoles} consoles connected")  # fmt: skip
    if not delays:
        raise SystemExit("no position reached a console")
    ms = np.array(delays) * 1000
    p99 = float(np.percentile(ms, 99))
    print(
        f"deliveries measured: {len(ms)} ({len(ms) / args.consoles:.0f} per console); frame sent -> console: "
        f"p50 {statistics.median(ms):.0f} ms, p90 {np.percentile(ms, 90):.0f} ms, p99 {p99:.0f} ms, "
        f"max {ms.max():.0f} ms (target p99 < 500 ms: {'OK' if p99 < 500 else 'OVER TARGET'})"
    )


if __name__ == "__main__":
    main()
