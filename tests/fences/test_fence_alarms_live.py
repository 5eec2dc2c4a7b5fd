"""Fence rules on the real ingest path: a JT/T 808 terminal reports through the ingest server, the batch commits,
the positions_stored hook runs the rules, and fence alarms are raised and cleared with their rule; a rule added while
the ingest runs applies from the next batch (the rules version)."""

import asyncio

import pytest
from channels.db import database_sync_to_async
from django.contrib.gis.geos import Point

from core.models import Event, User
from dispatch.demo import demo_terminal
from dispatch.ingest import IngestServer
from dispatch.models import Alarm, Vehicle
from fences import services
from fences.models import Fence, Presence, Rule
from tests.dispatch.test_ingest import Terminal, location

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("empty_track")]
PHONE = demo_terminal(3)[0]
CENTRE = (114.07, 22.55)  # lon, lat
OUTSIDE = (114.08, 22.55)  # ~1 km east



@pytest.fixture
async def ingest():
    server = IngestServer("127.0.0.1", 0, batch_size=500, delay=0.01)
    await server.start()
    yield server
    await server.stop()


@database_sync_to_async
def draw_fence() -> Fence:
    operator = User.objects.get(username="operator")
    fence = services.save_fence(
        operator, None, name="学校片区", organisation=operator.organisation, shape=Fence.Shape.CIRCLE,
        drawn=Point(*CENTRE, srid=4326), radius_m=300,
    )  # fmt: skip
    services.save_rule(
        operator, fence, None, target=Rule.Target.ALL, vehicle=None, vehicle_kind="", group=None,
        trigger=Rule.Trigger.ENTER, threshold=None, calendar=[], active=True, severity=Rule.Severity.WARNING,
    )  # fmt: skip
    return fence


@database_sync_to_async
def add_speed_rule(fence: Fence) -> Rule:
    return services.save_rule(
        User.objects.get(username="operator"), fence, None, target=Rule.Target.ALL, vehicle=None, vehicle_kind="",
        group=None, trigger=Rule.Trigger.SPEED, threshold=30, calendar=[], active=True, severity=Rule.Severity.URGENT,
    )  # fmt: skip


@database_sync_to_async
def fence_alarms() -> list[tuple[str, bool, str]]:
    rows = Alarm.objects.filter(kind=Alarm.Kind.FENCE, vehicle__jt808_phone=PHONE).order_by("pk")
    return [(a.rule, a.cleared_at is None, a.message) for a in rows]


@database_sync_to_async
def presence() -> int:
    return Presence.objects.filter(vehicle__jt808_phone=PHONE).count()


async def report(terminal: Terminal, seconds_ago: int, at: tuple[float, float], speed: float) -> None:
    await terminal.send(location(seconds_ago, lat=at[1], lon=at[0], speed_kmh=speed))
    await terminal.receive()  # the ack: the batch committed; the rules run right after, on the ingest's db thread


async def eventually(read, wanted, timeout: float = 10.0):
    """What ``read()`` returns once ``wanted(it)`` holds (the rules run after the ack; batches run in order, so
    once a later batch's effect is seen, every earlier batch's is complete)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not wanted(seen := await read()):
        assert asyncio.get_running_loop().time() < deadline, f"still {seen!r}"
        await asyncio.sleep(0.05)
    return seen


async def test_fixes_through_the_ingest_raise_and_clear_fence_alarms(ingest):
    fence = await draw_fence()
    terminal = await Terminal.connect(ingest.port, PHONE)
    await terminal.login()
    await report(terminal, 50, OUTSIDE, 40)  # outside: nothing (checked once the next batch's alarm is seen)
    await report(terminal, 40, CENTRE, 50)
    (enter,) = await eventually(fence_alarms, bool)
    call_sign = await Vehicle.objects.filter(jt808_phone=PHONE).values_list("call_sign", flat=True).afirst()
    enter_key = f"fence-rule-{await fence.rules.values_list('pk', flat=True).aget()}"
    assert enter[0] == enter_key and enter[1] is False  # an edge: over at once, listed until closed
    assert call_sign in enter[2] and "学校片区" in enter[2] and "驶入" in enter[2]
    assert await presence() == 1

    speed = await add_speed_rule(fence)  # while the ingest runs: the next batch sees it
    await report(terminal, 30, (CENTRE[0] + 0.0005, CENTRE[1]), 55)
    alarms = await eventually(fence_alarms, lambda rows: len(rows) == 2)
    assert (speed.key, True) == alarms[-1][:2] and "55 km/h" in alarms[-1][2] and "30 km/h" in alarms[-1][2]
    await report(terminal, 25, (CENTRE[0] + 0.001, CENTRE[1]), 56)  # still too fast: not raised twice
    await report(terminal, 20, OUTSIDE, 56)  # left the fence: the speed condition ends
    alarms = await eventually(fence_alarms, lambda rows: not rows[-1][1])
    assert [open_ for _, open_, _ in alarms] == [False, False]
    assert await presence() == 0
    types = [
        t
        async for t in Event.objects.filter(topic="alarms", data__properties__kind="fence")
        .order_by("seq")
        .values_list("type", flat=True)
    ]
    assert types == ["alarm.raised", "alarm.raised", "alarm.cleared"]
    await terminal.close()
