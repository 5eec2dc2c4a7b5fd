"""`/ws/ops/`: the live feed of every console (protocol in ARCHITECTURE.md, "Realtime protocol")."""

import asyncio
import contextlib
import json
import logging
from typing import ClassVar

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from uvicorn.protocols.utils import ClientDisconnected

from . import health, realtime, selectors, socket_leases
from .realtime import EVENT_GROUP, LIVE_GROUPS, LIVE_ONLY_TOPICS, Viewer, bbox_intersects
from .resilience import Outage
from .ws_guard import TRY_AGAIN_LATER

log = logging.getLogger(__name__)
SNAPSHOT_PAGE = 500  # features per snapshot message (~400 KB of cases)
JSON_DEPTH = 8  # a subscribe message is three levels deep


def in_thread(func):
    """`func` run on the event loop's thread pool with Django's connection hygiene. Not Channels' default (one thread
    for all the consoles of a process): there, 25 consoles opening walls at once queued every other console's
    handshake and catch-up behind seconds of snapshot building, and the handshakes timed out."""
    return database_sync_to_async(func, thread_sensitive=False)


def _nesting(raw: str | bytes) -> int:
    """How deep the brackets of a JSON text go (strings ignored), counted without parsing it."""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            escaped, in_string = (False, True) if escaped else (char == "\\", char != '"')
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


class SubscribeError(ValueError):
    pass


def parse_subscribe(message, viewer: Viewer) -> dict:
    """Validate a client message; every refusal names what was wrong."""
    if not isinstance(message, dict):
        raise SubscribeError("message must be a JSON object")
    if message.get("op") != "subscribe":
        raise SubscribeError(f"unknown op {message.get('op')!r}; expected 'subscribe'")
    topics = message.get("topics")
    if not isinstance(topics, list) or not topics or not all(isinstance(t, str) for t in topics):
        raise SubscribeError("'topics' must be a non-empty list of topic names")
    unknown = sorted(set(topics) - set(realtime.TOPIC_ROLES))
    if unknown:
        raise SubscribeError(f"unknown topics {unknown}; known: {sorted(realtime.TOPIC_ROLES)}")
    forbidden = sorted(set(topics) - viewer.allowed_topics())
    if forbidden:
        raise SubscribeError(f"your role may not subscribe to {forbidden}")
    bbox = message.get("bbox")
    if bbox is not None:
        if (
            not isinstance(bbox, list)
            or len(bbox) != 4
            or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in bbox)
        ):
            raise SubscribeError("'bbox' must be [minx, miny, maxx, maxy] in WGS84 degrees")
        minx, miny, maxx, maxy = bbox
        if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
            raise SubscribeError("'bbox' must satisfy -180<=minx<=maxx<=180 and -90<=miny<=maxy<=90")
        bbox = tuple(float(v) for v in bbox)
    since = message.get("since")
    if since is not None and (not isinstance(since, int) or isinstance(since, bool) or since < 0):
        raise SubscribeError("'since' must be a non-negative integer seq")
    return {"topics": sorted(set(topics)), "bbox": bbox, "since": since}


class _HeadWatch:
    """One event-log head query per period for all the consoles of a process (not one per console).

    A lost fan-out of the *last* event has no successor whose `prev` would reveal it, so each console is told
    the head now and then and catches up if it is behind.
    """

    _consoles: dict[asyncio.AbstractEventLoop, tuple[set, asyncio.Task]] = {}  # the loop's consoles, its watcher

    @classmethod
    def join(cls, console: "OpsConsumer") -> None:
        loop = asyncio.get_running_loop()
        if loop not in cls._consoles:
            consoles: set = set()
            cls._consoles[loop] = (consoles, loop.create_task(cls._watch(loop, consoles)))
        cls._consoles[loop][0].add(console)

    @classmethod
    def leave(cls, console: "OpsConsumer") -> None:
        if (entry := cls._consoles.get(asyncio.get_running_loop())) is not None:
            entry[0].discard(console)

    @classmethod
    async def _watch(cls, loop, consoles: set) -> None:
        """Runs while the process has consoles, whatever fails: PostgreSQL restarting only delays it, and the tick
        does not travel through Redis, so consoles catch up from the event log while Redis is away."""
        outage = Outage("event-log head watch", log)
        leases = Outage("console socket leases", log)
        try:
            while consoles:
                await asyncio.sleep(settings.CITYOPS_WS_CATCHUP_SECONDS)
                try:  # apart from the tick, which must go on while Redis is away
                    await in_thread(socket_leases.renew)([(c.counted, c.channel_name) for c in consoles if c.leased])
                except Exception as exc:
                    leases.failed(exc)
                else:
                    leases.succeeded()
                try:
                    head = await in_thread(selectors.event_head)()
                    for console in list(consoles):  # through each console's own queue: in order with its events
                        console.channel_layer.send_local(console.channel_name, {"type": "ops.tick", "head": head})
                except Exception as exc:
                    await asyncio.sleep(outage.failed(exc))
                else:
                    outage.succeeded()
        finally:
            cls._consoles.pop(loop, None)


