"""Units, their last positions on /ws/ops/, and the OsmAnd HTTP endpoint, on the real PostGIS and Redis."""

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer
from django.db import connection
from django.test import Client

from core.models import Organisation, User
from core.realtime import VEHICLE_GROUP, Viewer
from dispatch import selectors, tracks
from dispatch.models import Station, TrackPoint, Vehicle
from dispatch.tracks import Fix, issue_osmand_token, osmand_terminal, record_fixes, revoke_osmand_token
from tests.ops_socket import connect

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("empty_track")]



def test_demo_units_are_parked_at_their_stations_with_unique_terminals():
    units = list(Vehicle.objects.filter(agency__agency__gt="").select_related("station", "agency"))
    assert Station.objects.count() and len(units) >= 2 * Station.objects.count()
    assert len({u.jt808_phone for u in units}) == len({u.osmand_id for u in units}) == len(units)
    for unit in units:
        assert unit.agency_id == unit.station.agency_id and unit.last_position == unit.station.geom
    kinds = {u.kind for u in units}
    assert {Vehicle.Kind.POLICE_CAR, Vehicle.Kind.FIRE_ENGINE, Vehicle.Kind.AMBULANCE} <= kinds


def test_agency_staff_see_only_their_units_command_centre_sees_all():
    fire = Organisation.objects.get(code="SZ-FIRE-119")
    own = selectors.vehicle_features(Viewer(0, frozenset(), frozenset({fire.pk})), None)
    assert own and {f["properties"]["agency"] for f in own} == {"119"}
    centre = Viewer.for_user(User.objects.get(username="operator"))
    assert len(selectors.vehicle_features(centre, None)) == Vehicle.objects.count()
    unit = Vehicle.objects.first()
    x, y = unit.last_position.coords
    boxed = selectors.vehicle_features(centre, (x - 1e-6, y - 1e-6, x + 1e-6, y + 1e-6))
    assert unit.pk in {f["id"] for f in boxed} and len(boxed) < Vehicle.objects.count()


async def test_vehicles_snapshot_over_the_websocket(demo_city):
    communicator, connected = await connect("operator")
    assert connected
    await communicator.send_json_to({"op": "subscribe", "topics": ["vehicles"]})
    snapshot = await communicator.receive_json_from(timeout=5)
    assert snapshot["op"] == "snapshot" and snapshot["topic"] == "vehicles"
    assert len(snapshot["features"]) == await Vehicle.objects.acount()
    feature = snapshot["features"][0]
    assert feature["geometry"]["type"] == "Point"
    assert {"call_sign", "agency", "status", "speed_kmh", "heading", "fix_time"} <= set(feature["properties"])
    await communicator.disconnect()


async def test_console_gets_unit_snapshot_after_reconnect_and_live_positions_in_its_bbox(demo_city):
    communicator, connected = await connect("operator")
    assert connected
    bbox = [114.0, 22.5, 114.1, 22.6]
    # Positions are not in the event log: even a resubscribe with `since` starts from a fresh snapshot.
    await communicator.send_json_to({"op": "subscribe", "topics": ["vehicles", "incidents"], "bbox": bbox, "since": 0})
    snapshot = await communicator.receive_json_from(timeout=5)
    assert (snapshot["op"], snapshot["topic"]) == ("snapshot", "vehicles") and snapshot["features"]
    assert (await communicator.receive_json_from(timeout=5))["op"] == "subscribed"

    inside, outside = [u async for u in Vehicle.objects.exclude(osmand_id=None).order_by("pk")[:2]]
    stamp = str(int(datetime.now(UTC).timestamp()) - 5)
    inside_token, outside_token = [await sync_to_async(issue_osmand_token)(None, u) for u in (inside, outside)]
    far = await sync_to_async(osmand)(id=outside_token, lat="22.70", lon="114.30", timestamp=stamp)
    near = await sync_to_async(osmand)(id=inside_token, lat="22.55", lon="114.05", timestamp=stamp)
    assert (far.status_code, near.status_code) == (200, 200)
    moved = await communicator.receive_json_from(timeout=5)
    assert (moved["op"], moved["topic"]) == ("positions", "vehicles")
    assert [f["id"] for f in moved["features"]] == [inside.pk]
    assert moved["features"][0]["geometry"]["coordinates"] == pytest.approx([114.05, 22.55])
    assert await communicator.receive_nothing(timeout=0.5)
    await communicator.disconnect()


