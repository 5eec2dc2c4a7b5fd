"""The JT/T 808 ingest end to end: real TCP on loopback, real PostGIS, real Redis, a real killed process."""

import asyncio
import logging
from datetime import UTC, datetime, timedelta

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer

from core.realtime import VEHICLE_GROUP
from dispatch import jt808, tracks
from dispatch.demo import demo_terminal
from dispatch.ingest import IngestServer
from dispatch.jt808 import GeneralResult, MsgId, RegisterResult
from dispatch.models import TrackPoint, Vehicle

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("empty_track")]

PHONE_A, PHONE_B = demo_terminal(1)[0], demo_terminal(2)[0]
SHENZHEN = (22.54, 114.05)



@pytest.fixture
async def ingest():
    server = IngestServer("127.0.0.1", 0, batch_size=500, delay=0.01)
    await server.start()
    yield server
    await server.stop()


def location(seconds_ago: int, lat: float = SHENZHEN[0], lon: float = SHENZHEN[1], **changes) -> jt808.Location:
    now = datetime.now(UTC).replace(microsecond=0)
    fields = dict(
        alarm=jt808.Alarm(0),
        status=jt808.Status.FIXED | jt808.Status.GPS,
        latitude=lat,
        longitude=lon,
        altitude=12,
        speed_kmh=42.5,
        direction=90,
        time=now - timedelta(seconds=seconds_ago),
    )
    return jt808.Location(**{**fields, **changes})


