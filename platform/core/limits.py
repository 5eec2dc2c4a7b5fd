"""Caps on the costly work a request can start (exports, Chromium renders): a few at a time per process, and a
request that finds every slot taken for a moment is told to come back (429 with Retry-After) instead of queueing
work the server cannot finish."""

import threading
from contextlib import contextmanager

from django.conf import settings
from rest_framework.exceptions import Throttled

_slots: dict[str, threading.BoundedSemaphore] = {}
_lock = threading.Lock()


def _semaphore(kind: str) -> threading.BoundedSemaphore:
    with _lock:
        if kind not in _slots:
            _slots[kind] = threading.BoundedSemaphore(settings.CITYOPS_CONCURRENT_LIMITS[kind])
        return _slots[kind]


@contextmanager
def slot(kind: str, wait_s: float = 2.0):
    """Hold one of the process's slots for `kind` ("export", "render") while the block runs."""
    semaphore = _semaphore(kind)
    if not semaphore.acquire(timeout=wait_s):
        raise Throttled(wait=5, detail=f"too many {kind}s in progress; try again in a few seconds")
    try:
        yield
    finally:
        semaphore.release()