def test_invalid_fixes_are_refused_and_never_stored():
    unit = Vehicle.objects.first()
    now = datetime.now(UTC)
    fixes = [
        Fix("t", unit.pk, now, 91.0, 114.0),
        Fix("t", unit.pk, now, 22.5, -180.5),
        Fix("t", unit.pk, now, 0.0, 0.0),
        Fix("t", unit.pk, now + timedelta(minutes=10), 22.5, 114.0),
        Fix("t", unit.pk, now, float("nan"), 114.0),
    ]
    result = record_fixes(fixes)
    assert all(result.refused) and result.inserted == 0
    assert not TrackPoint.objects.exists()


def test_a_partition_remembered_but_gone_is_made_again_and_the_batch_stored():
    """A day partition made inside a transaction that rolled back (or dropped since) is still in the writer's
    memory: the batch must not fail forever on "no partition" — the writer makes it again."""
    unit = Vehicle.objects.exclude(jt808_phone="").first()
    at = datetime.now(UTC) - timedelta(days=2)
    name = tracks._partition_name(at.date())
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {name}")
    tracks._known_partitions.add(name)
    result = record_fixes([Fix(unit.jt808_phone, unit.pk, at, 22.54, 114.05)])
    assert result.refused == [None] and result.inserted == 1
    assert TrackPoint.objects.filter(vehicle=unit, fix_time=at).exists()


def osmand(method="get", **params):
    client = Client()
    return getattr(client, method)("/gps/osmand", params)


async def vehicle_group_channel():
    """A console's channel in the vehicle group; call it in the event loop that receives (the pub/sub layer's
    channels live in it)."""
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add(VEHICLE_GROUP, channel)
    return layer, channel


def token_of(osmand_id: str) -> tuple[Vehicle, str]:
    """The unit and a freshly issued device token for its phone (as an administrator issues one)."""
    unit = Vehicle.objects.get(osmand_id=osmand_id)
    return unit, issue_osmand_token(None, unit)


def test_osmand_position_is_stored_before_ok_and_published():
    unit, token = token_of("SZ-OSMAND-00003")
    stamp = int(datetime.now(UTC).timestamp()) - 5

    async def report_while_listening():
        layer, channel = await vehicle_group_channel()
        response = await sync_to_async(osmand)(
            id=token, lat="22.55", lon="114.06", timestamp=str(stamp), speed="10", bearing="45.4"
        )
        return response, await asyncio.wait_for(layer.receive(channel), 5)

    response, message = async_to_sync(report_while_listening)()
    assert response.status_code == 200, response.content
    point = TrackPoint.objects.get(terminal=osmand_terminal(unit.osmand_id))
    assert point.speed_kmh == pytest.approx(18.52) and point.heading == 45  # knots → km/h
    assert point.fix_time == datetime.fromtimestamp(stamp, UTC)
    unit.refresh_from_db()
    assert unit.last_position.coords == pytest.approx((114.06, 22.55))
    assert message["type"] == "ops.vehicles" and message["features"][0]["id"] == unit.pk

    again = osmand("post", id=token, lat="22.55", lon="114.06", timestamp=str(stamp * 1000))  # ms, form body
    assert again.status_code == 200
    assert TrackPoint.objects.filter(terminal=osmand_terminal(unit.osmand_id)).count() == 1  # same fix time: once


