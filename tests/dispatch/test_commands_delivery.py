"""Commands to vehicles end to end: the real ingest server on loopback, simulated terminals (the demo fleet's
JT808Client) answering as real ones, real PostGIS and Redis. Delivery to a group of 50, to an offline terminal
exactly once across reconnects and an ingest restart, expiry, resends with growing timeouts, every answer kind."""

import asyncio
import time
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone

from core.realtime import Viewer
from dispatch import commands, jt808
from dispatch.demo import demo_terminal
from dispatch.ingest import IngestServer
from dispatch.models import CommandBatch, TerminalCommand, Vehicle, VehicleGroup
from dispatch.simulator import JT808Client, load_units

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("empty_track")]

State = TerminalCommand.State
DAY = timedelta(days=1)



async def start_ingest(**options) -> IngestServer:
    options = {"command_timeout": 5.0, "command_attempts": 3, "command_rescan": 60.0, **options}
    server = IngestServer("127.0.0.1", 0, batch_size=500, delay=0.01, **options)
    await server.start()
    return server


def enough_terminals(count: int) -> None:
    """The small demo city has fewer units than some tests need: more police cars at the first station."""
    missing = count - Vehicle.objects.filter(jt808_phone__isnull=False).count()
    first = Vehicle.objects.select_related("station").order_by("pk").first()
    for n in range(missing):
        phone, _ = demo_terminal(9000 + n)
        Vehicle.objects.create(
            call_sign=f"TEST-{n:03d}",
            kind=Vehicle.Kind.POLICE_CAR,
            agency=first.agency,
            plate=f"粤B9{n:04d}",
            station=first.station,
            jt808_phone=phone,
            last_position=first.station.geom,
        )


async def fleet(count: int, server: IngestServer, **client_options) -> list[JT808Client]:
    await sync_to_async(enough_terminals)(count)
    units = await sync_to_async(load_units)(count, True)
    clients = [JT808Client(unit, "127.0.0.1", server.port, **client_options) for unit in units]
    await asyncio.gather(*(c.connect() for c in clients))
    return clients


async def keep_in_touch(clients: list[JT808Client], until, timeout: float = 30.0, every: float = 0.1) -> None:
    """The terminals send heartbeats (obeying the commands that arrive meanwhile) until ``until()`` holds."""
    deadline = time.monotonic() + timeout
    while not await sync_to_async(until)():
        assert time.monotonic() < deadline, "the commands were not all settled in time"
        await asyncio.gather(*(c.heartbeat() for c in clients))
        await asyncio.sleep(every)


def states(**filters) -> list[str]:
    return list(TerminalCommand.objects.filter(**filters).order_by("vehicle_id").values_list("state", flat=True))


def received(client: JT808Client, body_type) -> list[tuple[jt808.Header, object]]:
    return [(h, b) for h, b in client.commands if isinstance(b, body_type)]


def queue_text(user, vehicle: Vehicle, text: str, lifetime: timedelta = DAY) -> TerminalCommand:
    params = commands.validate_params("text", {"text": text})
    return commands.queue_command(user, vehicle, "text", params, lifetime)


async def test_a_group_text_reaches_fifty_terminals_and_every_one_answers(user_for):
    """Queued while all 50 are connected: the NOTIFY (not the re-scan, an hour away) sends it at once."""
    operator = await sync_to_async(user_for)("operator")
    server = await start_ingest(command_rescan=3600.0)
    clients = []
    try:
        clients = await fleet(50, server)

        def make_group() -> int:
            group = VehicleGroup.objects.create(name="全体巡逻车", organisation=operator.organisation)
            group.vehicles.set([c.unit.vehicle_id for c in clients])
            target = commands.resolve_target(Viewer.for_user(operator), {"target": "group", "group": group.pk})
            params = commands.validate_params("text", {"text": "各单位注意：台风红色预警，立即回站待命"})
            return commands.queue_batch(operator, target, "text", params, DAY).pk

        started = time.monotonic()
        batch_id = await sync_to_async(make_group)()
        await keep_in_touch(clients, lambda: set(states(batch_id=batch_id)) == {State.ANSWERED})
        elapsed = time.monotonic() - started
        print(f"50 terminals answered a group text in {elapsed:.2f} s")
        final = await sync_to_async(states)(batch_id=batch_id)
        assert final == [State.ANSWERED] * 50
        for client in clients:
            texts = received(client, jt808.TextMessage)
            assert [b.text for _, b in texts] == ["各单位注意：台风红色预警，立即回站待命"]
            assert texts[0][1].flag & jt808.TextFlag.DISPLAY
        attempts = await sync_to_async(
            lambda: set(TerminalCommand.objects.filter(batch_id=batch_id).values_list("attempts", flat=True))
        )()
        assert attempts == {1}
        assert await CommandBatch.objects.filter(pk=batch_id, target="group").aexists()
    finally:
        for client in clients:
            client.close()
        await server.stop()


