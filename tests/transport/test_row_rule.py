"""The transport bureau's row rule is dispatch's one rule (unit_visibility): carriers are organisations under the
bureau, so its supervisor sees the key vehicles and no police, fire, ambulance or traffic-police unit — on REST,
the track API and the live feed (snapshot and events) — while agency desks see no key vehicle."""

from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.contrib.gis.geos import Point
from django.utils import timezone

from dispatch import tracks
from dispatch.models import Alarm, Vehicle
from tests.ops_socket import connect, subscribe
from transport import jt809, services
from transport.demo import KEY_VEHICLES
from transport.models import KeyVehicle


def test_supervisor_sees_key_vehicles_and_no_emergency_unit(api):
    supervisor = api("transport")
    listed = supervisor.get("/api/transport/vehicles/").json()["features"]
    assert {f["properties"]["plate"] for f in listed} == {plate.replace("·", "") for plate, *_ in KEY_VEHICLES}
    tanker = next(f for f in listed if f["properties"]["plate"] == "粤BW2001")["properties"]
    assert (tanker["category"], tanker["cargo"], tanker["un_number"]) == ("dangerous_goods", "汽油", "UN1203")
    police = Vehicle.objects.filter(kind=Vehicle.Kind.POLICE_CAR).first()
    assert supervisor.get(f"/api/transport/vehicles/{police.pk}/track/").status_code == 404
    assert supervisor.get("/api/dispatch/units/").status_code == 403  # dispatch's board stays closed
    assert api("dispatcher110").get("/api/transport/vehicles/").status_code == 403
    # the command centre (oversees dispatch) sees them all; an agency desk sees none of them on its own board
    assert len(api("operator").get("/api/transport/vehicles/").json()["features"]) == len(KEY_VEHICLES)
    board = api("dispatcher110").get("/api/dispatch/units/").json()["features"]
    assert not {f["id"] for f in board} & set(KeyVehicle.objects.values_list("vehicle_id", flat=True))


@pytest.mark.django_db(transaction=True)
def test_track_and_alarms_follow_the_rule(empty_track, api):
    key = KeyVehicle.objects.select_related("vehicle").get(vehicle__plate="粤BW2001")
    now = timezone.now().replace(microsecond=0)
    fixes = [tracks.Fix("809:1:粤BW2001", key.vehicle_id, now - timedelta(seconds=s), 22.55, 114.06 + s / 1e4)
             for s in (30, 20, 10)]  # fmt: skip
    tracks.ingest_fixes(fixes, lambda result: None)
    report = jt809.WarnReport("粤BW2001", 2, 0x0001, int(now.timestamp()), "92 km/h")
    assert services.raise_platform_alarm(key.vehicle_id, report) is not None
    track = api("transport").get(f"/api/transport/vehicles/{key.vehicle_id}/track/").json()
    assert len(track["properties"]["points"]) == 3
    alarms = api("transport").get("/api/transport/alarms/").json()["features"]
    assert [a["properties"]["rule"] for a in alarms] == ["jt809:0x0001"]
    assert "超速报警" in alarms[0]["properties"]["message"]
    assert api("dispatcher110").get("/api/dispatch/alarms/").json()["features"] == []
    # A repeat while it is open is the same alarm; closed by the supervisor, the next report is a new one.
    assert services.raise_platform_alarm(key.vehicle_id, report) is None
    alarm_id = alarms[0]["id"]
    closed = api("transport").post(f"/api/dispatch/alarms/{alarm_id}/close/", {"note": "已核实"}, format="json")
    assert closed.status_code == 200 and closed.json()["properties"]["cleared_at"]
    assert services.raise_platform_alarm(key.vehicle_id, report).pk != alarm_id


@pytest.mark.django_db(transaction=True)
async def test_live_feed_snapshot_and_events_are_filtered(demo_city):
    socket, accepted = await connect("transport")
    assert accepted
    answer = await subscribe(socket, topics=["vehicles", "alarms"])
    snapshot = {f["id"] for m in answer if m.get("topic") == "vehicles" for f in m.get("features", [])}
    keys = set(await database_sync_to_async(lambda: list(KeyVehicle.objects.values_list("vehicle_id", flat=True)))())
    assert snapshot == keys
    refused = await subscribe(socket, topics=["incidents"])
    assert refused[-1]["op"] == "error"

    @database_sync_to_async
    def raise_both():
        police = Vehicle.objects.filter(kind=Vehicle.Kind.POLICE_CAR).first()
        police.last_position = Point(114.06, 22.55, srid=4326)
        police.save()
        tanker = KeyVehicle.objects.get(vehicle__plate="粤BW2002").vehicle_id
        for vehicle_id, warn in ((police.pk, 0x0003), (tanker, 0x0002)):
            services.raise_platform_alarm(vehicle_id, jt809.WarnReport("x", 2, warn, 0, ""))
        return tanker

    socket2, _ = await connect("transport")
    await subscribe(socket2, topics=["alarms"])
    tanker = await raise_both()
    event = await socket2.receive_json_from(timeout=5)
    assert event["type"] == "alarm.raised" and event["data"]["properties"]["vehicle_id"] == tanker
    assert await socket2.receive_nothing(timeout=0.5)  # the police car's alarm never arrives
    await socket.disconnect()
    await socket2.disconnect()


def test_a_command_centre_gets_key_vehicle_alarms_behind_many_newer_ones_of_other_units(api):
    """The key-vehicle filter is part of the alarm query: dispatch's 500-row cap does not cut it off first."""
    key = KeyVehicle.objects.select_related("vehicle").first().vehicle
    police = Vehicle.objects.filter(kind=Vehicle.Kind.POLICE_CAR).first()
    now, here = timezone.now(), Point(114.06, 22.55, srid=4326)
    Alarm.objects.create(vehicle=key, kind=Alarm.Kind.PLATFORM, rule="jt809:0x0001", message="key", at=now, geom=here)
    Alarm.objects.bulk_create(
        Alarm(vehicle=police, kind=Alarm.Kind.PLATFORM, rule=f"r{n}", message="other", at=now + timedelta(seconds=1),
              geom=here)
        for n in range(501)
    )  # fmt: skip
    listed = api("operator").get("/api/transport/alarms/").json()["features"]
    assert [a["properties"]["vehicle_id"] for a in listed] == [key.pk]
