"""The one way every app announces a state change: `publish()`.

The event row is written in the caller's transaction (so it exists iff the change does) and fanned out
on the channel layer only after commit. The fan-out is a fast path that may drop messages; each message
carries `prev`, the seq of the event committed just before it, so a consumer that sees a break in the
chain fetches what it missed from the table.

The fan-out runs on one background event loop per process (`send_to_group`, also used for vehicle positions
sent by request handlers), so a request does not wait for Redis and does not build an event loop per
message; one queue keeps the messages in order.
"""

import asyncio
import logging
import os
import threading

from channels.layers import get_channel_layer
from django.contrib.gis.geos import GEOSGeometry
from django.db import connection, transaction

from . import event_catalog
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
    return publish_many(topic, [(type, data, geom, orgs)])[0]


def publish_many(topic: str, events: list[tuple[str, dict, GEOSGeometry | None, object]]) -> list[Event]:
    """`publish` for several (type, data, geom, orgs) at once, in that order: one lock, one insert."""
    if topic not in TOPIC_ROLES:
        raise ValueError(f"unknown topic {topic!r}")
    for type_, *_ in events:
        event_catalog.check(topic, type_)
    with transaction.atomic(savepoint=False):
        with connection.cursor() as cursor:
            # one round trip: the lock, then (its result set skipped) the head under the lock
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s); SELECT coalesce(max(seq), 0) FROM core_event", [EVENT_LOCK_KEY]
            )
            cursor.nextset()
            prev = cursor.fetchone()[0]
        rows = Event.objects.bulk_create(
            Event(
                topic=topic,
                type=type,
                data=data,
                geom=geom.transform(4326, clone=True) if geom is not None and geom.srid != 4326 else geom,
                orgs=sorted(orgs),
            )
            for type, data, geom, orgs in events
        )
        messages = []
        for event in rows:
            messages.append(channel_message(event, prev))
            prev = event.seq

        def fan_out():
            for message in messages:
                send_to_group(EVENT_GROUP, message)

        transaction.on_commit(fan_out)
    return rows


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


class _Sender:
    """A daemon thread running an event loop that sends queued group messages to the channel layer in order."""

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
            group, message = await self.queue.get()
            try:
                await layer.group_send(group, message)
            except Exception:  # the change is committed; consoles catch up from the table or the next update
                log.exception("fan-out of a %s message to %s failed", message["type"], group)


_sender_lock = threading.Lock()
_sender: _Sender | None = None


def _background() -> _Sender:
    global _sender
    with _sender_lock:
        if _sender is None or _sender.pid != os.getpid():  # new process after a fork
            _sender = _Sender()
    return _sender


def send_to_group(group: str, message: dict) -> None:
    """Queue a group message on this process's sender; returns at once."""
    sender = _background()
    sender.loop.call_soon_threadsafe(sender.queue.put_nowait, (group, message))


def call_later(delay: float, callback) -> None:
    """Run ``callback()`` on the sender's thread in ``delay`` seconds (it may call send_to_group)."""
    sender = _background()
    sender.loop.call_soon_threadsafe(sender.loop.call_later, delay, callback)
