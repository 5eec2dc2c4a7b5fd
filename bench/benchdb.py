"""Shared set-up of the Django benchmarks: their own database `cityops_bench` on the project's server.

Importing this module points Django at that database (and a channel-layer prefix of its own), so a
benchmark never writes into the demo city; `use_database(name)` points it at a database of the benchmark's own
instead (data other benchmarks must not see); `prepare_database()` creates and migrates it, `setup_demo_city()`
also sets Django up and loads the demo city when the database is empty; `start()` runs a server of the platform
(uvicorn, the JT/T 808 ingest) on it.
"""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "platform"), str(ROOT)]
BASE_URL = os.environ.get("DATABASE_URL", "postgis://cityops@127.0.0.1:55432/cityops")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cityops.settings")
DB_NAME = ""


def use_database(name: str) -> None:
    """Point Django (before it is set up) at the database `name` on the project's server, with the channel-layer
    prefix of the same name."""
    global DB_NAME
    DB_NAME = name
    os.environ["DATABASE_URL"] = BASE_URL.rsplit("/", 1)[0] + "/" + name
    os.environ["CITYOPS_CHANNEL_PREFIX"] = name.replace("_", "-")


use_database("cityops_bench")


def prepare_database() -> None:
    """Create the bench database if it is missing, and migrate it."""
    import psycopg

    admin_url = BASE_URL.replace("postgis://", "postgresql://")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DB_NAME]).fetchone():
            conn.execute(f"CREATE DATABASE {DB_NAME}")
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, check=True, env=os.environ)


def setup_demo_city(scale: str, *, pool: bool = False) -> None:
    """The bench database migrated, Django set up on it and the demo city of `scale` in it (loaded if it is empty).

    `pool`: Django's connection pool, as bin/cityops runs the web server (for benchmarks that start one)."""
    prepare_database()
    if pool:
        os.environ.setdefault("CITYOPS_DB_POOL", "1")
    import django

    django.setup()
    from core.management.commands.load_demo_city import load_demo_city
    from core.models import AdminArea

    if not AdminArea.objects.exists():
        print(f"loading the {scale} demo city into {DB_NAME} …")
        load_demo_city(scale)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(args: list[str], port: int, *, pool: bool = False, log: Path | None = None) -> subprocess.Popen:
    """Run `args` (a server of the platform) from the project root on the bench database; returned once it listens
    on `port`. `pool`: Django's connection pool, as bin/cityops runs the web; `log`: its output appended there."""
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'platform'}:{ROOT}", **({"CITYOPS_DB_POOL": "1"} if pool else {})}
    output = open(log, "ab") if log else None  # noqa: SIM115 - the server writes to it for as long as it runs
    proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT if log else None)
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return proc
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                raise SystemExit(f"{' '.join(args[1:4])} did not start{f'; see {log}' if log else ''}") from None
            time.sleep(0.2)
