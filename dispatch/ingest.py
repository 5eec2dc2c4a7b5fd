"""JT/T 808 TCP server: terminals in, batched positions into PostGIS, acknowledgements only after commit.

One asyncio process serves every connection. Per connection: a ``FrameSplitter`` cuts the stream, each frame
is decoded on its own (a bad frame is logged and dropped, never fatal), and replies leave in order through
one sender task. Location frames (0x0200, 0x0704) go to the shared ``BatchWriter``; their 0x8001 waits for
the batch's commit, so a terminal that does not get the ack resends, and ``(terminal, fix_time)``
de-duplication makes the resend harmless. Database work runs in two dedicated threads (writes; look-ups)
so the event loop never blocks on PostgreSQL. Commands to vehicles (``commands``) go out through ``Downlink``: on
authentication, when the web process NOTIFYs that one was queued, and on a periodic re-scan; answers are matched
by (terminal, platform serial) and unanswered ones resent with growing timeouts. An address holds at most
CITYOPS_JT808_CONNECTIONS_PER_ADDRESS connections, and repeated failed authentications cut it off for a while
(``device_security``). Behind a load balancer the terminal's address comes from its PROXY protocol line
(``core.tcp_sources``).
"""

import asyncio
import contextlib
import dataclasses
import hmac
import logging
import time

import psycopg
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import DatabaseError, connections

from core.db_thread import DatabaseThread
from core.realtime import VEHICLE_GROUP
from core.resilience import Outage
from core.tcp_sources import OpenConnections, client_address, described

from . import commands, device_security, jt808, selectors, tracks
from .jt808 import GeneralResult, MsgId, RegisterResult

log = logging.getLogger(__name__)

BATCH_SIZE = 2000  # positions per COPY
BATCH_DELAY = 0.02  # seconds a position may wait for more to share its transaction
FEED_GAP = 0.1  # seconds between two position messages to the consoles: each message costs every console
MAX_IN_FLIGHT = 256  # unanswered frames per connection before we stop reading it (back-pressure)
READ_SIZE = 65536
CLOSE = object()  # reply-queue marker: close the connection after the replies queued before it
ANSWERS = jt808.TerminalResponse | jt808.TerminalParams | jt808.PositionAnswer | jt808.ControlAnswer
COMMAND_TIMEOUT_S = 10.0  # T(1): wait for a terminal's answer before the first resend
COMMAND_ATTEMPTS = 3  # sends of one command (first + resends) before it is failed
COMMAND_RESCAN_S = 10.0  # safety net: queued commands of connected terminals are looked for this often


class BatchWriter:
    """Collects the fixes of all connections and stores them ``BATCH_SIZE`` at a time or every
    ``BATCH_DELAY``; one batch is written while the next fills, so the database sees few, large transactions.
    """

    def __init__(self, feed: tracks.VehicleFeed, batch_size: int = BATCH_SIZE, delay: float = BATCH_DELAY):
        self.feed = feed
        self.moved = asyncio.Event()  # set when a committed batch added positions to the feed
        self.batch_size = batch_size
        self.delay = delay
        self._queue: list[tuple[list[tracks.Fix], asyncio.Future]] = []
        self._queued = 0
        self._wakeup = asyncio.Event()
        self._full = asyncio.Event()
        self._db = DatabaseThread("track-writes")
        self._task: asyncio.Task | None = None
        self._outage = Outage("track batch write", log)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        """Write what is queued, then release the thread and its database connection."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            while self._queue:
                if await self._flush():
                    break  # the database is away: what is left was not acked, the terminals resend it
        await self._db.close()

    def submit(self, fixes: list[tracks.Fix]) -> asyncio.Future:
        """A future resolved with the reasons each fix was refused (None = stored) once the batch committed."""
        future = asyncio.get_running_loop().create_future()
        self._queue.append((fixes, future))
        self._queued += len(fixes)
        self._wakeup.set()
        if self._queued >= self.batch_size:
            self._full.set()
        return future

    async def _run(self) -> None:
        while True:
            await self._wakeup.wait()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._full.wait(), self.delay)
            backoff = await self._flush()
            if backoff:  # the database is away: wait longer after each failure in a row
                await asyncio.sleep(backoff)

    async def _flush(self) -> float:
        """Write one batch; after a failure (nothing committed, nothing acked: the terminals resend) the seconds to
        wait before the next, else 0."""
        taken, count = [], 0
        while self._queue and (not taken or count + len(self._queue[0][0]) <= self.batch_size):
            item = self._queue.pop(0)
            taken.append(item)
            count += len(item[0])
        self._queued -= count
        if not self._queue:
            self._wakeup.clear()
        if self._queued < self.batch_size:
            self._full.clear()
        fixes = [fix for item, _ in taken for fix in item]
        loop = asyncio.get_running_loop()

        def publish(result: tracks.WriteResult) -> None:  # on the database thread: the feed and acks are the loop's
            loop.call_soon_threadsafe(self._committed, taken, result)

        try:
            await self._db.run(tracks.ingest_fixes, fixes, publish)
        except Exception as exc:  # nothing committed: no ack, the terminals resend
            for _, future in taken:
                if not future.done():
                    future.set_exception(exc)
            return self._outage.failed(exc)
        self._outage.succeeded()
        return 0.0

    def _committed(self, taken: list[tuple[list[tracks.Fix], asyncio.Future]], result: tracks.WriteResult) -> None:
        """Feed the moved units to the consoles and ack each submitter's fixes."""
        self.feed.add(result.moved)
        self.moved.set()
        at = 0
        for item, future in taken:
            if not future.done():
                future.set_result(result.refused[at : at + len(item)])
            at += len(item)


