"""AVL rules, run after each committed batch of positions: geofences and motion move units along their
assignments, and alarms (speeding, SOS, restricted zone, off route, stopped too long, lost satellite signal) are
raised and cleared; a unit that reports again ends its offline alarm.

Also the alarms' clock-driven checks (offline units, escalation; run by a periodic job, ``fences.tasks``), the
alarm raise/clear other apps' rules use (``raise_alarm``, ``clear_alarm``), and the operator's workflow:
acknowledge and close, each with a note. The thresholds and their reasons are in ``avl``.
"""

import contextlib
import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.contrib.gis.geos import Point
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import InputError, Refusal
from core.events import publish
from core.models import Role, User
from core.services import record_audit
from notify import services as notify
from notify.models import Channel, Severity

from . import avl
from .features import alarm_feature
from .models import Alarm, Assignment, Vehicle
from .services import set_assignment_status

log = logging.getLogger(__name__)

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
_LAST_POSITIONED = """
SELECT vehicle_id, max(fix_time) FILTER (WHERE status & %s <> 0), min(fix_time), max(fix_time) FROM dispatch_track
WHERE vehicle_id = ANY(%s) AND fix_time > now() - %s GROUP BY vehicle_id
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
    positioned: dict[int, bool] = {}  # units of the batch: any fix with a satellite fix
    for fix in fixes:
        if fix.alarm & avl.SOS_ALARM_BIT and fix.vehicle_id in by_id:
            raised[(fix.vehicle_id, Alarm.Kind.SOS)] = "SOS"
        if fix.vehicle_id in by_id:
            positioned[fix.vehicle_id] = positioned.get(fix.vehicle_id, False) or fix.positioned
    # a unit that reports is not offline; one whose terminal reported a satellite fix has its signal
    watched = {Alarm.Kind.SPEEDING, Alarm.Kind.SOS, Alarm.Kind.OFFLINE, Alarm.Kind.LOST_SIGNAL}
    blind = [uid for uid, fixed in positioned.items() if not fixed]
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
        if blind:
            cursor.execute(_LAST_POSITIONED, [avl.FIXED_STATUS_BIT, blind, avl.LOST_SIGNAL_AFTER * 3])
            for uid, fixed_at, first_at, latest_at in cursor.fetchall():
                since = fixed_at or first_at
                if latest_at - since >= avl.LOST_SIGNAL_AFTER:
                    raised[(uid, Alarm.Kind.LOST_SIGNAL)] = f"{(latest_at - since).seconds // 60} min"
        if stop_watch:
            cursor.execute(_LAST_MOVING, [avl.MOVING_KMH, stop_watch, avl.STOP_LIMIT * 3])
            for uid, moving_at, first_at, latest_at in cursor.fetchall():
                if avl.is_stopped_too_long(moving_at, first_at, latest_at):
                    raised[(uid, Alarm.Kind.STOPPED)] = f"{(latest_at - (moving_at or first_at)).seconds // 60} min"
    open_alarms = {
        (a.vehicle_id, a.kind): a for a in Alarm.objects.filter(vehicle_id__in=ids, cleared_at__isnull=True, rule="")
    }
    for key, detail in raised.items():
        if key not in open_alarms:
            _raise_alarm(key[0], key[1], detail, by_id[key[0]])
    moving = {uid for uid, f in by_id.items() if (f["properties"]["speed_kmh"] or 0) >= avl.MOVING_KMH}
    for key, alarm in open_alarms.items():
        ended = key not in raised and (key[1] in watched or (key[1] == Alarm.Kind.STOPPED and key[0] in moving))
        if ended:
            _clear_alarm(alarm)


def _raise_alarm(vehicle_id: int, kind: str, detail: str, feature: dict) -> None:
    message = f"{feature['properties']['call_sign']}: {Alarm.Kind(kind).label} ({detail})"
    raise_alarm(vehicle_id, kind, message, Point(*feature["geometry"]["coordinates"], srid=4326))


def raise_alarm(
    vehicle_id: int,
    kind: str,
    message: str,
    point: Point,
    *,
    rule: str = "",
    at: datetime | None = None,
    instant: bool = False,
) -> Alarm | None:
    """Raise an alarm and announce it; None when the same one (vehicle, kind, rule) is open already (another process
    raised it first). ``instant``: a moment, not a condition (a fence entered): it is cleared as it is raised and
    stays on the consoles until an operator closes it."""
    at = at or timezone.now()
    with transaction.atomic():
        try:
            with transaction.atomic():
                alarm = Alarm.objects.create(
                    vehicle_id=vehicle_id,
                    kind=kind,
                    rule=rule,
                    message=message[:255],
                    at=at,
                    geom=point,
                    cleared_at=at if instant else None,
                )
        except IntegrityError:
            return None
        return _announce(alarm.pk, "alarm.raised")


def clear_alarm(vehicle_id: int, kind: str, rule: str = "") -> None:
    """End the open alarm (vehicle, kind, rule), if there is one."""
    alarm = Alarm.objects.filter(vehicle_id=vehicle_id, kind=kind, rule=rule, cleared_at__isnull=True).first()
    if alarm is not None:
        _clear_alarm(alarm)


def _clear_alarm(alarm: Alarm) -> None:
    with transaction.atomic():
        if not Alarm.objects.filter(pk=alarm.pk, cleared_at__isnull=True).update(cleared_at=timezone.now()):
            return
        _announce(alarm.pk, "alarm.cleared")


def _announce(alarm_id: int, event_type: str) -> Alarm:
    """Publish the alarm's current row on the "alarms" topic to its unit's agency (call inside the transaction)."""
    alarm = Alarm.objects.select_related("vehicle__agency", "acknowledged_by", "closed_by").get(pk=alarm_id)
    publish("alarms", event_type, alarm_feature(alarm), geom=alarm.geom, orgs=[alarm.vehicle.agency_id])
    return alarm


# -- clock-driven checks (fences.tasks runs them every minute) -------------------------------------------------


def check_offline(now: datetime | None = None) -> None:
    """Units on duty (not out of service) that reported once and have been silent for OFFLINE_AFTER are offline;
    the alarm ends when the unit reports again (apply_avl) or is taken out of service."""
    now = now or timezone.now()
    silent_since = now - avl.OFFLINE_AFTER
    open_offline = Alarm.objects.filter(kind=Alarm.Kind.OFFLINE, cleared_at__isnull=True)
    silent = (
        Vehicle.objects.exclude(status=Vehicle.Status.OUT_OF_SERVICE)
        .filter(last_fix_at__lt=silent_since, last_position__isnull=False)
        .exclude(pk__in=open_offline.values("vehicle_id"))
    )
    for unit in silent:
        minutes = int((now - unit.last_fix_at).total_seconds() // 60)
        message = _("%(unit)s: no position for %(minutes)s min") % {"unit": unit.call_sign, "minutes": minutes}
        raise_alarm(unit.pk, Alarm.Kind.OFFLINE, message, unit.last_position, at=now)
    reported = Q(vehicle__status=Vehicle.Status.OUT_OF_SERVICE) | Q(vehicle__last_fix_at__gte=silent_since)
    for alarm in open_offline.filter(reported):
        _clear_alarm(alarm)


ESCALATION_HORIZON = timedelta(days=1)  # older unacknowledged alarms are history, not news for the duty leader


def escalate_overdue(leaders: list[User], now: datetime | None = None) -> list[Alarm]:
    """Alarms nobody acknowledged in time (avl.escalation_due) go up a level: the duty ``leaders`` and the staff of
    the unit's agency are notified in-app, and the consoles show 已升级."""
    now = now or timezone.now()
    waiting = Alarm.objects.filter(
        acknowledged_at__isnull=True, closed_at__isnull=True, at__gte=now - ESCALATION_HORIZON
    ).select_related("vehicle")
    escalated = []
    for alarm in waiting:
        if not avl.escalation_due(alarm.kind, alarm.at, alarm.escalated_at, alarm.escalation_level, now):
            continue
        with transaction.atomic():
            level = alarm.escalation_level + 1
            moved = Alarm.objects.filter(
                pk=alarm.pk, escalation_level=alarm.escalation_level, acknowledged_at__isnull=True
            ).update(escalation_level=level, escalated_at=now)
            if not moved:  # acknowledged, or escalated by another worker, meanwhile
                continue
            _notify_escalation(alarm, level, leaders)
            escalated.append(_announce(alarm.pk, "alarm.escalated"))
    return escalated


