"""A real background job worker for tests: `manage.py procrastinate worker` on the test database, as bin/cityops
runs it; `kill()` is SIGKILL and `start()` again is supervisord's restart. A test's `worker` fixture takes one
from `on_an_empty_queue()`."""

import contextlib
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

from django.db import connection

from tests import demo_snapshot
from tests.conftest import ROOT, _test_process_env

LOG = ROOT / "var" / "log" / "test-jobs-worker.log"


class JobsWorker:
    def __init__(self):
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        LOG.parent.mkdir(parents=True, exist_ok=True)
        offset = LOG.stat().st_size if LOG.exists() else 0
        with LOG.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "manage.py", "procrastinate", "worker"],
                cwd=ROOT,
                env=_test_process_env(),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60
        while b"Starting worker" not in LOG.read_bytes()[offset:]:
            assert self.proc.poll() is None, f"the worker exited; see {LOG}"
            assert time.monotonic() < deadline, "the worker did not start"
            time.sleep(0.1)

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


def _empty_the_queue() -> None:
    with connection.cursor() as cursor:  # the queue's own tables are not flushed with the models'
        cursor.execute("DELETE FROM procrastinate_jobs")


@contextlib.contextmanager
def on_an_empty_queue(django_db_blocker) -> Iterator[JobsWorker]:
    """A started worker, with no queue row left by an earlier test; afterwards the worker is stopped, the queue
    emptied and the demo city restored (the worker's imports commit)."""
    with django_db_blocker.unblock():
        _empty_the_queue()
    started = JobsWorker()
    started.start()
    yield started
    started.stop()
    with django_db_blocker.unblock():
        _empty_the_queue()
        demo_snapshot.restore()