class Connection:
    """One terminal's TCP session: what it proved (authenticated phone → unit) and its ordered replies."""

    def __init__(self, server: "IngestServer", reader: asyncio.StreamReader, writer: asyncio.StreamWriter, source: str):
        self.server = server
        self.reader = reader
        self.writer = writer
        self.peer = described(source, writer)  # for the log
        self.source = source
        self.serial = 0
        self.phone: str | None = None  # set by a successful 0x0102
        self.vehicle_id: int | None = None
        self.terminal: jt808.Header | None = None  # its 0x0102 header: the form (2013/2019) commands are sent in
        self.in_flight: dict[int, InFlight] = {}  # commands sent on this session and not settled, by serial
        self.delivering = asyncio.Lock()  # one pass over the terminal's queue at a time, in order
        # Replies in arrival order: bytes, or (request header, future of a batch) answered after commit.
        self.replies: asyncio.Queue = asyncio.Queue(MAX_IN_FLIGHT)

    def next_serial(self) -> int:
        self.serial = (self.serial + 1) & 0xFFFF
        return self.serial

    def response(self, header: jt808.Header, result: int) -> bytes:
        return jt808.platform_response(header, self.next_serial(), result)

    async def serve(self) -> None:
        sender = asyncio.create_task(self._send_replies())
        splitter = jt808.FrameSplitter()
        try:
            while not sender.done() and (data := await self._read()):
                for frame in splitter.feed(data):
                    if sender.done():
                        break
                    await self.handle(frame)
            if not sender.done():
                await self.replies.put(None)  # the peer closed: answer what is pending, then stop
            await sender
        except ConnectionError:
            log.info("terminal %s (%s) disconnected", self.phone, self.peer)
        finally:
            self.server.detach(self)
            sender.cancel()
            self.writer.close()
            with contextlib.suppress(Exception):
                await self.writer.wait_closed()

    async def _read(self) -> bytes:
        """The next bytes from the terminal; b"" (end of session) when it has been silent too long."""
        try:
            return await asyncio.wait_for(self.reader.read(READ_SIZE), settings.CITYOPS_JT808_IDLE_SECONDS)
        except TimeoutError:
            log.info(
                "terminal %s (%s) silent for %ss: closed", self.phone, self.peer, settings.CITYOPS_JT808_IDLE_SECONDS
            )
            return b""

    async def _send_replies(self) -> None:
        try:
            while (item := await self.replies.get()) is not None and item is not CLOSE:
                if isinstance(item, bytes):
                    self.writer.write(item)
                else:
                    header, future = item
                    try:
                        refused = await future
                    except Exception:  # the batch did not commit (logged): stay silent, the terminal resends
                        log.info("no ack for frame %s of terminal %s", header.serial, header.phone)
                        continue
                    # Fixes refused for good (0,0, out of range…) get "bad message", not "failure": a terminal
                    # resends on failure, forever, and alarms cleared by the ack would never clear.
                    ok = any(reason is None for reason in refused)
                    self.writer.write(self.response(header, GeneralResult.SUCCESS if ok else GeneralResult.BAD_MESSAGE))
                if self.replies.empty():
                    await self.writer.drain()
            await self.writer.drain()
        finally:
            while not self.replies.empty():  # unblock a reader waiting to queue into a dead sender
                self.replies.get_nowait()
            self.writer.close()

    async def handle(self, frame: bytes) -> None:
        try:
            message = jt808.decode_frame(frame)
        except jt808.BadChecksumError as exc:
            await self._refuse_checksum(frame, exc)
            return
        except jt808.JT808Error as exc:
            log.warning("frame from %s dropped: %s", self.peer, exc)
            return
        header, body = message.header, message.body
        if isinstance(body, jt808.Register):
            await self._register(header, body)
        elif isinstance(body, jt808.Authenticate):
            await self._authenticate(header, body)
        elif isinstance(body, jt808.Location | jt808.LocationBatch):
            await self._locations(header, body)
        elif isinstance(body, ANSWERS):
            if self.phone is not None and header.phone == self.phone:
                await self.server.downlink.answered(self, body)
        elif header.msg_id in (MsgId.HEARTBEAT, MsgId.LOGOUT):
            await self.replies.put(self.response(header, GeneralResult.SUCCESS))
        else:
            await self.replies.put(self.response(header, GeneralResult.UNSUPPORTED))

    async def _refuse_checksum(self, frame: bytes, exc: jt808.BadChecksumError) -> None:
        """Answer "failure" when the header can still be read, so the terminal resends; otherwise only log."""
        try:
            header = jt808.decode_frame(frame, verify_checksum=False).header
        except jt808.JT808Error:
            log.warning("frame from %s dropped: %s; header unreadable", self.peer, exc)
            return
        log.warning("frame 0x%04x from terminal %s dropped: %s", header.msg_id, header.phone, exc)
        await self.replies.put(self.response(header, GeneralResult.FAILURE))

    async def _register(self, header: jt808.Header, body: jt808.Register) -> None:
        if await self._backing_off():
            return
        outcome, code = await self.server.lookup(_registration, header.phone, body.plate)
        if outcome is RegisterResult.SUCCESS:
            log.info("terminal %s registered (plate %s)", header.phone, body.plate)
        else:
            log.warning(
                "registration of terminal %s (plate %s, %s) refused: %s",
                header.phone,
                body.plate,
                self.peer,
                outcome.name,
            )
        result = jt808.RegisterResponse(header.serial, outcome, code)
        reply = jt808.encode_frame(jt808.response_header(header, MsgId.REGISTER_RESPONSE, self.next_serial()), result)
        await self.replies.put(reply)
        if outcome is not RegisterResult.SUCCESS:
            await self._failed(header.phone)
            await self.replies.put(CLOSE)

    async def _authenticate(self, header: jt808.Header, body: jt808.Authenticate) -> None:
        if await self._backing_off():
            return
        unit = await self.server.lookup(selectors.jt808_terminal, header.phone)
        expected = unit.jt808_auth_code if unit is not None else ""
        if expected and hmac.compare_digest(expected.encode(), body.auth_code.encode()):
            self.phone, self.vehicle_id, self.terminal = header.phone, unit.pk, header
            result = GeneralResult.SUCCESS
        else:
            log.warning("authentication refused for terminal %s (%s)", header.phone, self.peer)
            result = GeneralResult.FAILURE
        await self.replies.put(self.response(header, result))
        if result is GeneralResult.FAILURE:
            await self._failed(header.phone)
        else:
            self.server.attach(self)

    async def _backing_off(self) -> bool:
        """An address cut off after failed authentications gets no answer from a connection opened before."""
        if await self.server.guard.refused(self.source):
            log.warning("terminal %s closed: its address is backing off after failed authentications", self.peer)
            await self.replies.put(CLOSE)
            return True
        return False

    async def _failed(self, phone: str) -> None:
        """Count the failure; past the limit the address is cut off, and a new burst is an alarm and audited."""
        refused, bursts = await self.server.guard.failed(self.source, phone)
        if bursts:
            await self.server.lookup(device_security.report_auth_failures, self.source, phone, bursts)
        if refused:
            log.warning("terminal %s cut off after failed authentications (%s)", self.peer, ", ".join(bursts))
            await self.replies.put(CLOSE)

    async def _locations(self, header: jt808.Header, body: jt808.Location | jt808.LocationBatch) -> None:
        if self.phone is None or header.phone != self.phone:
            log.warning("location from terminal %s (%s) refused: not authenticated", header.phone, self.peer)
            await self.replies.put(self.response(header, GeneralResult.FAILURE))
            return
        items = body.items if isinstance(body, jt808.LocationBatch) else (body,)
        fixes = [
            tracks.Fix(
                self.phone,
                self.vehicle_id,
                loc.time,
                loc.latitude,
                loc.longitude,
                loc.speed_kmh,
                loc.direction,
                loc.altitude,
                int(loc.alarm),
                int(loc.status),
            )
            for loc in items
        ]
        await self.replies.put((header, self.server.batch.submit(fixes)))


