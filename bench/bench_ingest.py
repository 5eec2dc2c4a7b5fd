"""JT/T 808 ingest into PostGIS: sustained positions/s committed and ack latency (target ≥ 5,000/s on 2 cores).

Run after `bin/cityops setup`:  .venv/bin/python bench/bench_ingest.py [--terminals 200] [--window 8] [--seconds 15]
Starts `manage.py run_gps_ingest` as its own process on loopback against its own database `cityops_bench`
(created and migrated here), then N simulated terminals register, authenticate and send 0x0200 frames as
fast as acknowledgements allow, each keeping ``--window`` frames in flight. An ack means committed, so
acks/s is committed positions/s; the track table is counted at the end to confirm it. Bounded: ≤ 60 s.
"""

import argparse
import asyncio
import os
import platform
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta

from benchdb import free_port, prepare_database, start

os.environ.setdefault("CITYOPS_LOG_LEVEL", "WARNING")

from dispatch import jt808

PHONE_BASE = 18_800_000_000


def prepare_terminals(terminals: int) -> None:
    prepare_database()
    import django

    django.setup()
    from django.db import connection

    from core.models import Organisation
    from dispatch.models import Vehicle

    agency, _ = Organisation.objects.get_or_create(
        code="BENCH-119", defaults={"name": "bench fire", "kind": "agency", "agency": "119"}
    )
    for n in range(terminals):
        Vehicle.objects.get_or_create(
            jt808_phone=str(PHONE_BASE + n),
            defaults={"call_sign": f"BENCH-{n:05d}", "kind": "fire_engine", "agency": agency},
        )
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE dispatch_track")
    connection.close()


async def terminal(n: int, port: int, window: int, until: float, latencies: list[float], counts: list[int]):
    phone = str(PHONE_BASE + n)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    splitter = jt808.FrameSplitter()
    inbox: list[bytes] = []

    async def receive() -> jt808.Message:
        while not inbox:
            data = await reader.read(65536)
            if not data:
                raise EOFError
            inbox.extend(splitter.feed(data))
        return jt808.decode_frame(inbox.pop(0))

    serial = 0

    def frame(body) -> bytes:
        nonlocal serial
        serial += 1
        return jt808.encode_frame(jt808.Header(body.MSG_ID, phone, serial), body)

    writer.write(frame(jt808.Register(44, 300, "BENCH", "B1", f"{n:07d}", 1, f"粤B{n:05d}")))
    code = (await receive()).body.auth_code
    writer.write(frame(jt808.Authenticate(code)))
    await receive()
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
    sent_at: dict[int, float] = {}
    i = 0

    def send_one() -> None:
        nonlocal i
        i += 1
        loc = jt808.Location(
            jt808.Alarm(0),
            jt808.Status.FIXED | jt808.Status.GPS,
            22.5 + n * 1e-4,
            114.0 + i * 1e-5,
            10,
            40.0,
            i % 360,
            start - timedelta(seconds=i),  # one fix time per frame: (terminal, fix_time) is the key
        )
        data = frame(loc)
        sent_at[serial] = time.perf_counter()
        writer.write(data)

    for _ in range(window):
        send_one()
    while sent_at:
        ack = (await receive()).body
        now = time.perf_counter()
        latencies.append(now - sent_at.pop(ack.reply_serial))
        counts[0] += 1
        if now < until:
            send_one()
    writer.close()


async def run(args, port: int) -> tuple[float, list[float], int]:
    latencies: list[float] = []
    counts = [0]
    started = time.perf_counter()
    until = started + args.seconds
    await asyncio.gather(*(terminal(n, port, args.window, until, latencies, counts) for n in range(args.terminals)))
    return time.perf_counter() - started, latencies, counts[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--terminals", type=int, default=200)
    parser.add_argument("--window", type=int, default=8, help="frames in flight per terminal")
    parser.add_argument("--seconds", type=float, default=15.0)
    args = parser.parse_args()
    args.seconds = min(args.seconds, 45.0)  # + set-up stays under a minute
    prepare_terminals(args.terminals)
    port = free_port()
    server = start([sys.executable, "manage.py", "run_gps_ingest", "--host", "127.0.0.1", "--port", str(port)], port)
    try:
        elapsed, latencies, acked = asyncio.run(run(args, port))
    finally:
        server.terminate()
        server.wait(30)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM dispatch_track")
        rows = cursor.fetchone()[0]
    latencies.sort()
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs; Python {platform.python_version()}")
    print(f"{args.terminals} terminals x {args.window} frames in flight, {elapsed:.1f} s on loopback")
    print(f"acknowledged (= committed) positions: {acked}  -> {acked / elapsed:,.0f} positions/s")
    print(f"rows in the track table: {rows} (every ack has its row: {rows >= acked})")
    print(
        f"ack latency: p50 {statistics.median(latencies) * 1000:.1f} ms, "
        f"p99 {latencies[int(len(latencies) * 0.99)] * 1000:.1f} ms, max {latencies[-1] * 1000:.1f} ms"
    )
    print(f"target >= 5,000 positions/s: {'met' if acked / elapsed >= 5000 else 'NOT met'}")


if __name__ == "__main__":
    main()
