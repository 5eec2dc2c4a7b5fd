"""The replicated deployment's CI drill: start the cluster, kill the PostgreSQL primary once under light load,
nothing acknowledged is lost or duplicated and every console gets every event once, in order; then a
point-in-time restore. The full drill suite is bench/drill_cluster.py."""

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CLUSTER = [str(ROOT / "bin" / "cityops"), "cluster"]

pytestmark = [
    pytest.mark.skipif(not shutil.which("patroni"), reason="the cluster's Debian packages (bin/cityops) are missing"),
    pytest.mark.timeout(600),
]


@pytest.fixture(scope="module")
def cluster():
    """The cluster on its loopback ports; one that was already running is used and left running."""
    status = subprocess.run([*CLUSTER, "status"], capture_output=True, text=True).stdout.splitlines()
    was_running = any("haproxy" in line and "RUNNING" in line for line in status)
    # Output to a file, not a pipe: the daemons it starts must not hold the test's pipe open.
    with tempfile.TemporaryFile("w+") as output:
        started = subprocess.run([*CLUSTER, "start"], stdout=output, stderr=subprocess.STDOUT, timeout=400)
        output.seek(0)
        assert started.returncode == 0, output.read()[-3000:]
    yield
    if not was_running:
        subprocess.run([*CLUSTER, "stop"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=200)


def run_bench(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=400)


@pytest.fixture(scope="module")
def primary_failover(cluster) -> dict:
    """One drill: the PostgreSQL primary killed under light load; its row of the printed table."""
    drill = run_bench(
        "bench/drill_cluster.py", "--faults", "pg-primary", "--seconds", "20", "--rate", "300", "--consoles", "5"
    )
    line = next((line for line in drill.stdout.splitlines() if line.startswith("pg-primary ")), None)
    assert line, drill.stdout[-3000:] + drill.stderr[-3000:]
    fields = line.split()
    return {
        "fixes": fields[2],
        "fixes lost/dup": f"{fields[3]}/{fields[4]}",
        "cases": fields[6],
        "incidents": fields[8],
        "consoles ok": fields[9],
        "line": line,
    }


def test_primary_failover_loses_nothing_acknowledged(primary_failover):
    row = primary_failover
    assert int(row["fixes"]) > 0, row["line"]
    assert (row["fixes lost/dup"], row["cases"], row["incidents"]) == ("0/0", "0/0", "0/0"), row["line"]


def test_primary_failover_consoles_get_every_event_once_in_order(primary_failover):
    ok, total = primary_failover["consoles ok"].split("/")
    assert ok == total, primary_failover["line"]


def test_point_in_time_restore_holds_exactly_what_was_committed_before(cluster):
    drill = run_bench("bench/drill_pitr.py")
    assert drill.returncode == 0, drill.stdout[-3000:] + drill.stderr[-3000:]
    assert "missing 0, extra 0 -> exact" in drill.stdout