async def test_an_offline_terminal_gets_its_commands_on_reconnecting_exactly_once(user_for):
    operator = await sync_to_async(user_for)("operator")
    server = await start_ingest(command_rescan=0.3)
    clients = []
    try:
        [client] = clients = await fleet(1, server)
        client.close()  # offline from here
        vehicle = await Vehicle.objects.aget(pk=client.unit.vehicle_id)
        text = await sync_to_async(queue_text)(operator, vehicle, "离线时排队的指令")
        stale = await sync_to_async(queue_text)(operator, vehicle, "过期的指令")
        await TerminalCommand.objects.filter(pk=stale.pk).aupdate(expires_at=timezone.now() - timedelta(seconds=1))
        await asyncio.sleep(1.0)  # several re-scans pass: nothing goes to a terminal that is not connected
        assert await sync_to_async(states)(pk=text.pk) == [State.QUEUED]
        assert client.commands == []

        await client.connect()  # back online: the queue follows the authentication
        await keep_in_touch([client], lambda: states(pk=text.pk) == [State.ANSWERED])
        for _ in range(2):  # two more sessions, several re-scans each
            client.close()
            await client.connect()
            await keep_in_touch([client], lambda: True)
            await asyncio.sleep(0.7)
            await client.heartbeat()
        await server.stop()
        server = await start_ingest(command_rescan=0.3)  # an ingest restart
        client.port = server.port
        await client.connect()
        await asyncio.sleep(0.7)
        await client.heartbeat()

        assert [b.text for _, b in received(client, jt808.TextMessage)] == ["离线时排队的指令"]
        assert await sync_to_async(states)(pk=stale.pk) == [State.EXPIRED]
        answered = await TerminalCommand.objects.aget(pk=text.pk)
        assert (answered.attempts, answered.result_code) == (1, 0)
        assert answered.sent_at <= answered.answered_at
    finally:
        for c in clients:
            c.close()
        await server.stop()


async def test_an_unanswered_command_is_resent_with_growing_waits_then_failed(user_for):
    operator = await sync_to_async(user_for)("operator")
    server = await start_ingest(command_timeout=0.3, command_attempts=3)
    clients = []
    try:
        [client] = clients = await fleet(1, server, answering=False)
        vehicle = await Vehicle.objects.aget(pk=client.unit.vehicle_id)
        command = await sync_to_async(queue_text)(operator, vehicle, "收到请回复")
        arrivals = []

        def failed() -> bool:
            arrivals[:] = [h.serial for h, _ in received(client, jt808.TextMessage)]
            return states(pk=command.pk) == [State.FAILED]

        started = time.monotonic()
        await keep_in_touch([client], failed, every=0.05)
        elapsed = time.monotonic() - started
        assert len(arrivals) == 3 and len(set(arrivals)) == 1  # the same serial each time: one command
        assert elapsed >= 0.3 + 0.6 + 1.8 - 0.2  # T(1), T(2) = 2·T(1), T(3) = 3·T(2)
        row = await TerminalCommand.objects.aget(pk=command.pk)
        assert (row.attempts, row.error) == (3, "no answer")
        await asyncio.sleep(0.5)
        await client.heartbeat()
        assert len(received(client, jt808.TextMessage)) == 3  # failed: never sent again
    finally:
        for c in clients:
            c.close()
        await server.stop()


async def test_every_kind_is_answered_and_the_answers_are_kept(user_for):
    operator = await sync_to_async(user_for)("operator")
    server = await start_ingest()
    clients = []
    try:
        [client] = clients = await fleet(1, server)
        vehicle = await Vehicle.objects.aget(pk=client.unit.vehicle_id)
        asks = {
            "position_query": {},
            "tracking": {"interval_s": 5, "validity_s": 600},
            "set_params": {"params": {"0x0029": 15, "0x0055": 80}},
            "query_params": {"ids": ["0x0029", "0x0055"]},
            "call_back": {"number": "075512345678", "monitor": False},
            "vehicle_control": {"doors": "lock"},
        }

        def queue_all() -> list[int]:
            return [
                commands.queue_command(operator, vehicle, kind, commands.validate_params(kind, params), DAY).pk
                for kind, params in asks.items()
            ]

        ids = await sync_to_async(queue_all)()
        await keep_in_touch([client], lambda: set(states(pk__in=ids)) == {State.ANSWERED})
        rows = {c.kind: c async for c in TerminalCommand.objects.filter(pk__in=ids)}
        position = rows["position_query"].answer["position"]
        assert (position["latitude"], position["longitude"]) == (round(client.unit.lat, 6), round(client.unit.lon, 6))
        assert rows["query_params"].answer == {"params": {"0x0029": 15, "0x0055": 80}}  # set before it was asked
        assert rows["vehicle_control"].answer["position"]["doors_locked"] is True
        assert client.unit.tracking_s == 5
        [(_, call)] = received(client, jt808.CallBack)
        assert call == jt808.CallBack(jt808.CallBackFlag.CALL, "075512345678")
    finally:
        for c in clients:
            c.close()
        await server.stop()


async def test_the_rescan_finds_a_command_whose_notification_was_lost(user_for):
    """A row written without its NOTIFY (as if the listener was reconnecting) still goes out."""
    operator = await sync_to_async(user_for)("operator")
    server = await start_ingest(command_rescan=0.3)
    clients = []
    try:
        [client] = clients = await fleet(1, server)
        now = timezone.now()
        row = await TerminalCommand.objects.acreate(
            vehicle_id=client.unit.vehicle_id,
            kind="text",
            params={"text": "补发"},
            created_by=operator,
            created_at=now,
            expires_at=now + DAY,
        )
        await keep_in_touch([client], lambda: states(pk=row.pk) == [State.ANSWERED])
        assert [b.text for _, b in received(client, jt808.TextMessage)] == ["补发"]
    finally:
        for c in clients:
            c.close()
        await server.stop()
