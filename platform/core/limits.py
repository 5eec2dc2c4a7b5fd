"""Caps on the costly work a request can start (exports, Chromium renders): a few at a time for the whole
installation, whichever web process or host takes the request, and a request that finds every slot taken for a
moment is told to come back (429 with Retry-After) instead of queueing work the server cannot finish.

A slot is a PostgreSQL advisory lock held on a connection of its own: every web process shares it, it does not
depend on the request's transaction, and a process that dies gives its slots back with its connection.
"""

import time
import zlib
from contextlib import contextmanager

import psycopg
from django.conf import settings
from rest_framework.exceptions import Throttled

from .errors import Unavailable
from .health import probe_connection

POLL_S = 0.1


def _lock_space(kind: str) -> int:
    """The advisory-lock key space of `kind` (a signed 32-bit number, the first half of a two-part key)."""
    return zlib.crc32(f"cityops:{kind}".encode()) - 2**31


def _take_one(conn: psycopg.Connection, kind: str) -> bool:
    """Lock a free slot of `kind` on `conn`; False if all settings.CITYOPS_CONCURRENT_LIMITS of them are held."""
    space = _lock_space(kind)
    return any(
        conn.execute("SELECT pg_try_advisory_lock(%s, %s)", (space, number)).fetchone()[0]
        for number in range(settings.CITYOPS_CONCURRENT_LIMITS[kind])
    )


@contextmanager
def slot(kind: str, wait_s: float = 2.0):
    """Hold one of the installation's slots for `kind` ("export", "render") while the block runs; closing the
    connection afterwards, however the block ends, gives it back."""
    try:
        conn = probe_connection()
    except psycopg.OperationalError as exc:  # the database did not answer in time (busy or failing over)
        raise Unavailable(f"the {kind} slots cannot be reached now; try again in a few seconds") from exc
    with conn:
        deadline = time.monotonic() + wait_s
        while not _take_one(conn, kind):
            if time.monotonic() >= deadline:
                raise Throttled(wait=5, detail=f"too many {kind}s in progress; try again in a few seconds")
            time.sleep(POLL_S)
        yield
