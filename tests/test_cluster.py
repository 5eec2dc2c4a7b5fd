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


def test_primary_failover_loses_nothing_acknowledged(cluster):
    drill = run_bench(
        "bench/drill_cluster.py", "--faults", "pg-primary", "--seconds", "20", "--rate", "300", "--consoles", "5"
    )
    assert drill.returncode == 0, drill.stdout[-3000:] + drill.stderr[-3000:]
    row = next(line for line in drill.stdout.splitlines() if line.startswith("pg-primary "))
    fixes, lost, duplicated = row.split()[2:5]
    assert int(fixes) > 0 and lost == "0" and duplicated == "0", row


def test_point_in_time_restore_holds_exactly_what_was_committed_before(cluster):
    drill = run_bench("bench/drill_pitr.py")
    assert drill.returncode == 0, drill.stdout[-3000:] + drill.stderr[-3000:]
    assert "missing 0, extra 0 -> exact" in drill.stdout
