"""A JT/T 809 session end to end: our lower-platform sender against our link server over real TCP on loopback,
real PostGIS and Redis. Login (good, wrong password, wrong address, unknown access code), keep-alive both ways,
the sub link and the main link killed and both recovering with nothing lost, positions and alarms stored."""

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from channels.db import database_sync_to_async

from dispatch.models import Alarm, TrackPoint
from transport import jt809
from transport.demo import DEMO_PLATFORM
from transport.link import LinkServer
from transport.lower_platform import LowerPlatform, PlatformAccount
from transport.models import KeyVehicle
from transport.models import LowerPlatform as PlatformRow

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("empty_track")]

PLATE = "粤BK1001"  # a demo coach reported by the demo platform
CENTRE = (114.06, 22.55)


def account(server: LinkServer, **changes) -> PlatformAccount:
    fields = dict(
        host="127.0.0.1",
        port=server.port,
        access_code=DEMO_PLATFORM["access_code"],
        user_id=DEMO_PLATFORM["user_id"],
        password=DEMO_PLATFORM["password"],
        keepalive=0.2,
        retry_s=0.1,
        static_info={PLATE: "VIN:=LZYTATE69G1012345;VEHICLE_TYPE:=大型普通客车;OWERS_NAME:=深圳市鹏程客运有限公司"},
    )
    return PlatformAccount(**{**fields, **changes})


def gnss(seconds_ago: int, step: int = 0) -> jt809.Gnss:
    at = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=seconds_ago)
    return jt809.Gnss(at, CENTRE[0] + step * 1e-4, CENTRE[1], speed_kmh=40, direction=90, altitude=20, state=3)


async def until(predicate, timeout: float = 10.0, what: str = "condition"):
    deadline = asyncio.get_running_loop().time() + timeout
    while not await predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


@database_sync_to_async
def stored_fixes() -> int:
    return TrackPoint.objects.filter(terminal=f"809:{DEMO_PLATFORM['access_code']}:{PLATE}").count()


@database_sync_to_async
def link_state() -> str:
    return PlatformRow.objects.get(access_code=DEMO_PLATFORM["access_code"]).link_state


@database_sync_to_async
def allow_address(address: str) -> None:
    PlatformRow.objects.filter(access_code=DEMO_PLATFORM["access_code"]).update(allowed_addresses=[address])


async def test_login_is_refused_for_a_wrong_password_address_or_access_code(link):
    for changes, expected in [
        ({"password": "wrong"}, jt809.ConnectResult.BAD_PASSWORD),
        ({"user_id": 1}, jt809.ConnectResult.USER_NOT_REGISTERED),
        ({"access_code": 99999999}, jt809.ConnectResult.BAD_ACCESS_CODE),
    ]:
        sender = LowerPlatform(account(link, **changes))
        await sender.start()
        await until(lambda s=sender: _true(s.login_results), what=f"an answer to {changes}")
        await sender.stop(logout=False)
        assert sender.login_results[0] == expected
        assert not sender.sub_up.is_set() and link.sessions == {}
    await allow_address("10.9.9.9")  # the right account from an address not on the platform's list
    sender = LowerPlatform(account(link))
    await sender.start()
    await until(lambda: _true(sender.login_results), what="an answer from the wrong address")
    await sender.stop(logout=False)
    assert sender.login_results[0] == jt809.ConnectResult.BAD_ADDRESS


async def _true(value) -> bool:
    return bool(value)


async def test_session_keeps_alive_recovers_both_links_and_stores_everything(link):
    sender = LowerPlatform(account(link))
    await sender.start()
    await asyncio.wait_for(sender.sub_up.wait(), 10)
    assert sender.login_results == [jt809.ConnectResult.OK]
    await until(lambda: _eq(link_state(), PlatformRow.LinkState.UP), what="link state up")

    # keep-alive: idle for several periods (the upper drops a link silent for 1 s): both links stay, and the
    # upper probed the sub link with 0x9005
    await asyncio.sleep(1.5)
    assert sender.main_up.is_set() and sender.sub_up.is_set()
    assert any(isinstance(m, jt809.DownLinkTest) for m in sender.received)

    # registration → the upper asks for static information (0x9601) → 0x1601 updates the key vehicle
    sender.send(jt809.VehicleRegistration(PLATE, 2, "44030000001", "70111", "BSJ-A6", "A6B1234", "13800138000"))
    sent = 0
    for i in range(5):
        sender.position(PLATE, 2, gnss(60 - i, i))
        sent += 1
    await until(lambda: _ge(stored_fixes(), sent), what="real-time positions stored")

    # the sub link dies: the upper reconnects it; positions keep flowing on the main link meanwhile
    sender.kill_sub()
    sender.position(PLATE, 2, gnss(50, 10))
    sent += 1
    await asyncio.sleep(0.3)
    await asyncio.wait_for(sender.sub_up.wait(), 10)

    # the main link dies: positions offered meanwhile are back-filled (0x1203) after the new login
    sender.kill_main()
    await until(lambda: _not(sender.main_up.is_set()), what="main link down")
    for i in range(7):
        sender.position(PLATE, 2, gnss(40 - i, 20 + i))
        sent += 1
    assert sender.backlog == 7
    await asyncio.wait_for(sender.main_up.wait(), 10)
    await until(lambda: _ge(stored_fixes(), sent), what="back-filled positions stored")
    assert await stored_fixes() == sent
    assert sender.login_results == [jt809.ConnectResult.OK, jt809.ConnectResult.OK]
    await asyncio.wait_for(sender.sub_up.wait(), 10)

    # an alarm report becomes a platform alarm of the vehicle, in Chinese with its rule
    sender.send(jt809.WarnReport(PLATE, 2, 0x0002, int(datetime.now(UTC).timestamp()), "连续驾驶 4.5 小时"))
    await until(lambda: _exists(Alarm, kind="platform", vehicle__plate=PLATE), what="alarm stored")
    alarm = await database_sync_to_async(Alarm.objects.get)(kind="platform", vehicle__plate=PLATE)
    assert alarm.rule == "jt809:0x0002" and "疲劳驾驶报警" in alarm.message and "4.5" in alarm.message

    key = await database_sync_to_async(KeyVehicle.objects.get)(vehicle__plate=PLATE)
    assert key.terminal_id == "A6B1234" and key.registered_at is not None
    assert key.static_info["VEHICLE_TYPE"] == "大型普通客车"

    await sender.stop()  # 0x1003: a logout, answered with 0x1004
    await until(lambda: _eq(link_state(), PlatformRow.LinkState.DOWN), what="link state down after logout")


async def test_unknown_plates_are_created_under_the_platform_carrier(link):
    sender = LowerPlatform(account(link))
    await sender.start()
    await asyncio.wait_for(sender.main_up.wait(), 10)
    sender.position("粤B99999", 2, gnss(5))
    await until(lambda: _exists(KeyVehicle, vehicle__plate="粤B99999"), what="the new key vehicle")
    key = await database_sync_to_async(KeyVehicle.objects.select_related("vehicle__agency").get)(
        vehicle__plate="粤B99999"
    )
    assert key.category == KeyVehicle.Category.OTHER and key.vehicle.agency.code == "SZ-CARRIER-COACH"
    await sender.stop()


async def _eq(awaitable, value) -> bool:
    return await awaitable == value


async def _ge(awaitable, value) -> bool:
    return await awaitable >= value


async def _not(value) -> bool:
    return not value


@database_sync_to_async
def _exists(model, **filters) -> bool:
    return model.objects.filter(**filters).exists()