class InFlight:
    """A command sent on this session and not yet settled: its resend timer and whether the terminal said it got
    it (a 0x0001 "ok" to a command settled by a dedicated answer: no more resends, wait for that answer)."""

    __slots__ = ("acknowledged", "attempts", "command", "frame", "timer")

    def __init__(self, command: commands.Pending, frame: bytes):
        self.command = command
        self.frame = frame
        self.attempts = command.attempts + 1
        self.acknowledged = False
        self.timer: asyncio.Task | None = None


class Downlink:
    """Sends the queued commands of the terminals connected to this process and settles them by their answers.

    Sending is claim-then-write: the conditional UPDATE (``commands.claim``) decides, so a command is never sent by
    two replicas or after it was answered or expired; an answer is matched in the database by (vehicle, serial), so a
    late one still counts. Unanswered: resent with the same serial after T(N), T(N+1) = T(N)×(N+1), failed after
    ``attempts`` sends. The web process NOTIFYs at commit; a re-scan every ``rescan`` seconds (and after the listener
    reconnects) finds what a lost notification did not announce.
    """

    def __init__(self, server: "IngestServer", timeout: float, attempts: int, rescan: float):
        self.server, self.timeout, self.attempts, self.rescan_every = server, timeout, attempts, rescan
        self.rescan_now = asyncio.Event()
        self._tasks: set[asyncio.Task] = set()
        self._loops: list[asyncio.Task] = []

    def start(self) -> None:
        self._loops = [asyncio.create_task(self._listen()), asyncio.create_task(self._rescan())]

    async def stop(self) -> None:
        for task in [*self._loops, *self._tasks]:
            task.cancel()
        await asyncio.gather(*self._loops, *self._tasks, return_exceptions=True)

    def _spawn(self, coro) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def deliver_soon(self, conn: Connection) -> None:
        self._spawn(self._deliver(conn))

    async def _deliver(self, conn: Connection) -> None:
        try:
            async with conn.delivering:
                for command in await self.server.lookup(commands.pending_for, conn.vehicle_id):
                    if self.server.terminals.get(conn.vehicle_id) is not conn:
                        return  # the session ended (or a newer one took over): that one delivers
                    if any(f.command.id == command.id for f in conn.in_flight.values()):
                        continue  # already out on this session; its timer resends it
                    await self._send(conn, command)
        except (DatabaseError, psycopg.Error):
            self.rescan_now.set()  # told by the look-ups' outage story; try again soon
        except Exception:
            log.exception("delivering commands to terminal %s failed", conn.phone)

    async def _send(self, conn: Connection, command: commands.Pending) -> None:
        serial = conn.next_serial()
        body = commands.body_for(command.kind, command.params, conn.terminal.is_2019)
        frame = jt808.encode_frame(jt808.response_header(conn.terminal, body.MSG_ID, serial), body)
        if not await self.server.lookup(commands.claim, command, serial, self.attempts):
            return
        flight = InFlight(command, frame)
        conn.in_flight[serial] = flight
        await conn.replies.put(frame)
        flight.timer = asyncio.create_task(self._watch(conn, serial, flight))

    async def _watch(self, conn: Connection, serial: int, flight: InFlight) -> None:
        """Resend until answered, with growing waits; then give up."""
        wait = self.timeout
        try:
            while True:
                await asyncio.sleep(wait)
                if conn.in_flight.get(serial) is not flight:
                    return
                if flight.acknowledged or flight.attempts >= self.attempts:
                    conn.in_flight.pop(serial, None)
                    reason = "no answer after the terminal acknowledged" if flight.acknowledged else "no answer"
                    await self.server.lookup(commands.give_up, flight.command.id, flight.attempts, reason)
                    return
                again = dataclasses.replace(flight.command, attempts=flight.attempts)
                if not await self.server.lookup(commands.claim, again, serial, self.attempts):
                    conn.in_flight.pop(serial, None)  # settled, expired or taken over elsewhere
                    return
                flight.attempts += 1
                await conn.replies.put(flight.frame)
                wait *= flight.attempts  # T(N+1) = T(N) × (N+1)
        except (DatabaseError, psycopg.Error):
            conn.in_flight.pop(serial, None)  # still "sent" in the database: the next session sends it again

    async def answered(self, conn: Connection, body) -> None:
        """A terminal's 0x0001, 0x0104, 0x0201 or 0x0500: settle the command it answers."""
        if isinstance(body, jt808.TerminalResponse):
            kinds = commands.KINDS_ANSWERED_BY.get(body.reply_id)
            if not kinds:
                return  # an answer to something that is not a command (nothing else asks the terminal)
            result, answer = int(body.result), None
            if result == GeneralResult.SUCCESS and kinds <= commands.DEDICATED_ANSWER:
                flight = conn.in_flight.get(body.reply_serial)
                if flight is not None:
                    flight.acknowledged = True  # got it; its own answer follows
                return
        else:
            kinds, result = commands.KINDS_ANSWERED_BY[body.MSG_ID], int(GeneralResult.SUCCESS)
            if isinstance(body, jt808.TerminalParams):
                answer = {"params": commands.params_json(body.params)}
            else:
                answer = {"position": commands.location_json(body.location)}
        error = "" if result == GeneralResult.SUCCESS else f"terminal answered {_result_name(result)}"
        await self.server.lookup(commands.settle, conn.vehicle_id, body.reply_serial, kinds, result, answer, error)
        flight = conn.in_flight.pop(body.reply_serial, None)
        if flight is not None and flight.timer is not None:
            flight.timer.cancel()

    async def _listen(self) -> None:
        """LISTEN for the web process's NOTIFY; reconnects when PostgreSQL goes away, then re-scans."""
        outage = Outage("command notifications (LISTEN)", log)
        db = connections["default"].settings_dict
        conninfo = psycopg.conninfo.make_conninfo(
            dbname=db["NAME"], user=db["USER"], password=db["PASSWORD"], host=db["HOST"], port=db["PORT"]
        )
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as listener:
                    await listener.execute(f"LISTEN {commands.NOTIFY_CHANNEL}")
                    outage.succeeded()
                    self.rescan_now.set()  # what was queued while nobody listened
                    async for note in listener.notifies():
                        self._notified(note.payload)
            except (psycopg.Error, OSError) as exc:
                await asyncio.sleep(outage.failed(exc))

    def _notified(self, payload: str) -> None:
        if payload == commands.NOTIFY_ALL:
            self.rescan_now.set()
            return
        for vehicle_id in payload.split(","):
            conn = self.server.terminals.get(int(vehicle_id)) if vehicle_id.isdigit() else None
            if conn is not None:
                self.deliver_soon(conn)

    async def _rescan(self) -> None:
        outage = Outage("command re-scan", log)
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.rescan_now.wait(), self.rescan_every)
            self.rescan_now.clear()
            try:
                await self.server.lookup(commands.expire_due)
                for vehicle_id in await self.server.lookup(commands.vehicles_with_queued, list(self.server.terminals)):
                    conn = self.server.terminals.get(vehicle_id)
                    if conn is not None:
                        self.deliver_soon(conn)
            except (DatabaseError, psycopg.Error) as exc:
                await asyncio.sleep(outage.failed(exc))
            else:
                outage.succeeded()


