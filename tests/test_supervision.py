"""`bin/cityops start` runs every process under supervisord, which restarts a killed one within seconds; `status`
tells the truth and `stop` leaves nothing behind, even when supervisord itself was killed.

The platform is started for real by bin/cityops on the test database and this run's Redis, with a scratch var
directory and free ports (CITYOPS_VAR_DIR, CITYOPS_WEB_PORT, CITYOPS_JT808_PORT): no private PostgreSQL or Redis is
started or stopped. The demo fleet is left out (it would move the test city's units).
"""

import os
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from core import health
from tests import demo_snapshot
from tests.conftest import ROOT, _free_port, _test_process_env

PROGRAMS = (
    "web:web-0", "web:web-1", "gps-ingest", "jt809-link", "case-timers", "jobs-worker", "notify-worker",
)  # fmt: skip
# How long the test waits for a restarted program: a bound on a hung test, not a timing claim (the times taken are
# printed; supervisord restarts after startsecs, under a second on an idle machine).
RESTART_DEADLINE_S = 60.0


class Platform:
    def __init__(self, var):
        self.web_port, self.jt808_port, self.jt809_port = _free_port(), _free_port(), _free_port()
        self.env = {
            **_test_process_env(),
            "CITYOPS_VAR_DIR": str(var),
            "CITYOPS_WEB_PORT": str(self.web_port),
            "CITYOPS_JT808_PORT": str(self.jt808_port),
            "CITYOPS_JT809_PORT": str(self.jt809_port),
            "CITYOPS_WEB_HOST": "127.0.0.1",
            "CITYOPS_JT808_HOST": "127.0.0.1",
            "CITYOPS_DEMO_FLEET": "0",
            "CITYOPS_DEMO_SCALE": "small",
        }
        self.conf = var / "supervisord.conf"

    def cityops(self, command: str, timeout: float = 180) -> str:
        done = subprocess.run(["bin/cityops", command], cwd=ROOT, env=self.env, capture_output=True, text=True,
                              timeout=timeout, check=False)  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    def status(self) -> dict[str, tuple[str, int]]:
        """program → (state, pid) from `bin/cityops status`."""
        found = {}
        for line in self.cityops("status", timeout=30).splitlines():
            fields = line.split()
            if fields and fields[0] in PROGRAMS:
                found[fields[0]] = (fields[1], int(fields[3].rstrip(",")) if fields[1] == "RUNNING" else 0)
        return found

    def healthz(self) -> int:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.web_port}/healthz", timeout=10) as response:
                return response.status
        except OSError:
            return 0


def _listens(port: int) -> bool:
    return subprocess.run(["ss", "-Hltn", f"sport = :{port}"], capture_output=True, text=True,
                          check=True).stdout.strip() != ""  # fmt: skip


def _alive(pid: int) -> bool:
    """Running: a zombie (dead, not yet reaped by whoever adopted it) is not."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


@pytest.fixture
def platform(tmp_path, django_db_setup, django_db_blocker):
    started = Platform(tmp_path / "var")
    try:
        yield started
    finally:
        subprocess.run(["bin/cityops", "stop"], cwd=ROOT, env=started.env, capture_output=True, timeout=60, check=False)
        with django_db_blocker.unblock():
            demo_snapshot.restore()  # the case timers may have published on the test city


def test_each_process_is_restarted_within_seconds_and_status_tells_the_truth(platform):
    out = platform.cityops("start")
    assert "CityOps is running" in out and f"http://127.0.0.1:{platform.web_port}/" in out
    assert platform.healthz() == 200
    before = platform.status()
    assert {name: state for name, (state, _) in before.items()} == dict.fromkeys(PROGRAMS, "RUNNING")
    deadline = time.monotonic() + 15  # the loops' first heartbeats
    while {c.name: c.status for c in health.read().components}.get("case_timers") != "up":
        assert time.monotonic() < deadline, "the case timers wrote no heartbeat"
        time.sleep(0.2)
    assert {c.name: c.status for c in health.read().components}["gps_ingest"] == "up"

    taken = {}
    for program in PROGRAMS:
        old = platform.status()[program][1]
        os.kill(old, signal.SIGKILL)
        killed = time.monotonic()
        while True:
            state, pid = platform.status().get(program, ("", 0))
            back = state == "RUNNING" and pid not in (0, old) and platform.healthz() == 200
            if back and program == "gps-ingest":
                back = _listens(platform.jt808_port)
            if back:
                break
            assert time.monotonic() - killed < RESTART_DEADLINE_S, f"{program} not back: {state} {pid}"
            time.sleep(0.1)
        taken[program] = round(time.monotonic() - killed, 2)
        assert not _alive(old)
    print("back after SIGKILL (s):", taken)

    # supervisord itself killed: its programs run on, orphaned; status names them and stop still ends them.
    pids = [pid for _, pid in platform.status().values()]
    supervisord = int((platform.conf.parent / "run" / "supervisord.pid").read_text())
    os.kill(supervisord, signal.SIGKILL)
    while _alive(supervisord):
        time.sleep(0.05)
    assert all(_alive(pid) for pid in pids)
    status = platform.cityops("status", timeout=30)
    assert all(f"pid {pid} (" in status for pid in pids) and "its supervisord died" in status, status
    assert "stopped" in platform.cityops("stop")
    # A process caught in its last moments (memory released, cmdline already empty, not yet a zombie) is given a
    # few seconds; one still running after them outlived stop.
    deadline = time.monotonic() + 5
    while (left := [pid for pid in pids if _alive(pid)]) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert left == [], [Path(f"/proc/{pid}/cmdline").read_bytes() for pid in left]  # no child outlives stop
    assert platform.healthz() == 0 and not _listens(platform.jt808_port)
    lines = platform.cityops("status", timeout=30).splitlines()
    assert "supervisord: stopped" in lines and not any("not supervised" in line for line in lines)


def test_status_names_a_process_holding_our_port_that_nobody_supervises(platform):
    squatter = subprocess.Popen(["python3", "-m", "http.server", "--bind", "127.0.0.1", str(platform.web_port)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        deadline = time.monotonic() + 10
        while not _listens(platform.web_port) and time.monotonic() < deadline:
            time.sleep(0.1)
        out = platform.cityops("status", timeout=30)
    finally:
        squatter.kill()
        squatter.wait()
    assert "supervisord: stopped" in out
    assert f"port {platform.web_port}: held by pid {squatter.pid}" in out and "not supervised" in out
