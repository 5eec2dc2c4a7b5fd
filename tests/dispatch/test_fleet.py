"""The whole GPS path with real processes: the fleet simulator speaks JT/T 808 over TCP to a real
run_gps_ingest, positions land in PostGIS and move the unit on /ws/ops/ of a real uvicorn; the ingest is
SIGKILLed mid-stream and restarted, and every position the simulator saw acknowledged is stored; the
dispatched engine drives the road route and turns on scene by geofence."""

import asyncio
import json
import subprocess
import sys
import time

import pytest
import websockets
from asgiref.sync import sync_to_async
from django.contrib.gis.db.models.functions import Distance
from django.contrib.gis.measure import D
from django.test import Client

from core.models import User
from core.realtime import Viewer
from dispatch import services
from dispatch.models import Assignment, IncidentType, Station, TrackPoint, Vehicle
from gis.models import Address
from tests.conftest import ROOT, _test_process_env

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("empty_track")]



def fire_far_from_station() -> Vehicle:
    """A building fire ~1 km by road from a fire station, its nearest engine dispatched."""
    station = Station.objects.filter(kind=Station.Kind.FIRE_STATION).first()
    site = Address.objects.annotate(d=Distance("geom", station.geom)).filter(d__gt=D(m=700)).order_by("d").first()
    calltaker = User.objects.get(username="calltaker")
    incident = services.create_incident(
        calltaker, incident_type=IncidentType.objects.get(code="119-FIRE-BUILDING"), point=site.geom
    )
    engine = station.vehicles.filter(kind=Vehicle.Kind.FIRE_ENGINE).first()
    services.dispatch_units(calltaker, Viewer.for_user(calltaker), incident, [engine.pk])
    return engine


def acknowledged(path) -> set[tuple[str, str]]:
    if not path.exists():
        return set()
    return {tuple(line.split()) for line in path.read_text().splitlines() if line.strip()}


def stored() -> set[tuple[str, str]]:
    return {(t, f.isoformat()) for t, f in TrackPoint.objects.values_list("terminal", "fix_time")}


async def console(base_url: str, username: str):
    """A real WebSocket client on the real uvicorn's /ws/ops/, signed in by session cookie like a browser."""
    client = Client()
    await client.aforce_login(await User.objects.aget(username=username))
    headers = {"Cookie": f"sessionid={client.cookies['sessionid'].value}", "Origin": base_url}
    return await websockets.connect(base_url.replace("http", "ws") + "/ws/ops/", additional_headers=headers)


async def positions_of(socket, vehicle_id: int, count: int, timeout: float) -> list[list[float]]:
    seen: list[list[float]] = []
    async with asyncio.timeout(timeout):
        while len(seen) < count:
            message = json.loads(await socket.recv())
            if message.get("op") == "positions":
                for feature in message["features"]:
                    coords = feature["geometry"]["coordinates"]
                    if feature["id"] == vehicle_id and (not seen or coords != seen[-1]):
                        seen.append(coords)
    return seen


async def test_simulated_fleet_survives_an_ingest_kill_and_arrives_on_scene(asgi_server, gps_ingest, tmp_path):
    engine = await sync_to_async(fire_far_from_station)()
    acked_log = tmp_path / "acked.txt"
    log = open(tmp_path / "simulator.log", "wb")  # noqa: SIM115
    simulator = subprocess.Popen(
        [sys.executable, "manage.py", "simulate_fleet", "--jt808", gps_ingest.address, "--vehicles", "all",
         "--interval", "1", "--speedup", "4", "--answer-incidents", "--acked-log", str(acked_log)],
        cwd=ROOT, env=_test_process_env(), stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    socket = await console(asgi_server, "operator")
    try:
        await socket.send(json.dumps({"op": "subscribe", "topics": ["vehicles", "incidents"]}))
        moving = await positions_of(socket, engine.pk, 3, timeout=60)
        assert len({tuple(c) for c in moving}) == 3  # the engine drives, live on /ws/ops/

        await asyncio.to_thread(gps_ingest.kill)  # SIGKILL mid-stream
        before_restart = acknowledged(acked_log)
        await asyncio.sleep(1.5)
        await asyncio.to_thread(gps_ingest.start)
        deadline = time.monotonic() + 90
        status = None
        while time.monotonic() < deadline:
            status = await Assignment.objects.filter(vehicle=engine).values_list("status", flat=True).afirst()
            if status == "on_scene":
                break
            await asyncio.sleep(0.5)
        assert status == "on_scene"  # arrived by road; the geofence, not a person, set it
        assert len(acknowledged(acked_log)) > len(before_restart)  # reporting resumed after the restart
    finally:
        simulator.terminate()
        await asyncio.to_thread(simulator.wait, 30)
        log.close()
        await socket.close()
        print((tmp_path / "simulator.log").read_text()[-3000:])  # shown when the test fails
    acked = acknowledged(acked_log)
    rows = await sync_to_async(stored)()
    assert acked and acked <= rows, f"acknowledged but missing: {sorted(acked - rows)[:5]}"
    incident_status = await sync_to_async(lambda: engine.assignments.get().incident.status)()
    assert incident_status == "on_scene"
