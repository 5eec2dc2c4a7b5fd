"""Notification fan-out: one notification to 1,000 users over in-app, SMS and e-mail, delivered by a real jobs
worker to the SMPP gateway simulator and an SMTP server process (aiosmtpd).

Run after `bin/cityops setup`:
  .venv/bin/python bench/bench_notify_fanout.py [--recipients 1000] [--channels in_app sms email]

Uses a database of its own, `cityops_bench_notify` (created and migrated here; its worker must not take other
benchmarks' jobs), with the bench's recipients only. Prints the time `notify.services.send()` takes to queue it
(what a request waits), the time until every delivery of each channel is sent (SMS: delivered, by the gateway's
receipt), and deliveries per second overall. Every recipient must have received every channel's message.
"""

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "platform"), str(ROOT)]
BASE_URL = os.environ.get("DATABASE_URL", "postgis://cityops@127.0.0.1:55432/cityops")
DATABASE = "cityops_bench_notify"
os.environ["DATABASE_URL"] = BASE_URL.rsplit("/", 1)[0] + f"/{DATABASE}"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cityops.settings")
os.environ["CITYOPS_CHANNEL_PREFIX"] = "cityops-bench-notify"
DONE = {"in_app": "delivered", "sms": "delivered", "email": "sent"}


def prepare_database() -> None:
    import psycopg

    with psycopg.connect(BASE_URL.replace("postgis://", "postgresql://"), autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE]).fetchone():
            conn.execute(f"CREATE DATABASE {DATABASE}")
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, check=True, env=os.environ)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=1000)
    parser.add_argument("--channels", nargs="+", default=["in_app", "sms", "email"], choices=sorted(DONE))
    args = parser.parse_args()

    prepare_database()
    from tests.notify import servers  # the tests' servers: the simulator and an SMTP server process

    sim = servers.gateway()
    smtp = servers.SmtpServer()
    smtp.start()
    os.environ.update(servers.as_env({**servers.gateway_settings(sim), **smtp.settings()}))
    import django

    django.setup()
    from django.contrib.auth.hashers import make_password
    from django.db import connection

    from core.models import User
    from notify import services
    from notify.models import Delivery

    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM procrastinate_jobs")
    User.objects.filter(username__startswith="bench-recipient").delete()
    password = make_password(None)
    recipients = User.objects.bulk_create(
        User(username=f"bench-recipient{i:05d}", password=password, email=f"b{i:05d}@example.org",
             phone=f"1370{i:07d}")
        for i in range(args.recipients)
    )  # fmt: skip

    log = open(ROOT / "var" / "log" / "bench-notify-worker.log", "ab")  # noqa: SIM115
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "procrastinate", "worker"], cwd=ROOT, env=os.environ, stdout=log,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        time.sleep(3)  # the worker up and listening before the clock starts
        started = time.perf_counter()
        notification = services.send(
            sender=None, channels=args.channels, users=recipients, subject="全员通知",
            body="演练：城市燃气管道泄漏，启动Ⅲ级应急响应，请各单位立即确认到岗。",
        )  # fmt: skip
        queued = time.perf_counter() - started
        finished: dict[str, float] = {}
        deadline = time.monotonic() + 600
        while len(finished) < len(args.channels):
            assert time.monotonic() < deadline, "not all delivered within 10 minutes"
            for channel in args.channels:
                if (
                    channel not in finished
                    and not Delivery.objects.filter(notification=notification, channel=channel)
                    .exclude(state=DONE[channel])
                    .exists()
                ):
                    finished[channel] = time.perf_counter() - started
            time.sleep(0.05)
    finally:
        worker.terminate()
        worker.wait(20)
        log.close()
    total = max(finished.values())
    deliveries = args.recipients * len(args.channels)
    if "sms" in args.channels:
        assert {m.destination for m in sim.received} == {u.phone for u in recipients}
    if "email" in args.channels:
        assert {m.to for m in smtp.mails()} == {u.email for u in recipients}
    smtp.stop()
    sim.stop()
    print(f"recipients: {args.recipients}, channels: {', '.join(args.channels)} ({deliveries} deliveries)")
    print(f"queue time (services.send, what a request waits): {queued * 1000:.0f} ms")
    for channel in args.channels:
        print(f"  all {channel} {DONE[channel]}: {finished[channel]:.2f} s after send()")
    print(f"time to all sent: {total:.2f} s → {deliveries / total:.0f} deliveries/s")
    if "sms" in args.channels:
        print(f"SMS seen by the gateway: {len(sim.received)} ({len(sim.received) - args.recipients} duplicates)")
    User.objects.filter(username__startswith="bench-recipient").delete()


if __name__ == "__main__":
    main()
