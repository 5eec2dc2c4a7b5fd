"""A JT/T 809 lower platform (下级: an enterprise monitoring platform), written from the standard's message
layouts: the sender the link server is tested against, and the demo's feed.

It runs its sub-link server (the upper connects to it and must present the verify code of the last 0x1002),
logs in on the main link, keeps it alive with 0x1005, answers 0x9005 and 0x9601, and reconnects with back-off.
Positions offered while the main link is down are kept and sent as 0x1203 back-fill (at most 5 per message)
once it is up again, as the standard intends, so a link loss loses nothing.
"""

import asyncio
import contextlib
import logging
import time
from collections import deque
from dataclasses import dataclass, field

from . import jt809

log = logging.getLogger(__name__)


@dataclass
class PlatformAccount:
    host: str
    port: int
    access_code: int
    user_id: int
    password: str
    version: int = jt809.V2011
    keys: jt809.Keys | None = None  # encrypt every body with these
    sub_host: str = "127.0.0.1"
    sub_port: int = 0  # 0: any free port
    keepalive: float = 60.0
    retry_s: float = 1.0
    static_info: dict[str, str] = field(default_factory=dict)  # plate → the 0x1601 key:=value; text


class LowerPlatform:
    def __init__(self, account: PlatformAccount):
        self.account = account
        self.sn = 0
        self.verify_code: int | None = None
        self.login_results: list[int] = []
        self.received: list[object] = []  # every message from the upper, on either link
        self.main_up = asyncio.Event()
        self.sub_up = asyncio.Event()
        self._main: asyncio.StreamWriter | None = None
        self._sub: asyncio.StreamWriter | None = None
        self._backlog: deque[tuple[str, int, jt809.Gnss]] = deque()
        self._sub_server: asyncio.Server | None = None
        self._task: asyncio.Task | None = None
        self._last_sent = 0.0

    # ------------------------------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        self._sub_server = await asyncio.start_server(self._serve_sub, self.account.sub_host, self.account.sub_port)
        self.account.sub_port = self._sub_server.sockets[0].getsockname()[1]
        self._task = asyncio.create_task(self._run_main())

    async def stop(self, logout: bool = True) -> None:
        if logout and self._main is not None:
            self._send(self._main, jt809.DisconnectRequest(self.account.user_id, self.account.password))
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._sub_server.close()
        for writer in (self._main, self._sub):
            if writer is not None:
                writer.close()

    def kill_main(self) -> None:
        """Break the main link as a network fault would (no logout)."""
        if self._main is not None:
            self._main.transport.abort()

    def kill_sub(self) -> None:
        if self._sub is not None:
            self._sub.transport.abort()

    # ------------------------------------------------------------------------------------- sending

    def frame(self, body) -> bytes:
        self.sn = (self.sn + 1) & 0xFFFFFFFF
        return jt809.encode_message(body, self.account.version, self.account.access_code, self.sn, self.account.keys)

    def _send(self, writer: asyncio.StreamWriter, body) -> None:
        writer.write(self.frame(body))
        self._last_sent = time.monotonic()

    def send(self, body) -> bool:
        """An UP_* message on the main link; False when it is down (the message is not sent)."""
        if self._main is None or not self.main_up.is_set():
            return False
        self._send(self._main, body)
        return True

    def position(self, plate: str, colour: int, gnss: jt809.Gnss) -> None:
        """A real-time position (0x1202), or kept for back-fill while the main link is down."""
        if not self.send(jt809.RealLocation(plate, colour, gnss)):
            self._backlog.append((plate, colour, gnss))

    def _send_backlog(self) -> None:
        while self._backlog and self.main_up.is_set():
            plate, colour, _ = self._backlog[0]
            batch = []
            while self._backlog and len(batch) < jt809.MAX_BACKFILL and self._backlog[0][:2] == (plate, colour):
                batch.append(self._backlog.popleft()[2])
            self.send(jt809.HistoryLocation(plate, colour, tuple(batch)))

    @property
    def backlog(self) -> int:
        return len(self._backlog)

    # ------------------------------------------------------------------------------------- main link

    async def _run_main(self) -> None:
        delay = self.account.retry_s
        while True:
            try:
                reader, writer = await asyncio.open_connection(self.account.host, self.account.port)
            except OSError:
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
                continue
            self._main = writer
            try:
                if await self._login(reader, writer):
                    delay = self.account.retry_s
                    await self._serve(reader, writer, main=True)
            except (ConnectionError, jt809.JT809Error) as exc:
                log.info("main link lost: %s", exc)
            finally:
                self.main_up.clear()
                self._main = None
                writer.close()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30.0)

    async def _login(self, reader, writer) -> bool:
        a = self.account
        self._send(writer, jt809.ConnectRequest(a.user_id, a.password, a.sub_host, a.sub_port, a.access_code))
        splitter = jt809.FrameSplitter()
        while True:
            data = await reader.read(4096)
            if not data:
                return False
            for raw in splitter.feed(data):
                body = self._decode(raw)
                if isinstance(body, jt809.ConnectResponse):
                    self.login_results.append(body.result)
                    if body.result != jt809.ConnectResult.OK:
                        return False
                    self.verify_code = body.verify_code
                    self.main_up.set()
                    self._send_backlog()
                    return True

    def _decode(self, raw: bytes):
        frame = jt809.decode_frame(raw, self.account.version, self.account.keys)
        return jt809.decode_body(frame.header.msg_id, frame.body, self.account.version)

    async def _serve(self, reader, writer, main: bool) -> None:
        splitter = jt809.FrameSplitter()
        keepalive = asyncio.create_task(self._keep_alive(writer)) if main else None
        try:
            while data := await reader.read(4096):
                for raw in splitter.feed(data):
                    self._answer(writer, self._decode(raw))
        finally:
            if keepalive is not None:
                keepalive.cancel()

    async def _keep_alive(self, writer) -> None:
        while True:
            wait = self._last_sent + self.account.keepalive - time.monotonic()
            if wait <= 0:
                self._send(writer, jt809.LinkTest())
                wait = self.account.keepalive
            await asyncio.sleep(wait)

    def _answer(self, writer, body) -> None:
        self.received.append(body)
        if isinstance(body, jt809.DownLinkTest):
            self._send(writer, jt809.DownLinkTestResponse())
        elif isinstance(body, jt809.DownDisconnectRequest):
            self._send(writer, jt809.DownDisconnectResponse())
        elif isinstance(body, jt809.StaticInfoRequest):
            info = self.account.static_info.get(body.plate, "")
            self.send(jt809.StaticInfo(body.plate, body.colour, info))

    # -------------------------------------------------------------------------------------- sub link

    async def _serve_sub(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """The upper's sub link: the first message must be 0x9001 with the verify code of our last login."""
        splitter = jt809.FrameSplitter()
        try:
            greeted = False
            while not greeted and (data := await reader.read(4096)):
                for raw in splitter.feed(data):
                    body = self._decode(raw)
                    self.received.append(body)
                    if isinstance(body, jt809.DownConnectRequest):
                        ok = self.verify_code is not None and body.verify_code == self.verify_code
                        result = jt809.DownConnectResult.OK if ok else jt809.DownConnectResult.BAD_VERIFY_CODE
                        self._send(writer, jt809.DownConnectResponse(result))
                        if not ok:
                            return
                        greeted = True
            if not greeted:
                return
            if self._sub is not None:
                self._sub.close()
            self._sub = writer
            self.sub_up.set()
            await self._serve(reader, writer, main=False)
        except (ConnectionError, jt809.JT809Error) as exc:
            log.info("sub link lost: %s", exc)
        finally:
            if self._sub is writer:
                self._sub = None
                self.sub_up.clear()
            writer.close()