def _result_name(result: int) -> str:
    try:
        return GeneralResult(result).name.lower().replace("_", " ")
    except ValueError:
        return f"result {result}"


def _registration(phone: str, plate: str) -> tuple[RegisterResult, str]:
    """The phone number is no secret: a terminal gets a code only if the plate matches too, and only once (a
    registered terminal authenticates with the code it stored; an administrator releases it to register again)."""
    unit = selectors.jt808_terminal(phone)
    if unit is None:
        return RegisterResult.TERMINAL_NOT_IN_DATABASE, ""
    if unit.plate and plate.strip() != unit.plate:
        return RegisterResult.VEHICLE_NOT_IN_DATABASE, ""
    code = tracks.register_jt808_terminal(unit)
    return (RegisterResult.SUCCESS, code) if code else (RegisterResult.TERMINAL_ALREADY_REGISTERED, "")


class IngestServer:
    """The listening socket, the shared batch writer and the coalesced vehicle feed of one process."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 6808,
        *,
        command_timeout: float = COMMAND_TIMEOUT_S,
        command_attempts: int = COMMAND_ATTEMPTS,
        command_rescan: float = COMMAND_RESCAN_S,
        **batch_options,
    ):
        self.host, self.port = host, port
        self.terminals: dict[int, Connection] = {}  # authenticated sessions by vehicle: where its commands go
        self.downlink = Downlink(self, command_timeout, command_attempts, command_rescan)
        self.feed = tracks.VehicleFeed()
        self.batch = BatchWriter(self.feed, **batch_options)
        self._lookups = DatabaseThread("terminal-lookups")
        self._server: asyncio.Server | None = None
        self._publisher: asyncio.Task | None = None
        self._connections: dict[asyncio.Task, asyncio.StreamWriter] = {}
        self._open = OpenConnections()
        self.guard = device_security.jt808_guard()
        # Terminals reconnecting while PostgreSQL fails over: one story in the log, not a traceback per attempt.
        self._lookup_outage = Outage("terminal look-ups (registration, authentication)", log)

    async def start(self) -> None:
        self.batch.start()
        self.downlink.start()
        self._publisher = asyncio.create_task(self._publish())
        self._server = await asyncio.start_server(self._accept, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("JT/T 808 ingest listening on %s:%s", self.host, self.port)

    async def stop(self) -> None:
        """Stop accepting, close every connection (pending acks are dropped: terminals resend), flush."""
        self._server.close()
        for writer in list(self._connections.values()):
            writer.transport.abort()
        await asyncio.gather(*self._connections, return_exceptions=True)
        await self.downlink.stop()
        await self.batch.stop()
        await self.guard.close()
        self._publisher.cancel()
        await self._lookups.close()

    def attach(self, conn: Connection) -> None:
        """An authenticated session: its vehicle's commands go there from now on, starting with the queued ones."""
        self.terminals[conn.vehicle_id] = conn
        self.downlink.deliver_soon(conn)

    def detach(self, conn: Connection) -> None:
        if conn.vehicle_id is not None and self.terminals.get(conn.vehicle_id) is conn:
            del self.terminals[conn.vehicle_id]
        for flight in conn.in_flight.values():
            if flight.timer is not None:
                flight.timer.cancel()
        conn.in_flight.clear()

    async def lookup(self, func, *args):
        return await self._lookups.run(func, *args, outage=self._lookup_outage)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        self._connections[task] = writer
        source = await client_address(
            reader, writer, settings.CITYOPS_JT808_TRUSTED_PROXIES, settings.CITYOPS_JT808_IDLE_SECONDS
        )
        if source is None:  # a trusted load balancer's health check, or a line that is not PROXY protocol
            self._connections.pop(task, None)
            writer.close()
            return
        try:
            with self._open.holding(source) as others:
                if await self._admitted(source, others):
                    await Connection(self, reader, writer, source).serve()
        except (DatabaseError, psycopg.Error):
            pass  # told by the look-ups' outage story; the terminal reconnects and tries again
        except Exception:  # one broken session must never take the server or other terminals down
            log.exception("connection from %s failed", source)
        finally:
            writer.close()
            self._connections.pop(task, None)

    async def _admitted(self, source: str, others: int) -> bool:
        """Refused at once: a connection beyond the address's share, or from an address backing off."""
        if others >= settings.CITYOPS_JT808_CONNECTIONS_PER_ADDRESS:
            log.warning("connection from %s refused: %d open from that address", source, others)
            return False
        if await self.guard.refused(source):
            log.warning("connection from %s refused: backing off after failed authentications", source)
            return False
        return True

    async def _publish(self) -> None:
        """Send positions as soon as their batch is committed, or when the 1 Hz coalescing lets a held one go;
        batches committed less than FEED_GAP after the last message share the next one."""
        layer = get_channel_layer()
        fan_out = Outage("vehicle fan-out to the consoles", log)
        while True:
            wait = self.feed.next_due(time.monotonic())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.batch.moved.wait(), wait)
            self.batch.moved.clear()
            due = self.feed.take(time.monotonic())
            if due:
                try:
                    await layer.group_send(VEHICLE_GROUP, tracks.vehicles_message(due))
                except Exception as exc:  # positions are committed; the next message or a snapshot carries them
                    await asyncio.sleep(fan_out.failed(exc))
                else:
                    fan_out.succeeded()
                await asyncio.sleep(FEED_GAP)
