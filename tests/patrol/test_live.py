"""Inspectors on the live feed (topic "inspectors"): the snapshot, a tablet's batch moving an inspector at once,
the roster every 30 s (shifts ending), and the row rule — a district's centre sees the inspectors whose grids lie
in its district, on the live feed and on REST alike."""

from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.db import transaction
from django.utils import timezone

from core.models import AdminArea, Role, User
from grid.models import UnitGrid
from patrol import services
from patrol.models import PatrolShift
from tests.ops_socket import connect, subscribe

pytestmark = pytest.mark.django_db(transaction=True)


def _inspector_in(district_code: str, exclude=()) -> tuple[User, UnitGrid]:
    """An inspector of the demo city with unit grids in this district only, and one of their grids."""
    district = AdminArea.objects.get(level="district", code=district_code)
    for grid in UnitGrid.objects.filter(district=district).exclude(inspectors__in=exclude).order_by("code"):
        for inspector in grid.inspectors.filter(groups__name=Role.INSPECTOR).order_by("pk"):
            if not UnitGrid.objects.filter(inspectors=inspector).exclude(district=district).exists():
                return inspector, grid
    raise AssertionError(f"no inspector in {district_code}")


@database_sync_to_async
def _two_inspectors_on_shift():
    """One inspector of 福田区 (the district leader's) and one of 罗湖区, each on shift and reported in their grid."""
    now = timezone.now()
    futian, futian_grid = _inspector_in("440304")
    luohu, luohu_grid = _inspector_in("440303")
    for inspector, grid in ((futian, futian_grid), (luohu, luohu_grid)):
        PatrolShift.objects.create(inspector=inspector, start=now - timedelta(hours=1), end=now + timedelta(hours=7))
        spot = grid.geom.point_on_surface
        with transaction.atomic():
            services.record_positions(inspector, [services.Fix(now - timedelta(seconds=20), spot.x, spot.y)])
    return futian, luohu, futian_grid, luohu_grid


async def _next_inspectors(socket, op: str, timeout: float = 10) -> list[dict]:
    """The features of the next message of topic "inspectors" with this op."""
    while True:
        message = await socket.receive_json_from(timeout=timeout)
        if message.get("topic") == "inspectors" and message.get("op") == op:
            return message["features"]


def _snapshot(answer) -> dict[int, dict]:
    return {f["id"]: f for m in answer if m.get("topic") == "inspectors" for f in m.get("features", [])}


async def test_snapshot_then_a_batch_moves_the_inspector_at_once(demo_city):
    futian, luohu, futian_grid, _ = await _two_inspectors_on_shift()
    socket, accepted = await connect("griddispatcher")
    assert accepted
    shown = _snapshot(await subscribe(socket, topics=["inspectors"]))
    assert {futian.pk, luohu.pk} <= set(shown)
    mine = shown[futian.pk]
    assert (mine["properties"]["state"], mine["properties"]["state_label"]) == ("on_duty", "在岗")
    assert mine["properties"]["name"] == futian.display_name

    @database_sync_to_async
    def walk_out():
        """A batch whose last fix is far outside the inspector's grids."""
        box = futian_grid.geom.extent
        with transaction.atomic():
            services.record_positions(futian, [services.Fix(timezone.now(), box[2] + 0.02, box[3] + 0.02)])
        return box[2] + 0.02, box[3] + 0.02

    lon, lat = await walk_out()
    moved = await _next_inspectors(socket, "positions")
    assert [f["id"] for f in moved] == [futian.pk]
    assert moved[0]["geometry"]["coordinates"] == pytest.approx([lon, lat])
    assert moved[0]["properties"]["state_label"] == "离岗"
    await socket.disconnect()


async def test_roster_drops_an_ended_shift_and_a_late_batch_says_off(demo_city):
    futian, luohu, _, luohu_grid = await _two_inspectors_on_shift()
    socket, _ = await connect("griddispatcher")
    await subscribe(socket, topics=["inspectors"])

    @database_sync_to_async
    def end_shift_and_send_roster():
        PatrolShift.objects.filter(inspector=luohu).update(end=timezone.now() - timedelta(seconds=1))
        services.send_inspectors()

    await end_shift_and_send_roster()
    roster = {f["id"] for f in await _next_inspectors(socket, "snapshot")}
    assert futian.pk in roster and luohu.pk not in roster

    @database_sync_to_async
    def late_batch():
        spot = luohu_grid.geom.point_on_surface
        with transaction.atomic():
            services.record_positions(luohu, [services.Fix(timezone.now(), spot.x, spot.y)])

    await late_batch()
    off = await _next_inspectors(socket, "positions")
    assert [(f["id"], f["properties"]["state"], f["geometry"]) for f in off] == [(luohu.pk, "off", None)]
    await socket.disconnect()


async def test_a_district_centre_sees_its_districts_inspectors_only(demo_city, api):
    futian, luohu, futian_grid, luohu_grid = await _two_inspectors_on_shift()
    leader, _ = await connect("districtleader")  # 福田区人民政府: commands cases in 福田区
    city, _ = await connect("griddispatcher")
    shown = _snapshot(await subscribe(leader, topics=["inspectors"]))
    assert futian.pk in shown and luohu.pk not in shown
    await subscribe(city, topics=["inspectors"])

    @database_sync_to_async
    def rest(username):
        return {row["id"] for row in api(username).get("/api/patrol/on-duty/").json()["inspectors"]}

    assert await rest("districtleader") == set(shown)  # REST and the live feed: one rule
    assert {futian.pk, luohu.pk} <= await rest("griddispatcher")

    @database_sync_to_async
    def both_report():
        for inspector, grid in ((luohu, luohu_grid), (futian, futian_grid)):
            spot = grid.geom.point_on_surface
            with transaction.atomic():
                services.record_positions(inspector, [services.Fix(timezone.now(), spot.x, spot.y)])

    await both_report()
    assert [f["id"] for f in await _next_inspectors(city, "positions")] == [luohu.pk]
    assert [f["id"] for f in await _next_inspectors(city, "positions")] == [futian.pk]
    assert [f["id"] for f in await _next_inspectors(leader, "positions")] == [futian.pk]  # 罗湖's never came
    await leader.disconnect()
    await city.disconnect()