class Terminal:
    """A JT/T 808 terminal built on the codec, as a vehicle would speak it."""

    def __init__(self, phone: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.phone, self.reader, self.writer = phone, reader, writer
        self.serial = 0
        self.splitter = jt808.FrameSplitter()
        self.inbox: list[bytes] = []

    @classmethod
    async def connect(cls, port: int, phone: str) -> "Terminal":
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(phone, reader, writer)

    def frame(self, body, msg_id: int | None = None) -> tuple[int, bytes]:
        self.serial += 1
        header = jt808.Header(msg_id if msg_id is not None else body.MSG_ID, self.phone, self.serial)
        return self.serial, jt808.encode_frame(header, body)

    async def send(self, body) -> int:
        serial, data = self.frame(body)
        self.writer.write(data)
        await self.writer.drain()
        return serial

    async def receive(self, timeout: float = 10) -> jt808.Message:
        while not self.inbox:
            data = await asyncio.wait_for(self.reader.read(4096), timeout)
            if not data:
                raise EOFError("server closed the connection")
            self.inbox += self.splitter.feed(data)
        return jt808.decode_frame(self.inbox.pop(0))

    async def register(self, plate: str | None = None) -> jt808.RegisterResponse:
        """Registers with the unit's own plate unless told otherwise (the platform checks it)."""
        if plate is None:
            plate = await Vehicle.objects.filter(jt808_phone=self.phone).values_list("plate", flat=True).afirst() or ""
        await self.send(jt808.Register(44, 300, "CITYO", "T1", "0000001", 1, plate))
        return (await self.receive()).body

    async def login(self) -> None:
        """As a terminal does: register the first time, then authenticate with the code it stored."""
        stored_code = (
            await Vehicle.objects.filter(jt808_phone=self.phone).values_list("jt808_auth_code", flat=True).afirst()
        )
        await self.authenticate(stored_code or (await self.register()).auth_code)

    async def authenticate(self, code: str) -> None:
        serial = await self.send(jt808.Authenticate(code))
        ack = (await self.receive()).body
        assert (ack.reply_serial, ack.reply_id, ack.result) == (serial, MsgId.AUTHENTICATE, GeneralResult.SUCCESS)

    async def close(self) -> None:
        self.writer.close()
        await self.writer.wait_closed()


@database_sync_to_async  # closes its connection after use: the test database must drop at the end
def stored(phone: str) -> list[datetime]:
    return sorted(TrackPoint.objects.filter(terminal=phone).values_list("fix_time", flat=True))


async def test_positions_are_acknowledged_only_once_committed_and_stored_once(ingest):
    layer = get_channel_layer()
    feed = await layer.new_channel()
    await layer.group_add(VEHICLE_GROUP, feed)
    terminal = await Terminal.connect(ingest.port, PHONE_A)
    registered = await terminal.register()
    assert registered.result == RegisterResult.SUCCESS and registered.auth_code
    await terminal.authenticate(registered.auth_code)

    single = location(30)
    serial = await terminal.send(single)
    ack = (await terminal.receive()).body
    assert (ack.reply_serial, ack.reply_id, ack.result) == (serial, MsgId.LOCATION, GeneralResult.SUCCESS)
    assert await stored(PHONE_A) == [single.time]  # the ack came after the commit

    backfill = tuple(location(s, lon=114.06) for s in (20, 10, 40))
    batch = jt808.LocationBatch(jt808.BatchType.BACKFILL, backfill)
    serial = await terminal.send(batch)
    ack = (await terminal.receive()).body
    assert (ack.reply_serial, ack.reply_id, ack.result) == (serial, MsgId.LOCATION_BATCH, GeneralResult.SUCCESS)
    assert len(await stored(PHONE_A)) == 4

    await terminal.send(single)  # a resend after a lost ack: acknowledged again, not stored twice
    assert (await terminal.receive()).body.result == GeneralResult.SUCCESS
    assert len(await stored(PHONE_A)) == 4

    unit = await database_sync_to_async(Vehicle.objects.get)(jt808_phone=PHONE_A)
    assert unit.last_fix_at == backfill[1].time  # the newest fix (10 s ago), not the last one received
    assert unit.last_position.x == pytest.approx(114.06) and unit.last_speed_kmh == pytest.approx(42.5)
    message = await asyncio.wait_for(layer.receive(feed), 5)
    assert message["type"] == "ops.vehicles"
    feature = next(f for f in message["features"] if f["id"] == unit.pk)
    assert feature["properties"]["call_sign"] == unit.call_sign and feature["properties"]["agency"] == "110"
    await terminal.close()


async def test_heartbeat_is_answered(ingest):
    terminal = await Terminal.connect(ingest.port, PHONE_A)
    serial = await terminal.send(jt808.Heartbeat())
    ack = (await terminal.receive()).body
    assert (ack.reply_serial, ack.reply_id, ack.result) == (serial, MsgId.HEARTBEAT, GeneralResult.SUCCESS)
    await terminal.close()


async def test_unknown_terminal_is_refused_and_disconnected(ingest, caplog):
    terminal = await Terminal.connect(ingest.port, "13000000000")
    answer = await terminal.register()
    assert answer.result == RegisterResult.TERMINAL_NOT_IN_DATABASE and answer.auth_code == ""
    with pytest.raises(EOFError):
        await terminal.receive()
    assert "TERMINAL_NOT_IN_DATABASE" in caplog.text


async def test_a_known_phone_number_with_the_wrong_plate_gets_no_auth_code(ingest):
    terminal = await Terminal.connect(ingest.port, PHONE_A)
    answer = await terminal.register(plate="粤B99999X")
    assert answer.result == RegisterResult.VEHICLE_NOT_IN_DATABASE and answer.auth_code == ""
    with pytest.raises(EOFError):
        await terminal.receive()


async def test_wrong_auth_code_and_unauthenticated_locations_are_refused(ingest):
    terminal = await Terminal.connect(ingest.port, PHONE_A)
    await terminal.send(location(5))
    assert (await terminal.receive()).body.result == GeneralResult.FAILURE
    await terminal.send(jt808.Authenticate("guessed"))
    assert (await terminal.receive()).body.result == GeneralResult.FAILURE
    await terminal.send(location(5))
    assert (await terminal.receive()).body.result == GeneralResult.FAILURE
    assert await stored(PHONE_A) == []
    await terminal.close()


async def test_no_fix_and_future_positions_are_refused_and_logged(ingest, caplog):
    caplog.set_level(logging.WARNING, "dispatch")
    terminal = await Terminal.connect(ingest.port, PHONE_A)
    await terminal.login()
    # Refused for good: "bad message", so the terminal does not resend them forever.
    for bad in (location(5, lat=0.0, lon=0.0), location(-3600), location(40 * 86400), location(5, direction=40000)):
        await terminal.send(bad)
        assert (await terminal.receive()).body.result == GeneralResult.BAD_MESSAGE
    await terminal.send(location(4))  # one bad row never fails the batch for the others
    assert (await terminal.receive()).body.result == GeneralResult.SUCCESS
    assert len(await stored(PHONE_A)) == 1
    assert "0,0 point" in caplog.text and "in the future" in caplog.text and "older than" in caplog.text
    assert "heading 40000" in caplog.text
    await terminal.close()


async def test_broken_frames_do_not_disturb_other_terminals(ingest):
    a = await Terminal.connect(ingest.port, PHONE_A)
    b = await Terminal.connect(ingest.port, PHONE_B)
    await a.login()
    await b.login()
    serial, frame = a.frame(location(8))
    corrupt = frame[:-2] + bytes([frame[-2] ^ 0x01]) + frame[-1:]  # wrong checksum, readable header
    if corrupt[-2] in (0x7D, 0x7E):
        corrupt = frame[:-2] + bytes([frame[-2] ^ 0x03]) + frame[-1:]
    a.writer.write(corrupt + b"\x7e\x00\x02\x7d\x05\x7e" + b"\x7e\x02\x00\x00\x7e")  # + bad escape + truncated
    reply = (await a.receive()).body
    assert (reply.reply_serial, reply.result) == (serial, GeneralResult.FAILURE)

    await b.send(location(7))
    assert (await b.receive()).body.result == GeneralResult.SUCCESS
    await a.send(location(6))  # the sender of the garbage is still served too
    assert (await a.receive()).body.result == GeneralResult.SUCCESS
    assert len(await stored(PHONE_A)) == len(await stored(PHONE_B)) == 1
    await a.close()
    await b.close()


async def test_killed_ingest_loses_no_acknowledged_position(gps_ingest):
    """SIGKILL mid-stream, restart, resend what was not acknowledged: every acked fix is stored exactly once."""
    port = gps_ingest.port
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    fixes = [location(0, lon=114.05 + i * 1e-5, time=start + timedelta(seconds=i)) for i in range(2000)]
    sent: dict[int, jt808.Location] = {}
    acked: set[datetime] = set()

    async def stream(terminal: Terminal) -> None:
        for i, fix in enumerate(fixes):
            sent[await terminal.send(fix)] = fix
            if i % 50 == 49:
                await asyncio.sleep(0.005)  # a steady stream, so the kill lands in the middle of it

    terminal = await Terminal.connect(port, PHONE_A)
    code = (await terminal.register()).auth_code
    await terminal.authenticate(code)
    sender = asyncio.create_task(stream(terminal))
    while len(acked) < 50:
        acked.add(sent[(await terminal.receive()).body.reply_serial].time)
    await asyncio.to_thread(gps_ingest.kill)  # SIGKILL
    with pytest.raises((EOFError, ConnectionError)):
        while True:  # acks already on the wire before the kill count as acknowledged
            acked.add(sent[(await terminal.receive()).body.reply_serial].time)
    sender.cancel()
    await asyncio.gather(sender, return_exceptions=True)
    assert len(acked) < len(fixes), "the kill came after the stream ended"

    await asyncio.to_thread(gps_ingest.start)
    terminal = await Terminal.connect(port, PHONE_A)
    await terminal.authenticate(code)  # the code survived the restart: it is in the database
    pending = {await terminal.send(fix): fix for fix in fixes if fix.time not in acked}
    while pending:
        ack = (await terminal.receive()).body
        assert ack.result == GeneralResult.SUCCESS
        acked.add(pending.pop(ack.reply_serial).time)
    await terminal.close()
    rows = await stored(PHONE_A)
    assert len(rows) == len(set(rows)) == len(fixes)
    assert acked == set(rows)


async def test_a_registered_terminal_is_not_handed_its_code_again(ingest):
    """The phone number and the plate painted on the vehicle are no secret: a second registration gets nothing."""
    first = await Terminal.connect(ingest.port, PHONE_A)
    registered = await first.register()
    assert registered.result == RegisterResult.SUCCESS and len(registered.auth_code) >= 32
    await first.close()
    impostor = await Terminal.connect(ingest.port, PHONE_A)
    answer = await impostor.register()
    assert answer.result == RegisterResult.TERMINAL_ALREADY_REGISTERED and answer.auth_code == ""
    with pytest.raises(EOFError):
        await impostor.receive()
    terminal = await Terminal.connect(ingest.port, PHONE_A)
    await terminal.authenticate(registered.auth_code)  # the real terminal, with the code it stored
    await terminal.close()


async def test_after_an_administrators_release_the_terminal_registers_anew_and_the_old_code_is_dead(ingest):
    terminal = await Terminal.connect(ingest.port, PHONE_A)
    old = (await terminal.register()).auth_code
    await terminal.close()
    unit = await Vehicle.objects.aget(jt808_phone=PHONE_A)
    await database_sync_to_async(tracks.release_jt808_registration)(None, unit)
    terminal = await Terminal.connect(ingest.port, PHONE_A)
    new = await terminal.register()
    assert new.result == RegisterResult.SUCCESS and new.auth_code not in ("", old)
    serial = await terminal.send(jt808.Authenticate(old))
    ack = (await terminal.receive()).body
    assert (ack.reply_serial, ack.result) == (serial, GeneralResult.FAILURE)
    await terminal.close()


async def test_a_silent_connection_is_closed(ingest, settings):
    settings.CITYOPS_JT808_IDLE_SECONDS = 0.5
    silent = await Terminal.connect(ingest.port, PHONE_A)
    with pytest.raises(EOFError):
        await silent.receive(timeout=5)
