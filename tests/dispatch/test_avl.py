"""AVL on the real PostGIS: positions move assignments (en route, on scene, back home), raise and clear
alarms; track playback and response-time KPIs read what the positions and statuses left behind."""

from datetime import timedelta

import pytest
from django.contrib.gis.db.models.functions import Distance
from django.contrib.gis.geos import LineString, MultiPolygon, Polygon
from django.contrib.gis.measure import D
from django.utils import timezone

from core.models import Event, Organisation, User
from core.realtime import Viewer
from dispatch import services
from dispatch.alarms import apply_avl
from dispatch.models import Alarm, Assignment, Incident, IncidentType, RestrictedZone, Station, Vehicle
from dispatch.tracks import Fix, record_fixes
from gis.models import Address

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("empty_track")]
DEG_PER_M = 1 / 111_000



def drive(unit: Vehicle, lon: float, lat: float, speed: float = 40.0, at=None, alarm: int = 0) -> None:
    fixes = [Fix(unit.jt808_phone, unit.pk, at or timezone.now(), lat, lon, speed, 90, 10, alarm)]
    apply_avl(record_fixes(fixes).moved, fixes)


def test_positions_move_the_assignment_and_the_incident_then_bring_the_unit_home(api):
    station = Station.objects.filter(kind=Station.Kind.FIRE_STATION).first()
    engine = station.vehicles.filter(kind=Vehicle.Kind.FIRE_ENGINE).first()
    site = Address.objects.annotate(d=Distance("geom", station.geom)).filter(d__gt=D(m=800)).order_by("d").first().geom
    calltaker = User.objects.get(username="calltaker")
    start = timezone.now() - timedelta(minutes=8)
    incident = services.create_incident(
        calltaker, incident_type=IncidentType.objects.get(code="119-FIRE-VEHICLE"), point=site, call_received_at=start
    )
    services.dispatch_units(calltaker, Viewer.for_user(calltaker), incident, [engine.pk])
    drive(engine, station.geom.x, station.geom.y, speed=0)  # still in the bay: nothing happens
    assert Assignment.objects.get(vehicle=engine).status == "dispatched"
    drive(engine, station.geom.x + 200 * DEG_PER_M, station.geom.y)  # moving away: en route
    assert Assignment.objects.get(vehicle=engine).status == "en_route"
    assert Incident.objects.get(pk=incident.pk).status == "en_route"
    drive(engine, site.x - 60 * DEG_PER_M, site.y)  # inside the 100 m geofence: on scene
    incident.refresh_from_db()
    assert incident.status == "on_scene" and incident.on_scene_at is not None
    assert Vehicle.objects.get(pk=engine.pk).status == "on_scene"
    kinds = list(Event.objects.filter(topic="incidents").values_list("type", flat=True))
    assert kinds.count("unit.status") >= 3 and "incident.updated" in kinds
    assert incident.timeline.filter(type="unit.on_scene", text=f"{engine.call_sign} (AVL)").exists()

    services.set_incident_status(calltaker, incident, Incident.Status.CLOSED)
    assert Vehicle.objects.get(pk=engine.pk).status == "returning"
    drive(engine, station.geom.x + 30 * DEG_PER_M, station.geom.y, speed=10)
    assert Assignment.objects.get(vehicle=engine).status == "cleared"
    assert Vehicle.objects.get(pk=engine.pk).status == "available"

    client = api("calltaker")
    track = client.get(f"/api/dispatch/vehicles/{engine.pk}/track/").json()
    assert track["geometry"]["type"] == "LineString" and len(track["properties"]["points"]) == 4
    url = f"/api/dispatch/vehicles/{engine.pk}/track/"
    assert client.get(f"{url}?from=2026-01-01T00:00:00&to=2026-03-01T00:00:00").json()["field"] == "to"
    assert client.get(f"{url}?from=yesterday").json()["field"] == "from"

    kpis = client.get("/api/dispatch/kpis/?agency=119").json()
    row = next(r for r in kpis["rows"] if r["agency"] == "119")
    assert row["incidents"] == 1 and row["turnout"]["objective_s"] == 80
    assert 7 * 60 < row["call_processing"]["p90_s"] < 9 * 60 and row["call_processing"]["met"] is False
    assert row["travel"]["p90_s"] >= 0 and "NFPA 1710" in kpis["objectives"]["119"]["source"]
    units = client.get("/api/dispatch/units/").json()["features"]
    assert {u["properties"]["status"] for u in units} == {"available"}


def test_alarms_are_raised_once_published_and_cleared(api):
    transport = Organisation.objects.get(code="SZ-TRANSPORT")
    centre = Station.objects.first().geom
    tanker = Vehicle.objects.create(
        call_sign="DG-0001",
        kind=Vehicle.Kind.DANGEROUS_GOODS,
        agency=transport,
        jt808_phone="13911110001",
        route=LineString((centre.x - 0.02, centre.y), (centre.x + 0.02, centre.y), srid=4326),
    )
    zone = Polygon.from_bbox((centre.x - 0.001, centre.y - 0.001, centre.x + 0.001, centre.y + 0.001))
    RestrictedZone.objects.create(name="隧道", geom=MultiPolygon(zone, srid=4326))

    drive(tanker, centre.x - 0.01, centre.y, speed=60)  # on its route, outside the zone: no alarm
    assert not Alarm.objects.exists()
    drive(tanker, centre.x, centre.y, speed=95)  # in the zone and too fast
    assert set(Alarm.objects.filter(cleared_at__isnull=True).values_list("kind", flat=True)) == {
        "restricted_zone",
        "speeding",
    }
    drive(tanker, centre.x + 0.0002, centre.y, speed=96)  # still both: not raised twice
    assert Alarm.objects.count() == 2
    raised = Event.objects.filter(topic="alarms", type="alarm.raised")
    assert raised.count() == 2 and raised.first().data["properties"]["call_sign"] == "DG-0001"
    drive(tanker, centre.x + 0.01, centre.y + 0.005, speed=50, alarm=0x1)  # ~550 m off route, SOS pressed
    open_kinds = set(Alarm.objects.filter(cleared_at__isnull=True).values_list("kind", flat=True))
    assert open_kinds == {"off_route", "sos"}
    assert Event.objects.filter(topic="alarms", type="alarm.cleared").count() == 2
    listed = api("operator").get("/api/dispatch/alarms/?open=1").json()["features"]
    assert {f["properties"]["kind"] for f in listed} == {"off_route", "sos"}
    assert api("dispatcher119").get("/api/dispatch/alarms/?open=1").json()["features"] == []
