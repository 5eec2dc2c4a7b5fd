"""JT/T 808 codec throughput on one core: is decoding ever the ingest bottleneck (target ≥ 5,000 positions/s)?

Run:  .venv/bin/python bench/bench_jt808.py [--repeat 5] [--frames 2000]
Measures, best of ``--repeat`` runs (the best run is the least disturbed by other load on the machine):
  * decode of single 0x0200 frames (positions/s), alone and behind FrameSplitter on a TCP-like byte stream;
  * decode of 0x0704 batches of 10 positions (positions/s);
  * encode of 0x8001 platform responses, the per-message acknowledgement (responses/s).
No database, no network: pure codec cost.
"""

import argparse
import platform
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dispatch import jt808  # noqa: E402

BATCH_SIZE = 10
READ_SIZE = 4096  # bytes per simulated socket read


def make_location(rng: random.Random, when: datetime) -> jt808.Location:
    """A realistic report: Shenzhen, moving, mileage/signal/satellites plus two vendor items."""
    return jt808.Location(
        alarm=jt808.Alarm(0),
        status=jt808.Status.ACC_ON | jt808.Status.FIXED | jt808.Status.GPS | jt808.Status.BEIDOU,
        latitude=round(rng.uniform(22.45, 22.85), 6),
        longitude=round(rng.uniform(113.75, 114.60), 6),
        altitude=rng.randint(0, 200),
        speed_kmh=rng.randint(0, 900) / 10,
        direction=rng.randint(0, 359),
        time=when,
        mileage_km=rng.randint(0, 10_000_000) / 10,
        signal=rng.randint(0, 31),
        satellites=rng.randint(4, 24),
        extras=((0x25, b"\x00\x00\x00\x00"), (0x2B, rng.randbytes(4))),
    )


def make_frames(count: int) -> tuple[list[bytes], list[bytes], list[jt808.Header]]:
    rng = random.Random(808)  # noqa: S311 - reproducible test data, not security
    start = datetime(2026, 5, 1, tzinfo=UTC)
    singles, batches, headers = [], [], []
    for i in range(count):
        header = jt808.Header(
            jt808.MsgId.LOCATION,
            str(13800000000 + i % 2000),
            i & 0xFFFF,
            version=1 if i % 2 else None,  # both header forms
        )
        headers.append(header)
        singles.append(jt808.encode_frame(header, make_location(rng, start + timedelta(seconds=i))))
        items = tuple(make_location(rng, start + timedelta(seconds=i * BATCH_SIZE + k)) for k in range(BATCH_SIZE))
        batch_header = jt808.Header(jt808.MsgId.LOCATION_BATCH, header.phone, header.serial, header.version)
        batches.append(jt808.encode_frame(batch_header, jt808.LocationBatch(jt808.BatchType.BACKFILL, items)))
    return singles, batches, headers


def best_rate(run, units: int, repeat: int) -> float:
    """Units per second of the fastest of ``repeat`` runs."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - t0)
    return units / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=2000, help="distinct frames per run")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    singles, batches, headers = make_frames(args.frames)
    stream = b"".join(singles)
    reads = [stream[i : i + READ_SIZE] for i in range(0, len(stream), READ_SIZE)]
    decode = jt808.decode_frame

    def decode_singles():
        for frame in singles:
            decode(frame)

    def split_and_decode():
        splitter = jt808.FrameSplitter()
        n = 0
        for chunk in reads:
            for frame in splitter.feed(chunk):
                decode(frame)
                n += 1
        assert n == len(singles)

    def decode_batches():
        for frame in batches:
            decode(frame)

    def encode_acks():
        response = jt808.platform_response
        for serial, header in enumerate(headers):
            response(header, serial & 0xFFFF)

    figures = [
        ("0x0200 decode (frame → Location)", best_rate(decode_singles, len(singles), args.repeat), "positions/s"),
        ("0x0200 split + decode (4 KiB reads)", best_rate(split_and_decode, len(singles), args.repeat), "positions/s"),
        (
            f"0x0704 decode ({BATCH_SIZE} per batch)",
            best_rate(decode_batches, len(batches) * BATCH_SIZE, args.repeat),
            "positions/s",
        ),
        ("0x8001 encode (platform_response)", best_rate(encode_acks, len(headers), args.repeat), "responses/s"),
    ]
    print(f"JT/T 808 codec, one core, Python {platform.python_version()} on {platform.machine()}")
    print(f"{args.frames} frames per run (half 2013, half 2019 headers), best of {args.repeat} runs")
    single_size = len(stream) / len(singles)
    batch_size = sum(map(len, batches)) / len(batches)
    print(f"mean frame size: 0x0200 {single_size:.0f} B, 0x0704 {batch_size:.0f} B")
    for label, rate, unit in figures:
        print(f"  {label:<40} {rate:>12,.0f} {unit}  ({1e6 / rate:.1f} µs each)")
    print(f"  target: ≥ 5,000 positions/s → decoding uses {5000 / figures[1][1]:.1%} of one core at that rate")


if __name__ == "__main__":
    main()
