"""The JT/T 809 link of the city supervision platform as 上级 (upper platform) of the monitoring platforms below it.

Main link: each lower platform connects to our TCP server and logs in (0x1001: its source address must be on the
platform's allow-list, then access code, user id and password — kept as a hash — are checked, in that order);
we answer 0x1002 with a fresh verify code, then connect back as the sub-link client to the DOWN_LINK_IP:PORT it
named and send 0x9001 with that code. Keep-alive both ways: 0x1005 is answered with 0x1006; on the sub link we
send 0x9005 after ``keepalive`` seconds without traffic; a link silent for ``idle`` seconds is dropped. The sub
link reconnects with back-off while the platform is logged in (0x9007 tells the platform on the main link when
it cannot be reached); a platform that logs in again replaces its old main link and keeps its sub link.
Messages are accepted on either link (2019 moves some answers across), DOWN_* go on the sub link, or the main
one while the sub is down.

Positions (0x1202, 0x1203 back-fill) go through dispatch's track path (``tracks.ingest_fixes``: the same track
table, last positions, live feed and AVL rules), terminal ``809:<access code>:<plate>``. 0x1402 alarms become
dispatch alarms of kind ``platform``. 0x1201 registration and 0x1601 static information update the key vehicle;
0x1201 is answered with 0x9201 (2019) and followed by a 0x9601 static-information request.

Guarded like the JT/T 808 ingest, with the same pieces: behind a trusted load balancer (CITYOPS_JT809_TRUSTED_PROXIES)
the platform's address — what the allow-list checks — comes from the balancer's PROXY protocol v1 line
(``core.tcp_sources``); an address holds at most CITYOPS_JT809_CONNECTIONS_PER_ADDRESS connections; failed logins
from an address or for an access code (CITYOPS_JT809_LOGIN_FAILURE_LIMIT) cut the address off for
CITYOPS_JT809_LOGIN_BACKOFF_SECONDS (``dispatch.device_security.FailureGuard``, counted in Redis for every host),
logged and audited once per burst. Frames are bounded by the splitter (``jt809.DEFAULT_MAX_FRAME``).

Database work runs on one dedicated thread (``core.db_thread``). The protocol has no acknowledgement for positions,
so the writer keeps them queued while PostgreSQL is away and retries with back-off (``core.resilience.Outage``):
nothing received is dropped while the process lives.
"""

import asyncio
import contextlib
import itertools
import logging
import secrets
import time
from collections import deque

import psycopg
from django.conf import settings
from django.db import DatabaseError

from core.db_thread import DatabaseThread
from core.resilience import Outage
from core.tcp_sources import OpenConnections, client_address, described, peer_address
from dispatch import tracks
from dispatch.device_security import FailureGuard

from . import jt809, services
from .models import LowerPlatform

log = logging.getLogger(__name__)

KEEPALIVE_S = 60.0  # the standard's keep-alive period when a link carries nothing else
IDLE_S = 180.0  # 3 minutes of silence drop a link
READ_SIZE = 16384
MAX_QUEUED_FIXES = 200_000  # positions held while PostgreSQL is away; beyond this new ones are dropped (logged)
WRITE_BATCH = 2000
SUB_BACKOFF_MAX_S = 60.0
_feed = tracks.SharedVehicleFeed()


class Link:
    """One TCP connection of a platform session (its main or its sub link): framing, sending, idle tracking."""

    def __init__(self, session: "Session", reader: asyncio.StreamReader, writer: asyncio.StreamWriter, name: str):
        self.session, self.reader, self.writer, self.name = session, reader, writer, name
        self.splitter = jt809.FrameSplitter()
        self.last_sent = self.last_received = time.monotonic()

    def send(self, body) -> None:
        self.writer.write(self.session.frame(body))
        self.last_sent = time.monotonic()

    def close(self) -> None:
        self.writer.close()

    async def frames(self, idle: float):
        """The link's frames until it closes or is silent for ``idle`` seconds."""
        while True:
            try:
                data = await asyncio.wait_for(self.reader.read(READ_SIZE), idle)
            except TimeoutError:
                log.info("%s: %s link silent for %.0f s: dropped", self.session, self.name, idle)
                return
            except ConnectionError:
                return
            if not data:
                return
            self.last_received = time.monotonic()
            for raw in self.splitter.feed(data):
                yield raw