def _notify_escalation(alarm: Alarm, level: int, leaders: list[User]) -> None:
    staff = User.objects.filter(
        is_active=True, organisation_id=alarm.vehicle.agency_id, groups__name__in=[Role.OPERATOR, Role.CALL_TAKER]
    )
    recipients = list(dict.fromkeys([*leaders, *staff.distinct().order_by("pk")]))
    if not recipients:
        log.warning("alarm %s escalated to level %s: nobody to notify", alarm.pk, level)
        return
    notify.send(
        sender=None,
        channels=[Channel.IN_APP],
        users=recipients,
        subject=_("Alarm not acknowledged (level %(level)s): %(kind)s")
        % {"level": level, "kind": Alarm.Kind(alarm.kind).label},
        body=_("%(message)s — raised %(at)s, not acknowledged. Please see to it.")
        % {"message": alarm.message, "at": timezone.localtime(alarm.at).strftime("%H:%M")},
        severity=Severity.URGENT,
        about=notify.About("dispatch.alarm", str(alarm.pk), alarm.message[:64]),
        key=f"alarm-{alarm.pk}-escalation-{level}",
    )


# -- the operator's workflow -----------------------------------------------------------------------------------

MAX_NOTE = 500


def acknowledge_alarm(user: User, alarm: Alarm, note: str) -> Alarm:
    """确认: the operator has seen the alarm and says what is being done; stops its escalation. Once."""
    note = _checked_note(note, required=False)
    with transaction.atomic():
        done = Alarm.objects.filter(pk=alarm.pk, acknowledged_at__isnull=True, closed_at__isnull=True).update(
            acknowledged_at=timezone.now(), acknowledged_by=user, acknowledge_note=note
        )
        if not done:
            raise Refusal(_("alarm %(id)s is acknowledged or closed already") % {"id": alarm.pk})
        record_audit(user, "alarm.acknowledge", alarm, f"{alarm.message} — {note}"[:255])
        return _announce(alarm.pk, "alarm.acknowledged")


