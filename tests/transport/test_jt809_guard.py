"""The JT/T 809 main link guarded like the JT/T 808 ingest, over real TCP on loopback with real PostGIS and Redis:
the platform's address behind a trusted balancer (PROXY protocol v1) is what its allow-list checks, an untrusted
peer's PROXY line is not believed, connections beyond the per-address cap are closed, and repeated failed logins
cut an address off (audited) until the back-off has passed. Each client speaks from its own loopback address."""

import asyncio
import contextlib

import pytest
from channels.db import database_sync_to_async

from core.models import AuditEntry
from transport import jt809
from transport.demo import DEMO_PLATFORM
from transport.lower_platform import LowerPlatform, PlatformAccount
from transport.models import LowerPlatform as PlatformRow

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("empty_track")]

BALANCER = "127.0.0.40"  # the trusted load balancer's address
PLATFORM_ADDRESS = "10.1.2.3"  # where the platform really is, as the balancer announces it
CAP, FAILURE_LIMIT, BACKOFF_S = 2, 3, 2
CODE, USER, PASSWORD = DEMO_PLATFORM["access_code"], DEMO_PLATFORM["user_id"], DEMO_PLATFORM["password"]
UNKNOWN_CODE = 99999998


@pytest.fixture(autouse=True)
def guard_settings(settings):
    """A trusted balancer and small limits, set before the link server (conftest's ``link``) reads them."""
    settings.CITYOPS_JT809_TRUSTED_PROXIES = frozenset({BALANCER})
    settings.CITYOPS_JT809_CONNECTIONS_PER_ADDRESS = CAP
    settings.CITYOPS_JT809_LOGIN_FAILURE_LIMIT = FAILURE_LIMIT
    settings.CITYOPS_JT809_LOGIN_BACKOFF_SECONDS = BACKOFF_S


@pytest.fixture
def link_idle_s() -> float:
    return 5.0  # connections held open without a login stay while the cap is checked


@database_sync_to_async
def allow_addresses(*addresses: str) -> None:
    PlatformRow.objects.filter(access_code=CODE).update(allowed_addresses=list(addresses))


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError):
        while data := await reader.read(4096):
            writer.write(data)
            await writer.drain()
    writer.close()


@contextlib.asynccontextmanager
async def balancer(upstream: int, client: str):
    """A TCP relay like HAProxy with ``send-proxy``: it connects from BALANCER and announces ``client``; yields the
    port to connect to."""

    async def relay(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", upstream, local_addr=(BALANCER, 0))
        up_writer.write(f"PROXY TCP4 {client} 127.0.0.1 40000 {upstream}\r\n".encode())
        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    server = await asyncio.start_server(relay, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()


async def connect(port: int, source: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))


def login_frame(password: str = PASSWORD, access_code: int = CODE) -> bytes:
    """A 0x1001 naming a sub-link server nobody runs (port 9): these tests are about the main link."""
    return jt809.encode_message(jt809.ConnectRequest(USER, password, "127.0.0.1", 9), jt809.V2011, access_code, 1)


async def answer(reader: asyncio.StreamReader) -> int | None:
    """The result of the link's 0x1002, or None when it closed the connection without one."""
    splitter = jt809.FrameSplitter()
    with contextlib.suppress(ConnectionResetError):  # closed with our login unread
        while data := await asyncio.wait_for(reader.read(4096), 5):
            for raw in splitter.feed(data):
                frame = jt809.decode_frame(raw, jt809.V2011)
                body = jt809.decode_body(frame.header.msg_id, frame.body, jt809.V2011)
                if isinstance(body, jt809.ConnectResponse):
                    return body.result
    return None


async def login(port: int, source: str, prefix: bytes = b"", **frame) -> int | None:
    reader, writer = await connect(port, source)
    writer.write(prefix + login_frame(**frame))
    try:
        return await answer(reader)
    finally:
        writer.close()


async def test_behind_a_trusted_balancer_the_allow_list_sees_the_platforms_own_address(link):
    await allow_addresses(PLATFORM_ADDRESS)
    async with balancer(link.port, PLATFORM_ADDRESS) as port:
        sender = LowerPlatform(PlatformAccount("127.0.0.1", port, CODE, USER, PASSWORD, keepalive=0.2, retry_s=0.1))
        await sender.start()
        try:
            await asyncio.wait_for(sender.sub_up.wait(), 10)  # logged in, and the sub link came back to it
        finally:
            await sender.stop()
    assert sender.login_results == [jt809.ConnectResult.OK]
    # the same login straight from the platform's loopback address is not from 10.1.2.3
    assert await login(link.port, "127.0.0.41") == jt809.ConnectResult.BAD_ADDRESS
    # an untrusted peer's PROXY line is not believed: its own address is checked
    claim = f"PROXY TCP4 {PLATFORM_ADDRESS} 127.0.0.1 40000 {link.port}\r\n".encode()
    assert await login(link.port, "127.0.0.41", prefix=claim) == jt809.ConnectResult.BAD_ADDRESS
    # the balancer's own connection without a PROXY line (a health check, or someone round it) is not served
    assert await login(link.port, BALANCER) is None


async def test_connections_beyond_the_cap_from_one_address_are_closed(link):
    held = [await connect(link.port, "127.0.0.42") for _ in range(CAP)]
    await asyncio.sleep(0.1)  # accepted and waiting for their logins
    assert await login(link.port, "127.0.0.42", access_code=UNKNOWN_CODE) is None
    assert await login(link.port, "127.0.0.43", access_code=UNKNOWN_CODE) == jt809.ConnectResult.BAD_ACCESS_CODE
    held.pop()[1].close()
    await asyncio.sleep(0.1)
    assert await login(link.port, "127.0.0.42", access_code=UNKNOWN_CODE) == jt809.ConnectResult.BAD_ACCESS_CODE
    for _, writer in held:
        writer.close()


async def test_failed_logins_cut_the_address_off_until_the_back_off_has_passed(link):
    await allow_addresses("127.0.0.44", "127.0.0.45")
    wrong = [await login(link.port, "127.0.0.44", password=f"guess-{n}") for n in range(FAILURE_LIMIT)]
    assert wrong == [jt809.ConnectResult.BAD_PASSWORD] * FAILURE_LIMIT
    assert await login(link.port, "127.0.0.44") is None  # the right password, during the back-off: no answer
    assert link.sessions == {}
    # the platform itself, from its other address, still logs in (it has the password)
    assert await login(link.port, "127.0.0.45") == jt809.ConnectResult.OK

    audit = await AuditEntry.objects.aget(action="device.jt809_login_failed")
    platform = await PlatformRow.objects.aget(access_code=CODE)
    assert (audit.target_type, audit.target_id, audit.source) == (
        "transport.lowerplatform",
        str(platform.pk),
        "127.0.0.44",
    )
    assert audit.changes["source"] == "127.0.0.44" and "source" in audit.changes["bursts"]

    await asyncio.sleep(BACKOFF_S + 0.3)
    assert await login(link.port, "127.0.0.44") == jt809.ConnectResult.OK
    assert await AuditEntry.objects.filter(action="device.jt809_login_failed").acount() == 1