class Session:
    """A logged-in lower platform: its main link, the sub link we keep to it, and its send serial."""

    def __init__(self, server: "LinkServer", config: services.PlatformConfig):
        self.server, self.config = server, config
        self.main: Link | None = None
        self.sub: Link | None = None
        self.verify_code = 0
        self.down_link = ("", 0)
        self.sn = 0
        self.plates: dict[str, int] = {}  # plate → its unit
        self._sub_task: asyncio.Task | None = None
        self.closed = False

    def __str__(self) -> str:
        return f"platform {self.config.access_code}"

    def frame(self, body) -> bytes:
        self.sn = (self.sn + 1) & 0xFFFFFFFF
        return jt809.encode_message(body, self.config.version, self.config.access_code, self.sn, self.config.keys)

    def send_down(self, body) -> None:
        """A DOWN_* message: on the sub link, on the main one while the sub is down."""
        link = self.sub or self.main
        if link is not None:
            link.send(body)

    def state(self) -> str:
        states = LowerPlatform.LinkState
        if self.main and self.sub:
            return states.UP
        return states.MAIN_ONLY if self.main else states.SUB_ONLY if self.sub else states.DOWN

    async def publish_state(self) -> None:
        with contextlib.suppress(DatabaseError, psycopg.Error):  # told by the look-ups' outage story
            await self.server.lookup(services.set_link_state, self.config.id, self.state())

    def logged_in(self, main: Link, request: jt809.ConnectRequest) -> None:
        if self.main is not None and self.main is not main:
            log.info("%s logged in again: its previous main link is closed", self)
            self.main.close()
        self.main = main
        self.verify_code = secrets.randbits(32)
        self.down_link = (request.down_link_ip, request.down_link_port)
        if self.sub is not None:  # a new verify code: the sub link greets the platform again
            self.sub.close()
        if self._sub_task is None or self._sub_task.done():
            self._sub_task = asyncio.create_task(self._keep_sub_link())

    def close(self) -> None:
        self.closed = True
        for link in (self.main, self.sub):
            if link is not None:
                link.close()
        if self._sub_task is not None:
            self._sub_task.cancel()

    async def _keep_sub_link(self) -> None:
        """Connect back to the platform's sub-link server, greet it with 0x9001, keep it alive; reconnect with
        back-off while the platform is logged in (its main link up)."""
        outage = Outage(
            f"sub link to {self}", log, first_delay_s=self.server.sub_retry_s, max_delay_s=SUB_BACKOFF_MAX_S
        )
        while not self.closed and self.main is not None:
            host, port = self.down_link
            try:
                reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), self.server.keepalive)
            except (OSError, TimeoutError) as exc:
                if self.main is not None:
                    self.main.send(jt809.DownDisconnectInform(0))
                await asyncio.sleep(outage.failed(exc))
                continue
            outage.succeeded()
            link = Link(self, reader, writer, "sub")
            link.send(jt809.DownConnectRequest(self.verify_code))
            keepalive = asyncio.create_task(self.server.keep_alive(link, jt809.DownLinkTest()))
            try:
                await self.server.serve_link(self, link, sub=True)
            finally:
                keepalive.cancel()
                link.close()
                if self.sub is link:
                    self.sub = None
                    await self.publish_state()
            if not self.closed:
                await asyncio.sleep(self.server.sub_retry_s)


