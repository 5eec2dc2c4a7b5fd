"""The one way every app announces a state change: `publish()`.

The event row is written in the caller's transaction (so it exists iff the change does) and fanned out
on the channel layer only after commit. The fan-out is a fast path that may drop messages; each message
carries `prev`, the seq of the event committed just before it, so a consumer that sees a break in the
chain fetches what it missed from the table.

The fan-out runs on one background event loop per process, so a request does not wait for Redis and does
not build an event loop per event; one queue keeps the messages in publish order.
"""

import asyncio
import logging
import os
import threading

from channels.layers import get_channel_layer
from django.contrib.gis.geos import GEOSGeometry
from django.db import connection, transaction

from .models import Event
from .realtime import EVENT_GROUP, TOPIC_ROLES

log = logging.getLogger(__name__)
# Key of the transaction-level advisory lock that makes seq order equal commit order.
EVENT_LOCK_KEY = 0x0C17_0905


def publish(topic: str, type: str, data: dict, *, geom: GEOSGeometry | None = None, orgs=()) -> Event:
    """Record an event for `topic` and schedule its fan-out after commit.

    Call it last in the transaction that makes the change: it holds a lock until commit so that
    events commit in seq order.
    """
    if topic not in TOPIC_ROLES:
        raise ValueError(f"unknown topic {topic!r}")
    with transaction.atomic(savepoint=False):
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [EVENT_LOCK_KEY])
            cursor.execute("SELECT coalesce(max(seq), 0) FROM core_event")
            prev = cursor.fetchone()[0]
        if geom is not None and geom.srid != 4326:
            geom = geom.transform(4326, clone=True)
        event = Event.objects.create(topic=topic, type=type, data=data, geom=geom, orgs=sorted(orgs))
        message = channel_message(event, prev)
        transaction.on_commit(lambda: _fan_out(message))
    return event


def channel_message(event: Event, prev: int) -> dict:
    return {
        "type": "ops.event",
        "seq": event.seq,
        "prev": prev,
        "topic": event.topic,
        "event_type": event.type,
        "data": event.data,
        "bbox": list(event.geom.extent) if event.geom is not None else None,
        "orgs": list(event.orgs),
    }


class _FanOut:
    """A daemon thread running an event loop that sends queued messages to the channel layer in order."""

    def __init__(self):
        self.pid = os.getpid()
        self.loop = asyncio.new_event_loop()
        self.queue: asyncio.Queue = asyncio.Queue()
        ready = threading.Event()
        threading.Thread(target=self._run, args=(ready,), name="event-fan-out", daemon=True).start()
        ready.wait()

    def _run(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.create_task(self._send_forever())
        self.loop.call_soon(ready.set)
        self.loop.run_forever()

    async def _send_forever(self) -> None:
        layer = get_channel_layer()
        while True:
            message = await self.queue.get()
            try:
                await layer.group_send(EVENT_GROUP, message)
            except Exception:  # the event is committed; consoles catch up from the table
                log.exception("fan-out of event %s failed", message["seq"])

    def send(self, message: dict) -> None:
        self.loop.call_soon_threadsafe(self.queue.put_nowait, message)


_fan_out_lock = threading.Lock()
_fan_out_sender: _FanOut | None = None


def _fan_out(message: dict) -> None:
    global _fan_out_sender
    with _fan_out_lock:
        if _fan_out_sender is None or _fan_out_sender.pid != os.getpid():  # new process after a fork
            _fan_out_sender = _FanOut()
    _fan_out_sender.send(message)