def close_alarm(user: User, alarm: Alarm, note: str) -> Alarm:
    """关闭: handled, with a note saying how; the alarm leaves the consoles. Closing acknowledges it too."""
    note = _checked_note(note, required=True)
    now = timezone.now()
    with transaction.atomic():
        row = Alarm.objects.select_for_update().filter(pk=alarm.pk, closed_at__isnull=True).first()
        if row is None:
            raise Refusal(_("alarm %(id)s is closed already") % {"id": alarm.pk})
        row.closed_at, row.closed_by, row.close_note = now, user, note
        if row.acknowledged_at is None:
            row.acknowledged_at, row.acknowledged_by = now, user
        if row.kind in avl.ENDED_BY_CLOSING and row.cleared_at is None:
            row.cleared_at = now
        row.save(
            update_fields=["closed_at", "closed_by", "close_note", "acknowledged_at", "acknowledged_by", "cleared_at"]
        )
        record_audit(user, "alarm.close", alarm, f"{alarm.message} — {note}"[:255])
        return _announce(alarm.pk, "alarm.closed")


def _checked_note(note: str, *, required: bool) -> str:
    note = (note or "").strip()
    if required and not note:
        raise InputError("note", _("say how the alarm was handled"))
    if len(note) > MAX_NOTE:
        raise InputError("note", _("at most %(n)s characters") % {"n": MAX_NOTE})
    return note
