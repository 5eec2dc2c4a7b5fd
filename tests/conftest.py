"""Shared fixtures: the real PostGIS test database with the small demo city, demo users, a real ASGI server.

The test command (bin/cityops test) starts PostgreSQL+PostGIS and Redis; nothing here is mocked.
"""

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.test import override_settings
from rest_framework.test import APIClient

from . import demo_snapshot

ROOT = Path(__file__).resolve().parents[1]
# Each run gets its own channel-layer prefix, so parallel runs on one Redis never see each other.
os.environ.setdefault("CITYOPS_CHANNEL_PREFIX", f"cityops-test-{uuid.uuid4().hex[:8]}")
# pytest-django read the settings before this file: the prefix must reach them too, not only the servers
# the tests start, or a running demo fleet's positions arrive in the tests.
settings.CHANNEL_LAYERS["default"]["CONFIG"]["prefix"] = os.environ["CITYOPS_CHANNEL_PREFIX"]


def _load_small_city():
    from core.management.commands.load_demo_city import load_demo_city
    from core.models import AdminArea

    if not AdminArea.objects.exists():
        if demo_snapshot.taken():
            demo_snapshot.restore()
        else:
            load_demo_city("small")


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """The test database starts with the small demo city (for tests that roll back), and keeps a copy of it
    to put back quickly after a transactional test flushed it.

    pytest-django creates the test database only when a collected test has a `django_db` mark or a db fixture;
    browser tests have neither (their server is another process), so a run of only those would have loaded the
    city into, and tested against, the real database. The test database is created here in that case."""
    from django.db import connection
    from django.test.utils import setup_databases, teardown_databases

    with django_db_blocker.unblock():
        own = None
        if connection.settings_dict["NAME"] != connection.creation._get_test_db_name():
            own = setup_databases(verbosity=0, interactive=False, aliases={"default"})
        _load_small_city()
        demo_snapshot.take()
    yield
    with django_db_blocker.unblock():
        # Connections that outlive their owner (the browser tests' loop has connection objects of its own; a
        # server process's sessions end a moment after it does) would keep the test database from being dropped.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        if own is not None:
            teardown_databases(own, verbosity=0)


@pytest.fixture(scope="session", autouse=True)
def _static_files_found_per_request():
    """Each test client loads the middleware anew, and WhiteNoise would index every static file (the vendored
    front-end libraries) each time; in this process it finds a file when asked. Servers under test keep the index."""
    with override_settings(WHITENOISE_AUTOREFRESH=True):
        yield


@pytest.fixture(autouse=True)
def _metric_crs_read_afresh():
    """The city's metric CRS is kept per process (core.selectors.metric_srid): a profile saved by a test that
    rolled back, or put back by a snapshot restore, must not stay cached for the next test."""
    from core.selectors import forget_metric_srid

    forget_metric_srid()


@pytest.fixture
def demo_city(django_db_blocker):
    """The small demo city, reloaded when a transactional test before this one flushed it."""
    with django_db_blocker.unblock():
        _load_small_city()


@pytest.fixture
def demo_live(demo_city, django_db_blocker):
    """The demo city's live state, committed as `load_demo_city` makes it (a gas leak with its repair order and
    drawings, units en route and on scene, a call awaiting dispatch, an SOS, a returned case); the context it
    built (e.g. "gas_leak_incident"). Afterwards the bare city is put back for the tests that follow."""
    from core.management.commands.load_demo_city import load_live

    with django_db_blocker.unblock():
        context = load_live()
    yield context
    with django_db_blocker.unblock():
        demo_snapshot.restore()


@pytest.fixture
def spot(demo_city):
    """A point inside the small demo city's first community (so inside a unit grid, a street and a district)."""
    from core.models import AdminArea

    return AdminArea.objects.filter(level="community").order_by("code").first().geom.point_on_surface


@pytest.fixture
def empty_track(demo_city):
    """The track table is not a Django-managed table (day partitions made by raw SQL), so test flushes do not empty
    it: a test that stores fixes uses this to leave it empty."""
    yield
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE dispatch_track")


@pytest.fixture
def user_for(demo_city, django_user_model):
    """user_for("operator") → the demo account of that role."""
    return lambda username: django_user_model.objects.get(username=username)


@pytest.fixture
def api(user_for):
    """api("planner") → a DRF test client signed in (with a session) as that demo account."""

    def as_user(username):
        client = APIClient()
        client.force_login(user_for(username))
        return client

    return as_user


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def asgi_server(django_db_setup):
    """A real uvicorn (HTTP + WebSocket) on the test database and the real Redis; yields its base URL."""
    env = {**_test_process_env(), "CITYOPS_DB_POOL": "1"}  # as bin/cityops runs the web server
    with uvicorn_server(env, "test-asgi.log") as server:
        yield f"http://127.0.0.1:{server.port}"


def _wait_listening(proc: subprocess.Popen, port: int, failure: str) -> None:
    """Until `proc` listens on loopback `port`; RuntimeError(`failure`) if it exits or is not listening in 60 s."""
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(failure) from None
            time.sleep(0.1)


@contextmanager
def uvicorn_server(env: dict, log_name: str) -> Iterator[subprocess.Popen]:
    """A real uvicorn serving cityops.asgi on a free loopback port, with `env`, its output added to var/log/
    `log_name`; yields the process (its port as `.port`) once the server listens (fails if it exits or is not
    listening within 60 s) and stops the server afterwards."""
    port = _free_port()
    with open(ROOT / "var" / "log" / log_name, "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "cityops.asgi:application", "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_listening(proc, port, f"uvicorn did not start listening; see var/log/{log_name}")
            proc.port = port
            yield proc
        finally:
            if proc.poll() is None:
                proc.terminate()
            proc.wait(timeout=10)


def _test_process_env() -> dict:
    """Environment for a server process of ours working on the test database and this run's Redis prefix."""
    db = settings.DATABASES["default"]
    return {
        **os.environ,
        "DATABASE_URL": f"postgis://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "PYTHONPATH": f"{ROOT / 'platform'}:{ROOT}",
    }


class GpsIngestProcess:
    """A real `manage.py run_gps_ingest` on a free port; `kill()` (SIGKILL) and `start()` again for crash tests."""

    def __init__(self):
        self.port = _free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        self._log = open(ROOT / "var" / "log" / "test-gps-ingest.log", "ab")  # noqa: SIM115

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "manage.py", "run_gps_ingest", "--host", "127.0.0.1", "--port", str(self.port)],
            cwd=ROOT,
            env=_test_process_env(),
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_listening(self.proc, self.port, "run_gps_ingest did not start; see var/log/test-gps-ingest.log")
        except RuntimeError:
            self.proc.kill()
            raise

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self._log.close()


@pytest.fixture
def gps_ingest(django_db_setup):
    """A real JT/T 808 ingest process on the test database (address: `gps_ingest.address`, HOST:PORT)."""
    ingest = GpsIngestProcess()
    ingest.start()
    yield ingest
    ingest.stop()