def test_a_held_osmand_position_reaches_the_consoles_without_a_further_fix():
    """Two fixes within a second: the first goes at once, the newest goes when the vehicle is due again."""
    unit, token = token_of("SZ-OSMAND-00004")
    stamp = int(datetime.now(UTC).timestamp()) - 10

    async def two_fixes_then_listen():
        layer, channel = await vehicle_group_channel()
        for i, lon in enumerate(("114.061", "114.062")):
            response = await sync_to_async(osmand)(id=token, lat="22.55", lon=lon, timestamp=str(stamp + i))
            assert response.status_code == 200
        received = []
        while len(received) < 2:
            message = await asyncio.wait_for(layer.receive(channel), 5)
            received += [f["geometry"]["coordinates"][0] for f in message["features"] if f["id"] == unit.pk]
        return received

    assert async_to_sync(two_fixes_then_listen)() == [pytest.approx(114.061), pytest.approx(114.062)]


@pytest.mark.parametrize(
    ("params", "status", "says"),
    [
        ({"lat": "22.5", "lon": "114.0"}, 400, "'id'"),
        ({"id": "TOKEN", "lon": "114.0"}, 400, "'lat' is required"),
        ({"id": "TOKEN", "lat": "north", "lon": "114.0"}, 400, "must be a number"),
        ({"id": "TOKEN", "lat": "95", "lon": "114.0"}, 400, "out of range"),
        ({"id": "TOKEN", "lat": "0", "lon": "0"}, 400, "0,0"),
        ({"id": "TOKEN", "lat": "22.5", "lon": "114.0", "timestamp": "2100000000"}, 400, "future"),
        ({"id": "TOKEN", "lat": "22.5", "lon": "114.0", "timestamp": "yesterday"}, 400, "timestamp"),
    ],
)
def test_osmand_refusals(params, status, says):
    _unit, token = token_of("SZ-OSMAND-00001")
    response = osmand(**{k: token if v == "TOKEN" else v for k, v in params.items()})
    assert response.status_code == status and says in response.content.decode()
    assert not TrackPoint.objects.exists()


@pytest.mark.parametrize("device", ["SZ-OSMAND-00001", "nobody", "wrong-token", "old-token", "revoked"])
def test_a_position_without_the_device_token_changes_nothing_and_tells_nothing(device):
    """A unit's plain device id (sequential, guessable), an unknown id, a wrong, rotated or revoked token: one and
    the same answer, and nothing stored or moved."""
    unit, old = token_of("SZ-OSMAND-00001")
    current = issue_osmand_token(None, unit)  # rotated: `old` is dead
    if device == "revoked":
        revoke_osmand_token(None, unit)
    sent = {"old-token": old, "revoked": current}.get(device, device)
    before = Vehicle.objects.values_list("last_position", "last_fix_at").get(pk=unit.pk)
    stamp = str(int(datetime.now(UTC).timestamp()) + 240)  # a "pinning" fix 4 minutes ahead
    response = osmand(id=sent, lat="22.60", lon="114.10", timestamp=stamp, speed="200")
    assert (response.status_code, response.content) == (403, b"device not recognised\n")
    assert not TrackPoint.objects.exists()
    assert Vehicle.objects.values_list("last_position", "last_fix_at").get(pk=unit.pk) == before


def test_a_fix_ahead_of_the_clock_does_not_pin_the_unit():
    """Within the accepted skew a fix from the future is stored, but counts as now: the next real fix moves the unit."""
    unit, token = token_of("SZ-OSMAND-00002")
    now = int(datetime.now(UTC).timestamp())
    assert osmand(id=token, lat="22.55", lon="114.05", timestamp=str(now + 240)).status_code == 200
    assert osmand(id=token, lat="22.56", lon="114.07", timestamp=str(now + 2)).status_code == 200
    unit.refresh_from_db()
    assert unit.last_position.coords == pytest.approx((114.07, 22.56))