class OpsConsumer(AsyncJsonWebsocketConsumer):
    """One console connection: subscribe → snapshot or replay → deltas in seq order, no gaps.

    A user has at most settings.CITYOPS_WS_PER_USER of them open across the web processes (a wall, a console and a
    few situation maps; one more is closed with code 4429: core.socket_leases; in one process while Redis is away),
    and a message larger than CITYOPS_WS_MAX_MESSAGE_BYTES or
    nested deeper than JSON_DEPTH is answered with an error, unread."""

    _open: ClassVar[dict[int, int]] = {}  # user id → sockets open in this process

    closing = False  # set by close(): nothing is sent after it, only the disconnect is still handled
    leased = False  # holds a lease in core.socket_leases

    async def __call__(self, scope, receive, send):
        """As Channels' consumer, and the bookkeeping of disconnect() also when the consumer ends by an exception
        (a leaked per-user slot would refuse that user's consoles with 4429 until the process restarts)."""
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self._release()

    async def dispatch(self, message):
        """As Channels' dispatch, without its thread hop to close stale database connections before every
        message (200 consoles × every position): the handlers reach the database only through
        database_sync_to_async (in_thread), which closes them itself."""
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"no handler for message type {message['type']}")
        if self.closing and message["type"] != "websocket.disconnect":
            return  # closed by us: the events and ticks still queued for it are dropped, not sent to a closed socket
        try:
            await handler(message)
        except ClientDisconnected:
            self.closing = True  # the client has gone (a normal end, not a fault); its disconnect follows
        except Exception:
            if message["type"] in ("websocket.connect", "websocket.disconnect"):
                raise  # set-up: core.ws_guard answers 1013; tear-down: nothing left to tell
            # PostgreSQL or Redis failed while serving this console (a replay, a catch-up): close with "try again
            # later" — the console reconnects with `since` and gets what it missed — instead of dying silently.
            log.warning("console of user %s failed on %s; closed with 1013", self.counted, message["type"],
                        exc_info=True)  # fmt: skip
            await self.close(code=TRY_AGAIN_LATER)

    async def close(self, code=None, reason=None):
        """Once: the server refuses a second close (or a send after it), which would end the consumer."""
        if not self.closing:
            self.closing = True
            with contextlib.suppress(Exception):  # the client may be gone already; its disconnect follows
                await super().close(code=code, reason=reason)

    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        if OpsConsumer._open.get(user.pk, 0) >= settings.CITYOPS_WS_PER_USER:
            await self.close(code=4429)
            return
        # What can fail (PostgreSQL, Redis) comes before anything is counted: a failure here reaches
        # core.ws_guard.TryAgainLater, which closes the socket with 1013.
        viewer = await in_thread(Viewer.for_user)(user)
        leased = await in_thread(socket_leases.take)(user.pk, self.channel_name)
        if leased is False:
            await self.close(code=4429)
            return
        self.leased = bool(leased)  # given back by _release(), or lapsing if group_add fails
        await self.channel_layer.group_add(EVENT_GROUP, self.channel_name)
        self.viewer = viewer
        OpsConsumer._open[user.pk] = OpsConsumer._open.get(user.pk, 0) + 1
        self.counted = user.pk
        health.console_opened()
        self.subscription = None
        self.filters = {}
        self.follows = set()  # the live-only topics whose groups this console is in
        self.last_seq = 0  # every event up to here has been delivered or found invisible
        await self.accept()
        _HeadWatch.join(self)

    async def disconnect(self, code):
        await self._release()

    async def _release(self):
        """Give back what connect() took, once: the user's slot, the health count, the head watch, the groups."""
        counted = getattr(self, "counted", None)
        if self.leased and counted is not None:
            self.leased = False
            await in_thread(socket_leases.give_back)(counted, self.channel_name)
        if counted is not None:
            self.counted = None
            health.console_closed()
            left = OpsConsumer._open.pop(counted, 1) - 1
            if left:
                OpsConsumer._open[counted] = left
        if getattr(self, "viewer", None) is not None:
            self.viewer = None
            _HeadWatch.leave(self)
            for group in (EVENT_GROUP, *LIVE_GROUPS.values()):
                with contextlib.suppress(Exception):  # the layer drops the channel locally before it asks Redis
                    await self.channel_layer.group_discard(group, self.channel_name)

    async def ops_tick(self, message: dict):
        if self.subscription is not None:
            await self.catch_up(message["head"])

    async def receive(self, text_data=None, bytes_data=None):
        raw = text_data if text_data is not None else bytes_data
        if raw is not None and len(raw) > settings.CITYOPS_WS_MAX_MESSAGE_BYTES:
            await self.send_error(f"message is longer than {settings.CITYOPS_WS_MAX_MESSAGE_BYTES} bytes")
            return
        if raw is not None and _nesting(raw) > JSON_DEPTH:
            await self.send_error(f"message is nested deeper than {JSON_DEPTH} levels")
            return
        try:
            message = json.loads(raw)
        except (TypeError, ValueError) as exc:
            await self.send_error(f"message is not valid JSON: {exc}")
            return
        try:
            subscription = parse_subscribe(message, self.viewer)
        except SubscribeError as exc:
            await self.send_error(str(exc))
            return
        await self.start(subscription)

    async def send_error(self, message: str):
        await self.send_json({"op": "error", "error": message})

    async def start(self, subscription: dict):
        self.subscription = subscription
        topics, bbox, since = subscription["topics"], subscription["bbox"], subscription["since"]
        self.filters = await in_thread(realtime.event_filters)(self.viewer, topics)
        await self._follow_live({topic for topic in topics if topic in LIVE_ONLY_TOPICS})
        logged = [topic for topic in topics if topic not in LIVE_ONLY_TOPICS]
        if since is not None:
            events, upper = await in_thread(selectors.events_after)(since, logged, self.viewer, bbox)
            if events is not None:
                self.last_seq = upper
                live_only = [topic for topic in topics if topic in LIVE_ONLY_TOPICS]
                _, snapshots = await in_thread(self._snapshot)(live_only, bbox)
                await self._send_snapshots(snapshots, upper)
                for event in events:
                    await self.send_event(event.seq, event.topic, event.type, event.data)
                await self.send_json({"op": "subscribed", "topics": topics, "seq": upper, "replayed": len(events)})
                return
            await self.send_json({"op": "reset", "reason": f"more than {realtime.REPLAY_LIMIT} events missed"})
        head, snapshots = await in_thread(self._snapshot)(topics, bbox)
        self.last_seq = head
        await self._send_snapshots(snapshots, head)
        await self.send_json({"op": "subscribed", "topics": topics, "seq": head, "replayed": 0})

    async def _follow_live(self, topics: set[str]):
        for topic in topics - self.follows:
            await self.channel_layer.group_add(LIVE_GROUPS[topic], self.channel_name)
        for topic in self.follows - topics:
            await self.channel_layer.group_discard(LIVE_GROUPS[topic], self.channel_name)
        self.follows = topics

    def _snapshot(self, topics, bbox):
        head = selectors.event_head()  # first: anything committed later arrives as a delta
        return head, {topic: realtime.snapshot(topic, self.viewer, bbox) for topic in topics}

    async def _send_snapshots(self, snapshots: dict, seq: int):
        """Each topic's snapshot in pages of SNAPSHOT_PAGE features (`page` of `pages`): no message grows with the
        city, and a console on a slow link sees the first ones while the rest arrive."""
        for topic, features in snapshots.items():
            pages = max(1, -(-len(features) // SNAPSHOT_PAGE))
            for page in range(pages):
                part = features[page * SNAPSHOT_PAGE : (page + 1) * SNAPSHOT_PAGE]
                message = {"op": "snapshot", "topic": topic, "seq": seq, "page": page, "pages": pages}
                await self.send_json({**message, "features": part})

    async def ops_vehicles(self, message: dict):
        """Coalesced positions from the GPS ingest (not in the event log)."""
        await self._live_positions("vehicles", message)

    async def ops_inspectors(self, message: dict):
        """An inspector's attendance and position after a batch from the tablet, or (complete) the whole roster
        every 30 s, as shifts begin and end and reports stop coming (patrol/tasks.py)."""
        await self._live_positions("inspectors", message)

    async def _live_positions(self, topic: str, message: dict):
        """A live-only topic's features, filtered, then passed on: upserts as "positions", a complete set as the
        topic's snapshot.

        The layer decodes a message once for all consoles of the process (core.channel_layer), so the text
        for one filter is also encoded once and kept on the message for the consoles with the same filter (not for
        a topic whose own event filter is per viewer)."""
        if self.subscription is None or topic not in self.follows:
            return
        domain = realtime.TOPIC_DOMAINS.get(topic)
        bbox, orgs, area = self.subscription["bbox"], self.viewer.orgs_in(domain), self.viewer.area_in(domain)
        org_key, complete = LIVE_ONLY_TOPICS[topic], message.get("complete", False)
        inside = self.filters.get(topic)
        shared = org_key is not None
        encoded = message.setdefault("encoded", {}) if shared else {}
        text = encoded.get((bbox, orgs, area))
        if text is None:
            features = [
                feature
                for feature in message["features"]
                if (orgs is None or org_key is None or feature["properties"].get(org_key) in orgs)
                and (feature["geometry"] is None or bbox_intersects([*feature["geometry"]["coordinates"]] * 2, bbox))
                and (inside is None or inside(feature))
            ]
            if complete:
                reply = {"op": "snapshot", "topic": topic, "seq": self.last_seq, "features": features}
            else:
                reply = {"op": "positions", "topic": topic, "features": features} if features else None
            text = encoded[(bbox, orgs, area)] = json.dumps(reply) if reply else ""
        if text:
            await self.send(text_data=text)

    async def ops_event(self, message: dict):
        """A fan-out message from the channel layer; a break in the prev→seq chain triggers a replay."""
        if self.subscription is None or message["seq"] <= self.last_seq:
            return
        if message["prev"] > self.last_seq:
            await self.catch_up(message["seq"])
            return
        self.last_seq = message["seq"]
        if (
            message["topic"] in self.subscription["topics"]
            and bbox_intersects(message["bbox"], self.subscription["bbox"])
            and self.viewer.sees_orgs(message["topic"], message["orgs"])
        ):
            await self.send_event(message["seq"], message["topic"], message["event_type"], message["data"])

    async def catch_up(self, until: int):
        """Deliver what the fan-out did not bring, from the event log, up to seq `until`."""
        if until <= self.last_seq:
            return
        events, upper = await in_thread(selectors.events_after)(
            self.last_seq, self.subscription["topics"], self.viewer, self.subscription["bbox"], until
        )
        if events is None:
            await self.send_json({"op": "reset", "reason": "fell too far behind"})
            await self.start({**self.subscription, "since": None})
            return
        self.last_seq = upper
        for event in events:
            await self.send_event(event.seq, event.topic, event.type, event.data)

    async def send_event(self, seq: int, topic: str, type_: str, data: dict):
        """Every event leaves through here, live or replayed: the topic's own test for this viewer comes last."""
        visible = self.filters.get(topic)
        if visible is None or visible(data):
            await self.send_json({"seq": seq, "topic": topic, "type": type_, "data": data})
