"""AVL rules, run after each committed batch of positions: geofences and motion move units along their
assignments, and alarms (speeding, SOS, restricted zone, off route, stopped too long) are raised and cleared.

The thresholds and their reasons are in ``avl``; this module applies them to the units that moved.
"""

import contextlib
from typing import TYPE_CHECKING

from django.contrib.gis.geos import Point
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from core.errors import Refusal
from core.events import publish

from . import avl
from .features import alarm_feature
from .models import Alarm, Assignment, Vehicle
from .services import set_assignment_status

if TYPE_CHECKING:  # tracks imports this module to run the rules after each batch
    from .tracks import Fix

_ACTIVE_ON_THE_ROAD = """
SELECT a.id, a.status, a.vehicle_id, v.last_speed_kmh,
       ST_DistanceSphere(v.last_position, i.geom), ST_DistanceSphere(v.last_position, s.geom)
FROM dispatch_assignment a
JOIN dispatch_vehicle v ON v.id = a.vehicle_id
JOIN dispatch_incident i ON i.id = a.incident_id
LEFT JOIN dispatch_station s ON s.id = v.station_id
WHERE a.vehicle_id = ANY(%s) AND a.status IN ('dispatched', 'en_route', 'returning')
"""
_IN_RESTRICTED_ZONE = """
SELECT v.id, min(z.name) FROM dispatch_vehicle v
JOIN dispatch_restrictedzone z ON ST_Intersects(z.geom, v.last_position)
WHERE v.id = ANY(%s) GROUP BY v.id
"""
_OFF_ROUTE = """
SELECT id, ST_DistanceSphere(ST_ClosestPoint(route, last_position), last_position) FROM dispatch_vehicle
WHERE id = ANY(%s) AND route IS NOT NULL
"""
_LAST_MOVING = """
SELECT vehicle_id, max(fix_time) FILTER (WHERE speed_kmh >= %s), min(fix_time), max(fix_time) FROM dispatch_track
WHERE vehicle_id = ANY(%s) AND fix_time > now() - %s GROUP BY vehicle_id
"""


def apply_avl(moved: list[dict], fixes: "list[Fix]" = ()) -> None:
    """After a batch committed: move assignments by geofence and motion, raise and clear alarms.

    ``moved`` are the Features of units whose last position advanced (``WriteResult.moved``).
    """
    if not moved:
        return
    ids = [f["id"] for f in moved]
    with connection.cursor() as cursor:
        cursor.execute(_ACTIVE_ON_THE_ROAD, [ids])
        steps = [
            (assignment_id, step)
            for assignment_id, status, _, speed, to_incident, to_station in cursor.fetchall()
            if (step := avl.assignment_step(status, speed or 0.0, to_incident, to_station))
        ]
    for assignment_id, step in steps:
        with contextlib.suppress(Refusal):  # a dispatcher moved it first
            set_assignment_status(None, Assignment(pk=assignment_id), step, source="avl")
    _update_alarms(moved, fixes)


def _update_alarms(moved: list[dict], fixes) -> None:
    by_id = {f["id"]: f for f in moved}
    ids = list(by_id)
    raised: dict[tuple[int, str], str] = {}
    for uid, f in by_id.items():
        props = f["properties"]
        limit = avl.speed_limit(props["kind"])
        if (props["speed_kmh"] or 0) > limit:
            raised[(uid, Alarm.Kind.SPEEDING)] = f"{props['speed_kmh']:.0f} km/h > {limit:.0f} km/h"
    for fix in fixes:
        if fix.alarm & avl.SOS_ALARM_BIT and fix.vehicle_id in by_id:
            raised[(fix.vehicle_id, Alarm.Kind.SOS)] = "SOS"
    watched = {Alarm.Kind.SPEEDING, Alarm.Kind.SOS}
    dangerous = [uid for uid, f in by_id.items() if f["properties"]["kind"] == Vehicle.Kind.DANGEROUS_GOODS]
    stop_watch = [
        uid
        for uid, f in by_id.items()
        if (f["properties"]["kind"] in avl.WATCH_STOPS or f["properties"]["status"] == Vehicle.Status.EN_ROUTE)
        and (f["properties"]["speed_kmh"] or 0) < avl.STOPPED_KMH
    ]
    with connection.cursor() as cursor:
        if dangerous:
            watched.add(Alarm.Kind.RESTRICTED_ZONE)
            cursor.execute(_IN_RESTRICTED_ZONE, [dangerous])
            for uid, zone in cursor.fetchall():
                raised[(uid, Alarm.Kind.RESTRICTED_ZONE)] = zone
        cursor.execute(_OFF_ROUTE, [ids])
        for uid, off_m in cursor.fetchall():
            watched.add(Alarm.Kind.OFF_ROUTE)
            if off_m > avl.OFF_ROUTE_M:
                raised[(uid, Alarm.Kind.OFF_ROUTE)] = f"{off_m:.0f} m"
        if stop_watch:
            cursor.execute(_LAST_MOVING, [avl.MOVING_KMH, stop_watch, avl.STOP_LIMIT * 3])
            for uid, moving_at, first_at, latest_at in cursor.fetchall():
                if avl.is_stopped_too_long(moving_at, first_at, latest_at):
                    raised[(uid, Alarm.Kind.STOPPED)] = f"{(latest_at - (moving_at or first_at)).seconds // 60} min"
    open_alarms = {(a.vehicle_id, a.kind): a for a in Alarm.objects.filter(vehicle_id__in=ids, cleared_at__isnull=True)}
    for key, detail in raised.items():
        if key not in open_alarms:
            _raise_alarm(key[0], key[1], detail, by_id[key[0]])
    moving = {uid for uid, f in by_id.items() if (f["properties"]["speed_kmh"] or 0) >= avl.MOVING_KMH}
    for key, alarm in open_alarms.items():
        ended = key not in raised and (key[1] in watched or (key[1] == Alarm.Kind.STOPPED and key[0] in moving))
        if ended:
            _clear_alarm(alarm)


def _raise_alarm(vehicle_id: int, kind: str, detail: str, feature: dict) -> None:
    lon, lat = feature["geometry"]["coordinates"]
    with transaction.atomic():
        try:
            with transaction.atomic():
                alarm = Alarm.objects.create(
                    vehicle_id=vehicle_id,
                    kind=kind,
                    message=f"{feature['properties']['call_sign']}: {Alarm.Kind(kind).label} ({detail})",
                    at=timezone.now(),
                    geom=Point(lon, lat, srid=4326),
                )
        except IntegrityError:  # another ingest replica raised it first
            return
        alarm = Alarm.objects.select_related("vehicle__agency").get(pk=alarm.pk)
        publish("alarms", "alarm.raised", alarm_feature(alarm), geom=alarm.geom, orgs=[alarm.vehicle.agency_id])


def _clear_alarm(alarm: Alarm) -> None:
    with transaction.atomic():
        if not Alarm.objects.filter(pk=alarm.pk, cleared_at__isnull=True).update(cleared_at=timezone.now()):
            return
        alarm = Alarm.objects.select_related("vehicle__agency").get(pk=alarm.pk)
        publish("alarms", "alarm.cleared", alarm_feature(alarm), geom=alarm.geom, orgs=[alarm.vehicle.agency_id])