class LinkServer:
    """The main-link TCP server, the platforms' sessions and the position writer of one process."""

    def __init__(
        self,
        host: str = "0.0.0.0",  # noqa: S104 (the platforms connect from other networks)
        port: int = 6809,
        keepalive: float = KEEPALIVE_S,
        idle: float = IDLE_S,
        sub_retry_s: float = 1.0,
    ):
        self.host, self.port = host, port
        self.keepalive, self.idle, self.sub_retry_s = keepalive, idle, sub_retry_s
        self.sessions: dict[int, Session] = {}
        self._db = DatabaseThread("jt809-db")
        self._server: asyncio.Server | None = None
        self._fixes: deque[tracks.Fix] = deque()
        self._fixes_waiting = asyncio.Event()
        self._writer: asyncio.Task | None = None
        self._connections: dict[asyncio.Task, asyncio.StreamWriter] = {}
        self._open = OpenConnections()
        self.guard = FailureGuard(
            "jt809",
            "platform",
            settings.CITYOPS_JT809_LOGIN_FAILURE_LIMIT,
            settings.CITYOPS_JT809_LOGIN_BACKOFF_SECONDS,
        )
        self._lookup_outage = Outage("JT/T 809 look-ups", log)

    async def start(self) -> None:
        self._writer = asyncio.create_task(self._write_fixes())
        self._server = await asyncio.start_server(self._accept, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("JT/T 809 main link listening on %s:%s", self.host, self.port)

    async def stop(self) -> None:
        """Stop accepting, close every link, write the positions still queued (while the database answers)."""
        self._server.close()
        for session in list(self.sessions.values()):
            session.close()
        for writer in list(self._connections.values()):  # their readers see the end: each task finishes itself
            writer.transport.abort()
        await asyncio.gather(*self._connections, return_exceptions=True)
        self._writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._writer
        with contextlib.suppress(DatabaseError, psycopg.Error):
            while self._fixes:
                await self._flush()
        await self._db.close()
        await self.guard.close()

    async def lookup(self, func, *args):
        return await self._db.run(func, *args, outage=self._lookup_outage)

    # -------------------------------------------------------------------------------------- main link

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        self._connections[task] = writer
        source = peer_address(writer)  # until the PROXY line names the platform's
        try:
            source = await client_address(reader, writer, settings.CITYOPS_JT809_TRUSTED_PROXIES, self.idle)
            if source is None:  # a trusted load balancer's health check, or a line that is not PROXY protocol
                return
            with self._open.holding(source) as others:
                if others >= settings.CITYOPS_JT809_CONNECTIONS_PER_ADDRESS:
                    log.warning("main link from %s refused: %d open from that address", source, others)
                    return
                await self._serve_main(reader, writer, source)
        except (DatabaseError, psycopg.Error):
            pass  # told by the look-ups' outage story; the platform logs in again
        except Exception:  # one broken session must never take the server or other platforms down
            log.exception("main link from %s failed", described(source, writer))
        finally:
            writer.close()
            self._connections.pop(task, None)

    async def _serve_main(self, reader, writer, source: str) -> None:
        session = await self._login(reader, writer, source)
        if session is None:
            return
        link = session.main
        await session.publish_state()
        try:
            await self.serve_link(session, link, sub=False)
        finally:
            if session.main is link:
                session.main = None
                await session.publish_state()

    async def _login(self, reader, writer, source: str) -> Session | None:
        """The first frame, within ``idle`` seconds, must be a good 0x1001 from an address that is not backing off;
        anything else closes the connection. A refused login counts against the address and the access code."""
        peer = described(source, writer)
        splitter, frames, received, silent_too_long = jt809.FrameSplitter(), [], 0, False
        try:
            async with asyncio.timeout(self.idle):
                while not frames and (data := await reader.read(READ_SIZE)):
                    received += len(data)
                    frames = splitter.feed(data)
        except TimeoutError:
            silent_too_long = True
        except ConnectionError:
            pass
        if not frames:
            if received or silent_too_long:  # else closed unspoken: a balancer's health check, a port probe
                log.warning("main link from %s closed: no frame before the login", peer)
            return None
        if await self.guard.refused(source):
            log.warning("main link from %s closed: the address is backing off after failed logins", peer)
            return None
        raw = frames[0]
        code = jt809.frame_access_code(raw)
        config = await self.lookup(services.platform_config, code) if code is not None else None
        version = config.version if config else jt809.V2011
        try:
            frame = jt809.decode_frame(raw, version, config.keys if config else None)
            request = jt809.decode_body(frame.header.msg_id, frame.body, version)
        except jt809.JT809Error as exc:
            log.warning("main link from %s closed: unreadable login (%s)", peer, exc)
            return None
        if not isinstance(request, jt809.ConnectRequest):
            log.warning("main link from %s closed: 0x%04x before the login", peer, frame.header.msg_id)
            return None
        result = services.login_result(config, source, request)
        session = self.sessions.get(config.id) if config else None
        if result == jt809.ConnectResult.OK:
            session = session if session is not None and not session.closed else Session(self, config)
            session.config = config
            self.sessions[config.id] = session
            link = Link(session, reader, writer, "main")
            link.splitter = splitter
            session.logged_in(link, request)
            link.send(jt809.ConnectResponse(result, session.verify_code))
            log.info("%s logged in from %s; sub link to %s:%s", session, peer, *session.down_link)
            for extra in frames[1:]:
                await self.handle(session, link, extra)
            return session
        log.warning("login of access code %s from %s refused: %s", code, peer, jt809.ConnectResult(result).name)
        # Counted before the answer: a client that tries again at once already finds its address backing off.
        cut_off, bursts = await self.guard.failed(source, str(code))
        if cut_off:
            log.warning("address %s refused for %d s after failed logins", peer, self.guard.backoff_s)
        answer = Session(self, config) if config else None
        body = jt809.ConnectResponse(result, 0)
        if answer is not None:
            writer.write(answer.frame(body))
        else:  # an unknown access code: answered in plain 2011 form under the code it gave
            msg_id, data = jt809.encode_body(body, jt809.V2011)
            writer.write(jt809.encode_frame(jt809.Header(msg_id, code or 0), data, jt809.V2011))
        with contextlib.suppress(ConnectionError):
            await writer.drain()
        if bursts:
            await self.lookup(services.report_login_failures, source, code, bursts)
        return None

    async def serve_link(self, session: Session, link: Link, sub: bool) -> None:
        keepalive = None if sub else asyncio.create_task(self._touch(session, link))
        try:
            async for raw in link.frames(self.idle):
                await self.handle(session, link, raw)
                with contextlib.suppress(ConnectionError):
                    await link.writer.drain()
                if link.writer.is_closing():
                    return
        finally:
            if keepalive is not None:
                keepalive.cancel()

    async def keep_alive(self, link: Link, probe) -> None:
        """Send ``probe`` whenever the link has carried nothing for ``keepalive`` seconds."""
        while not link.writer.is_closing():
            wait = link.last_sent + self.keepalive - time.monotonic()
            if wait <= 0:
                link.send(probe)
                wait = self.keepalive
            await asyncio.sleep(wait)

    async def _touch(self, session: Session, link: Link) -> None:
        """The platform's "last message" for the console, at most once per keep-alive period."""
        seen = 0.0
        while True:
            await asyncio.sleep(min(self.keepalive, 10.0))
            if link.last_received > seen:
                seen = link.last_received
                with contextlib.suppress(DatabaseError, psycopg.Error):
                    await self.lookup(services.touch, session.config.id)

    # ----------------------------------------------------------------------------------- messages

    async def handle(self, session: Session, link: Link, raw: bytes) -> None:
        config = session.config
        try:
            frame = jt809.decode_frame(raw, config.version, config.keys)
            if frame.header.access_code != config.access_code:
                raise jt809.JT809Error(f"access code {frame.header.access_code} on {session}'s link")
            body = jt809.decode_body(frame.header.msg_id, frame.body, config.version)
        except jt809.JT809Error as exc:
            log.warning("%s: %s link frame dropped: %s", session, link.name, exc)
            return
        if isinstance(body, jt809.LinkTest):
            link.send(jt809.LinkTestResponse())
        elif isinstance(body, jt809.DownConnectResponse):
            if body.value == jt809.DownConnectResult.OK:
                session.sub = link
                log.info("%s: sub link up", session)
                await session.publish_state()
            else:
                log.warning("%s refused our sub link: result %s", session, body.value)
                link.close()
        elif isinstance(body, jt809.DisconnectRequest):
            link.send(jt809.DisconnectResponse())
            log.info("%s logged out", session)
            session.close()
            self.sessions.pop(config.id, None)
            await session.publish_state()
        elif isinstance(body, jt809.DisconnectInform | jt809.CloseLinkInform):
            log.info("%s: %s (code %s)", session, type(body).__name__, body.value)
        elif isinstance(body, jt809.RealLocation | jt809.HistoryLocation):
            await self._positions(session, body)
        elif isinstance(body, jt809.VehicleRegistration):
            await self._registration(session, frame, body)
        elif isinstance(body, jt809.WarnReport):
            await self._vehicle_update(session, body, services.raise_platform_alarm)
        elif isinstance(body, jt809.StaticInfo):
            await self._vehicle_update(session, body, services.update_static_info)
        elif isinstance(body, jt809.Unsupported):
            log.info("%s: 0x%04x/%s not handled", session, body.msg_id, body.data_type)
        # answers that need nothing more: 0x1006 is not sent to us; 0x9004, 0x9006 just keep the link alive

    async def _vehicle(self, session: Session, plate: str, colour: int) -> int | None:
        """The plate's unit, remembered for the session once found (a refused plate is looked up again)."""
        vehicle_id = session.plates.get(plate)
        if vehicle_id is None:
            vehicle_id = await self.lookup(services.vehicle_for_plate, session.config, plate, colour)
            if vehicle_id is None:
                log.warning("%s: vehicle %r is not on record and the platform has no default carrier", session, plate)
                return None
            session.plates[plate] = vehicle_id
        return vehicle_id

    async def _positions(self, session: Session, body) -> None:
        vehicle_id = await self._vehicle(session, body.plate, body.colour)
        if vehicle_id is None:
            return
        positions = body.positions if isinstance(body, jt809.HistoryLocation) else (body.gnss,)
        terminal = services.terminal_key(session.config.access_code, body.plate)
        for g in positions:
            fix = tracks.Fix(
                terminal, vehicle_id, g.time, g.latitude, g.longitude, float(g.speed_kmh), g.direction % 360,
                g.altitude, g.alarm, g.state,
            )  # fmt: skip
            if len(self._fixes) >= MAX_QUEUED_FIXES:  # PostgreSQL away for long: what is queued goes first
                log.error("position queue full: fix of %s at %s dropped", terminal, g.time.isoformat())
                continue
            self._fixes.append(fix)
        self._fixes_waiting.set()

    async def _registration(self, session: Session, frame: jt809.Frame, body: jt809.VehicleRegistration) -> None:
        vehicle_id = await self._vehicle(session, body.plate, body.colour)
        if session.config.version == jt809.V2019:
            result = jt809.RegisterResult.REGISTERED if vehicle_id else jt809.RegisterResult.NOT_APPROVED
            session.send_down(jt809.RegisterAck(jt809.SubId.REGISTER, frame.header.sn, result))
        if vehicle_id is None:
            return
        await self.lookup(services.register_vehicle, vehicle_id, session.config, body)
        session.send_down(jt809.StaticInfoRequest(body.plate, body.colour))

    async def _vehicle_update(self, session: Session, body, update) -> None:
        vehicle_id = await self._vehicle(session, body.plate, body.colour)
        if vehicle_id is not None:
            await self.lookup(update, vehicle_id, body)

    # ---------------------------------------------------------------------------------- positions

    async def _write_fixes(self) -> None:
        outage = Outage("JT/T 809 position write", log)
        while True:
            await self._fixes_waiting.wait()
            try:
                await self._flush()
            except Exception as exc:  # the fixes stay queued: retried after the back-off
                await asyncio.sleep(outage.failed(exc))
                continue
            outage.succeeded()
            if not self._fixes:
                self._fixes_waiting.clear()

    async def _flush(self) -> None:
        batch = list(itertools.islice(self._fixes, WRITE_BATCH))
        if not batch:
            return
        await self._db.run(tracks.ingest_fixes, batch, _feed_moved)
        for _ in batch:
            self._fixes.popleft()


def _feed_moved(result: tracks.WriteResult) -> None:
    _feed.publish(result.moved)
