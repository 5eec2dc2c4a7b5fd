"""State changes of dispatch: GPS fixes into the day-partitioned track table and the units' last positions;
incidents, their calls, assignments and statuses (each change one transaction, published as it commits).

Both GPS paths (the JT/T 808 ingest process and the OsmAnd HTTP view) end in ``record_fixes``: one
transaction that COPYs the batch into a staging table, inserts it into the track with ``ON CONFLICT DO
NOTHING`` (a resent fix is stored once) and moves each unit's last position forward only. Vehicle
positions are not events (too many, never replayed): they go to consoles on the channel-layer group
``ops.vehicles``, coalesced by ``VehicleFeed``.
"""

import contextlib
import hashlib
import logging
import math
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.contrib.gis.geos import Point
from django.db import IntegrityError, ProgrammingError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core import hooks
from core.errors import InputError
from core.events import call_later, publish, send_to_group
from core.hooks import IncidentOpened
from core.models import User
from core.realtime import VEHICLE_GROUP
from core.services import record_audit

from . import avl, selectors
from .features import alarm_feature, incident_feature, vehicle_feature
from .models import Alarm, Assignment, Call, Incident, IncidentType, TimelineEntry, Vehicle

log = logging.getLogger(__name__)

# Terminal clocks drift and GMT+8 mistakes happen; beyond this a fix time is a broken clock, not a fix.
FUTURE_TOLERANCE = timedelta(minutes=5)
# A terminal's blind-area backlog (0x0704) may be days old; older than this is a reset clock, and each
# distinct day would otherwise create a track partition.
MAX_FIX_AGE = timedelta(days=30)
# Bounds that also keep one bad row from failing the whole COPY batch (heading smallint, altitude integer).
MAX_SPEED_KMH = 1000.0
ALTITUDE_RANGE_M = (-1000, 10000)
FEED_INTERVAL_S = 1.0  # at most one update per vehicle per second on ops.vehicles

_STAGE = """
CREATE TEMP TABLE IF NOT EXISTS dispatch_track_stage (
    terminal text, fix_time timestamptz, vehicle_id bigint, lon float8, lat float8,
    speed_kmh float8, heading smallint, altitude integer, alarm bigint, status bigint
) ON COMMIT DELETE ROWS
"""
_INSERT = """
INSERT INTO dispatch_track
    (terminal, fix_time, vehicle_id, geom, speed_kmh, heading, altitude, alarm, status, received_at)
SELECT terminal, fix_time, vehicle_id, ST_SetSRID(ST_MakePoint(lon, lat), 4326),
       speed_kmh, heading, altitude, alarm, status, now()
FROM dispatch_track_stage
ON CONFLICT DO NOTHING
"""
# Back-filled (blind-area) fixes arrive late: the last position only ever moves forward in time.
_MOVE_UNITS = """
UPDATE dispatch_vehicle v
SET last_position = ST_SetSRID(ST_MakePoint(s.lon, s.lat), 4326),
    last_fix_at = LEAST(s.fix_time, now()), last_speed_kmh = s.speed_kmh, last_heading = s.heading
FROM (
    SELECT DISTINCT ON (vehicle_id) vehicle_id, lon, lat, fix_time, speed_kmh, heading
    FROM dispatch_track_stage ORDER BY vehicle_id, fix_time DESC
) s, core_organisation o
WHERE v.id = s.vehicle_id AND o.id = v.agency_id AND (v.last_fix_at IS NULL OR v.last_fix_at < s.fix_time)
-- a fix ahead of the clock (within FUTURE_TOLERANCE) counts as now: it never holds the unit against later fixes
RETURNING v.id, v.call_sign, v.kind, v.status, v.agency_id, o.agency, s.lon, s.lat, s.speed_kmh, s.heading,
          s.fix_time
"""
_COPY = (
    "COPY dispatch_track_stage (terminal, fix_time, vehicle_id, lon, lat, speed_kmh, heading, altitude, alarm,"
    " status) FROM STDIN"
)

_known_partitions: set[str] = set()


@dataclass(frozen=True, slots=True)
class Fix:
    """One position from any terminal; speed in km/h, heading in degrees, time aware (UTC)."""

    terminal: str
    vehicle_id: int
    fix_time: datetime
    latitude: float
    longitude: float
    speed_kmh: float = 0.0
    heading: int = 0
    altitude: int = 0
    alarm: int = 0
    status: int = 0


@dataclass(slots=True)
class WriteResult:
    """``refused[i]`` is the reason fix i was not stored (None: stored now or already before)."""

    refused: list[str | None]
    inserted: int = 0
    moved: list[dict] = field(default_factory=list)  # GeoJSON Features of units whose last position moved


def osmand_terminal(device_id: str) -> str:
    """The track's terminal key of an OsmAnd device: namespaced, so that a device id equal to some JT/T 808
    phone number can never make the (terminal, fix time) de-duplication drop another unit's fix."""
    return f"osmand:{device_id}"


def refusal(fix: Fix, now: datetime) -> str | None:
    """Why a fix must never reach the track table, or None when it may."""
    lat, lon = fix.latitude, fix.longitude
    if not (math.isfinite(lat) and math.isfinite(lon)) or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return f"coordinates out of range (lat {lat}, lon {lon})"
    if lat == 0 and lon == 0:
        return "the 0,0 point is a terminal without a fix"
    if fix.fix_time > now + FUTURE_TOLERANCE:
        return f"fix time {fix.fix_time.isoformat()} is in the future"
    if fix.fix_time < now - MAX_FIX_AGE:
        return f"fix time {fix.fix_time.isoformat()} is older than {MAX_FIX_AGE.days} days"
    if not (math.isfinite(fix.speed_kmh) and 0 <= fix.speed_kmh <= MAX_SPEED_KMH):
        return f"speed {fix.speed_kmh} is not between 0 and {MAX_SPEED_KMH} km/h"
    if not 0 <= fix.heading <= 359:
        return f"heading {fix.heading} is not between 0 and 359 degrees"
    if not ALTITUDE_RANGE_M[0] <= fix.altitude <= ALTITUDE_RANGE_M[1]:
        return f"altitude {fix.altitude} m is out of range"
    return None


def ensure_partitions(days) -> None:
    """Create the day partitions the batch needs, outside its transaction (DDL locks the parent table)."""
    for day in sorted(days):
        name = f"dispatch_track_{day:%Y%m%d}"
        if name in _known_partitions:
            continue
        start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(
                    f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF dispatch_track FOR VALUES FROM (%s) TO (%s)",
                    [start, start + timedelta(days=1)],
                )
        except (IntegrityError, ProgrammingError) as exc:
            if not _partition_exists(name):  # not the create race with another writer: a real failure
                raise
            log.info("partition %s created concurrently (%s)", name, exc)
        _known_partitions.add(name)


def _partition_exists(name: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [name])
        return cursor.fetchone()[0]


def record_fixes(fixes: list[Fix]) -> WriteResult:
    """Store a batch: refuse invalid fixes (logged), COPY the rest, de-duplicate, move units forward."""
    now = timezone.now()
    result = WriteResult(refused=[refusal(fix, now) for fix in fixes])
    accepted = [fix for fix, reason in zip(fixes, result.refused, strict=True) if reason is None]
    for fix, reason in zip(fixes, result.refused, strict=True):
        if reason is not None:
            log.warning("GPS fix refused from terminal %s: %s", fix.terminal, reason)
    if not accepted:
        return result
    ensure_partitions({fix.fix_time.astimezone(UTC).date() for fix in accepted})
    with transaction.atomic(), connection.cursor() as wrapper:
        cursor = wrapper.cursor  # psycopg 3 cursor: Django's wrapper has no COPY
        cursor.execute(_STAGE)
        with cursor.copy(_COPY) as copy:
            for f in accepted:
                copy.write_row(
                    (
                        f.terminal,
                        f.fix_time,
                        f.vehicle_id,
                        f.longitude,
                        f.latitude,
                        f.speed_kmh,
                        f.heading,
                        f.altitude,
                        f.alarm,
                        f.status,
                    )
                )
        cursor.execute(_INSERT)
        result.inserted = cursor.rowcount
        cursor.execute(_MOVE_UNITS)
        result.moved = [vehicle_feature(*row) for row in cursor.fetchall()]
    return result


def register_jt808_terminal(vehicle: Vehicle) -> str | None:
    """A fresh random code for the unit's terminal, the first time it registers; None if it is registered already.

    A registered terminal keeps its code (it stores it, as the standard intends) and authenticates with it: a new
    registration is refused, so whoever knows the phone number and the plate painted on the vehicle gets nothing.
    An administrator's release (release_jt808_registration) lets the terminal register again.
    """
    code = secrets.token_hex(16)
    claimed = Vehicle.objects.filter(pk=vehicle.pk, jt808_auth_code="").update(jt808_auth_code=code)
    if not claimed:
        return None
    record_audit(None, "jt808.register", vehicle, f"{vehicle.call_sign} {vehicle.jt808_phone}")
    return code


def issue_osmand_token(actor: User | None, vehicle: Vehicle) -> str:
    """A new secret token (192 bits) for the unit's OsmAnd phone, to enter as its device id; shown once, kept only
    as a hash. Issuing again rotates it: the old token stops working at once."""
    token = secrets.token_urlsafe(24)
    Vehicle.objects.filter(pk=vehicle.pk).update(osmand_token_sha256=hashlib.sha256(token.encode()).hexdigest())
    record_audit(actor, "osmand.token_issued", vehicle, vehicle.call_sign)
    return token


def revoke_osmand_token(actor: User | None, vehicle: Vehicle) -> None:
    Vehicle.objects.filter(pk=vehicle.pk).update(osmand_token_sha256=None)
    record_audit(actor, "osmand.token_revoked", vehicle, vehicle.call_sign)


def release_jt808_registration(actor: User | None, vehicle: Vehicle) -> None:
    """An administrator lets the unit's terminal register anew (replaced or reset): its old code stops working."""
    Vehicle.objects.filter(pk=vehicle.pk).update(jt808_auth_code="")
    record_audit(actor, "jt808.release", vehicle, f"{vehicle.call_sign} {vehicle.jt808_phone}")


class VehicleFeed:
    """Coalesces moved-vehicle Features: only the newest per vehicle is kept, and a vehicle is sent at most
    once per ``interval`` seconds, so a terminal reporting 10 Hz costs the consoles 1 Hz.
    """

    def __init__(self, interval: float = FEED_INTERVAL_S) -> None:
        self.interval = interval
        self._pending: dict[int, dict] = {}
        self._sent_at: dict[int, float] = {}

    def add(self, features: list[dict]) -> None:
        for feature in features:
            self._pending[feature["id"]] = feature

    def next_due(self, now: float) -> float | None:
        """Seconds from monotonic ``now`` until a pending vehicle may be sent (None: nothing pending)."""
        if not self._pending:
            return None
        return max(0.0, min(self._sent_at.get(uid, -math.inf) + self.interval for uid in self._pending) - now)

    def take(self, now: float) -> list[dict]:
        """The pending Features whose vehicle may be sent again at monotonic time ``now``."""
        due = [uid for uid in self._pending if now - self._sent_at.get(uid, -math.inf) >= self.interval]
        for uid in due:
            self._sent_at[uid] = now
        return [self._pending.pop(uid) for uid in due]


def vehicles_message(features: list[dict]) -> dict:
    return {"type": "ops.vehicles", "features": features}


class SharedVehicleFeed(VehicleFeed):
    """The feed of synchronous writers (the OsmAnd view, from many request threads): sends what the 1 Hz
    coalescing allows at once, and a held position when its vehicle is due, even if no other fix follows."""

    def __init__(self, interval: float = FEED_INTERVAL_S) -> None:
        super().__init__(interval)
        self._lock = threading.Lock()
        self._flush_scheduled = False

    def publish(self, features: list[dict]) -> None:
        with self._lock:
            self.add(features)
        self._send_due()

    def _send_due(self) -> None:
        with self._lock:
            now = time.monotonic()
            due = self.take(now)
            wait = self.next_due(now)
            schedule = wait is not None and not self._flush_scheduled
            self._flush_scheduled = self._flush_scheduled or schedule
        if due:
            send_to_group(VEHICLE_GROUP, vehicles_message(due))
        if schedule:
            call_later(wait, self._flush)

    def _flush(self) -> None:
        with self._lock:
            self._flush_scheduled = False
        self._send_due()


# -- incidents ------------------------------------------------------------------------------------------

DUPLICATE_RADIUS_M = 300.0
DUPLICATE_WINDOW = timedelta(minutes=30)
CALL_TIME_TOLERANCE = timedelta(minutes=1)  # a call-taker's clock may run slightly ahead
INCIDENT_ORDER = list(Incident.Status.values)
ASSIGNMENT_ORDER = list(Assignment.Status.values)
# What a unit's status becomes when its assignment reaches each state.
UNIT_STATUS_FOR = {
    Assignment.Status.DISPATCHED: Vehicle.Status.DISPATCHED,
    Assignment.Status.EN_ROUTE: Vehicle.Status.EN_ROUTE,
    Assignment.Status.ON_SCENE: Vehicle.Status.ON_SCENE,
    Assignment.Status.RETURNING: Vehicle.Status.RETURNING,
    Assignment.Status.CLEARED: Vehicle.Status.AVAILABLE,
}
# The incident follows its most advanced unit, up to on scene; the rest is the commander's call.
INCIDENT_STATUS_FOR = {
    Assignment.Status.EN_ROUTE: Incident.Status.EN_ROUTE,
    Assignment.Status.ON_SCENE: Incident.Status.ON_SCENE,
}


class ConflictError(Exception):
    """The request is valid but the current state forbids it (409); nothing was changed."""

    def __init__(self, detail: str, **extra):
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class PossibleDuplicate(Exception):
    """Open incidents that look like the same event; the call taker decides (confirm_new or same_as)."""

    def __init__(self, duplicates: list[Incident]):
        super().__init__(f"{len(duplicates)} possible duplicates")
        self.duplicates = duplicates


def _actor(user) -> User | None:
    return user if user is not None and user.is_authenticated else None


def _note(incident: Incident, type_: str, text: str, user=None, at=None) -> None:
    """One timeline line: its type says what happened (translated when read), ``text`` the particulars."""
    TimelineEntry.objects.create(
        incident=incident, at=at or timezone.now(), type=type_, text=text[:255], actor=_actor(user)
    )


def _publish_incident(incident_id: int, type_: str, extra_agencies=()) -> dict:
    """Publish the incident as consoles see it; `extra_agencies` (just unlinked) still get this update."""
    incident = selectors.incidents_for(selectors.CITY_WIDE).get(pk=incident_id)
    feature = incident_feature(incident)
    orgs = selectors.agency_org_ids({*incident.agencies, *extra_agencies})
    publish("incidents", type_, feature, geom=incident.geom, orgs=orgs)
    return feature


def publish_unit_status(vehicle: Vehicle) -> None:
    position = vehicle.last_position
    feature = vehicle_feature(
        vehicle.pk,
        vehicle.call_sign,
        vehicle.kind,
        vehicle.status,
        vehicle.agency_id,
        vehicle.agency.agency,
        position.x if position else None,
        position.y if position else None,
        vehicle.last_speed_kmh,
        vehicle.last_heading,
        vehicle.last_fix_at,
    )
    publish("incidents", "unit.status", feature, geom=position, orgs=[vehicle.agency_id])


def _next_number(agency: str, received: datetime) -> str:
    """``119-20261123-0007``: agency, local date of the call, the day's sequence (serialised by a lock)."""
    prefix = f"{agency}-{timezone.localtime(received):%Y%m%d}-"
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [prefix])
    last = Incident.objects.filter(number__startswith=prefix).order_by("-number").values_list("number", flat=True)
    sequence = int(last[0].rsplit("-", 1)[1]) + 1 if last else 1
    return f"{prefix}{sequence:04d}"


def create_incident(
    user,
    *,
    incident_type: IncidentType,
    point,
    caller_number: str = "",
    call_received_at: datetime | None = None,
    priority: int | None = None,
    description: str = "",
    address: str = "",
    confirm_new: bool = False,
) -> Incident:
    """A new incident from a call, linked to every agency its response plan involves.

    Refuses a point outside the city (InputError "location") and, unless ``confirm_new``, raises
    PossibleDuplicate when an open incident of the same type or agency is near in space and time.
    """
    now = timezone.now()
    received = call_received_at or now
    if received > now + CALL_TIME_TOLERANCE:
        raise InputError("call_received_at", _("%(time)s is in the future") % {"time": received.isoformat()})
    city = selectors.city_area()
    if city is not None and not city.geom.intersects(point):
        raise InputError(
            "location",
            _("(%(lon).6f, %(lat).6f) is outside the city of %(city)s")
            % {"lon": point.x, "lat": point.y, "city": city.name},
        )
    if not confirm_new:
        duplicates = selectors.open_duplicates(incident_type, point, received, DUPLICATE_RADIUS_M, DUPLICATE_WINDOW)
        if duplicates:
            raise PossibleDuplicate(duplicates)
    agencies = sorted({incident_type.agency, *(line.agency for line in incident_type.plan.all())})
    with transaction.atomic():
        incident = Incident.objects.create(
            number=_next_number(incident_type.agency, received),
            incident_type=incident_type,
            priority=priority or incident_type.default_priority,
            agencies=agencies,
            address=address,
            description=description,
            caller_number=caller_number,
            district=selectors.district_at(point),
            geom=point,
            created_by=_actor(user),
            call_received_at=received,
            created_at=now,
        )
        Call.objects.create(
            incident=incident,
            caller_number=caller_number,
            received_at=received,
            description=description,
            taken_by=_actor(user),
        )
        _note(incident, "call", caller_number, user, received)
        _note(incident, "created", incident.number, user, now)
        if len(agencies) > 1:
            _note(incident, "linked", ", ".join(agencies), user, now)
        record_audit(_actor(user), "incident.create", incident, incident.number)
        _publish_incident(incident.pk, "incident.created")
        hooks.incident_opened.fire_on_commit(IncidentOpened(incident.pk, point, incident_type.utility))
    return incident


def attach_call(user, incident: Incident, *, caller_number: str = "", call_received_at=None, description="") -> None:
    """A repeat call about an incident already open: recorded on it, no new incident."""
    received = call_received_at or timezone.now()
    with transaction.atomic():
        incident = Incident.objects.select_for_update().get(pk=incident.pk)
        if incident.status == Incident.Status.CLOSED:
            raise ConflictError(_("incident %(number)s is closed; create a new one") % {"number": incident.number})
        Call.objects.create(
            incident=incident,
            caller_number=caller_number,
            received_at=received,
            description=description,
            taken_by=_actor(user),
        )
        _note(incident, "call", " ".join(filter(None, [caller_number, description])), user, received)
        _publish_incident(incident.pk, "incident.updated")


def dispatch_units(user, viewer, incident: Incident, vehicle_ids: list[int], etas: dict | None = None) -> None:
    """Send units; all or nothing. A unit not available, or of an agency the user does not work for, refuses
    the whole request and names it."""
    now = timezone.now()
    agencies_allowed = selectors.viewer_agencies(viewer)
    with transaction.atomic():
        incident = Incident.objects.select_for_update().get(pk=incident.pk)
        if incident.status in (Incident.Status.UNDER_CONTROL, Incident.Status.CLOSED):
            raise ConflictError(
                _("incident %(number)s is %(status)s; no more units can be sent")
                % {"number": incident.number, "status": incident.get_status_display()}
            )
        locked = Vehicle.objects.select_for_update(of=("self",)).select_related("agency").filter(pk__in=vehicle_ids)
        units = {u.pk: u for u in locked.order_by("pk")}
        unknown = [pk for pk in vehicle_ids if pk not in units]
        if unknown:
            raise InputError("vehicle_ids", _("no unit with id %(id)s") % {"id": unknown[0]})
        allowed = agencies_allowed if agencies_allowed is not None else {u.agency.agency for u in units.values()}
        foreign = [u for u in units.values() if u.agency.agency not in allowed]
        if foreign:
            raise ConflictError(
                _("unit %(unit)s belongs to agency %(agency)s; link that agency instead")
                % {"unit": foreign[0].call_sign, "agency": foreign[0].agency.agency},
                vehicle_ids=[u.pk for u in foreign],
            )
        busy = [u for u in units.values() if u.status != Vehicle.Status.AVAILABLE]
        busy += [
            u
            for u in units.values()
            if u not in busy and Assignment.objects.filter(vehicle=u).exclude(status=Assignment.Status.CLEARED).exists()
        ]
        if busy:
            names = ", ".join(f"{u.call_sign} ({u.get_status_display()})" for u in busy)
            raise ConflictError(_("not available: %(units)s") % {"units": names}, vehicle_ids=[u.pk for u in busy])
        etas = etas or {}
        Assignment.objects.bulk_create(
            Assignment(
                incident=incident,
                vehicle=u,
                agency=u.agency.agency,
                eta_s=etas.get(u.pk),
                dispatched_by=_actor(user),
                dispatched_at=now,
            )
            for u in units.values()
        )
        Vehicle.objects.filter(pk__in=units).update(status=Vehicle.Status.DISPATCHED)
        new_agencies = sorted({u.agency.agency for u in units.values()} - set(incident.agencies))
        if new_agencies:
            incident.agencies = sorted({*incident.agencies, *new_agencies})
            _note(incident, "linked", ", ".join(new_agencies), user, now)
        if incident.dispatched_at is None:
            incident.dispatched_at = now
        if incident.status == Incident.Status.RECEIVED:
            incident.status = Incident.Status.DISPATCHED
        incident.save()
        _note(incident, "dispatched", ", ".join(u.call_sign for u in units.values()), user, now)
        record_audit(_actor(user), "incident.dispatch", incident, incident.number, {"vehicles": sorted(units)})
        _publish_incident(incident.pk, "incident.updated")
        for unit in units.values():
            unit.status = Vehicle.Status.DISPATCHED
            publish_unit_status(unit)


def set_assignment_status(user, assignment: Assignment, status: str, *, source: str = "manual", at=None) -> None:
    """Move a unit forward on its assignment (never backwards); the unit and the incident follow."""
    now = at or timezone.now()
    with transaction.atomic():
        locked = Assignment.objects.select_for_update(of=("self",)).select_related("vehicle__agency")
        assignment = locked.get(pk=assignment.pk)
        if ASSIGNMENT_ORDER.index(status) <= ASSIGNMENT_ORDER.index(assignment.status):
            raise ConflictError(
                _("unit %(unit)s is already %(current)s; it cannot go back to %(target)s")
                % {
                    "unit": assignment.vehicle.call_sign,
                    "current": assignment.get_status_display(),
                    "target": Assignment.Status(status).label,
                },
                current=assignment.status,
            )
        assignment.status = status
        setattr(assignment, f"{status}_at", now)
        assignment.save()
        unit = assignment.vehicle
        unit.status = UNIT_STATUS_FOR[status]
        unit.save(update_fields=["status"])
        incident = Incident.objects.select_for_update().get(pk=assignment.incident_id)
        follow = INCIDENT_STATUS_FOR.get(status)
        if follow and INCIDENT_ORDER.index(follow) > INCIDENT_ORDER.index(incident.status):
            incident.status = follow
            setattr(incident, f"{follow}_at", now)
            incident.save()
        _note(incident, f"unit.{status}", f"{unit.call_sign} (AVL)" if source == "avl" else unit.call_sign, user, now)
        _publish_incident(incident.pk, "incident.updated")
        publish_unit_status(unit)


def set_incident_status(user, incident: Incident, status: str) -> None:
    """Under control or closed, never backwards. Closing releases the units: those on scene return, the others
    are cleared at once."""
    now = timezone.now()
    with transaction.atomic():
        incident = Incident.objects.select_for_update().get(pk=incident.pk)
        if INCIDENT_ORDER.index(status) <= INCIDENT_ORDER.index(incident.status):
            raise ConflictError(
                _("incident %(number)s is already %(current)s; it cannot go back to %(target)s")
                % {
                    "number": incident.number,
                    "current": incident.get_status_display(),
                    "target": Incident.Status(status).label,
                },
                current=incident.status,
            )
        incident.status = status
        setattr(incident, f"{status}_at", now)
        if status == Incident.Status.CLOSED and incident.under_control_at is None:
            incident.under_control_at = now
        incident.save()
        released = []
        if status == Incident.Status.CLOSED:
            for a in (
                incident.assignments.select_for_update(of=("self",))
                .select_related("vehicle__agency")
                .filter(selectors.ACTIVE_ASSIGNMENT)
            ):
                if a.status in (Assignment.Status.ON_SCENE, Assignment.Status.RETURNING):
                    a.status, a.returning_at = Assignment.Status.RETURNING, a.returning_at or now
                else:
                    a.status, a.cleared_at = Assignment.Status.CLEARED, now
                a.save()
                a.vehicle.status = UNIT_STATUS_FOR[a.status]
                a.vehicle.save(update_fields=["status"])
                released.append(a.vehicle)
        _note(incident, status, "", user, now)
        record_audit(_actor(user), f"incident.{status}", incident, incident.number)
        _publish_incident(incident.pk, "incident.closed" if status == Incident.Status.CLOSED else "incident.updated")
        for unit in released:
            publish_unit_status(unit)


def link_agency(user, viewer, incident: Incident, *, link: str | None = None, unlink: str | None = None) -> None:
    """联动: add an agency to a joint incident (its desk sees it at once) or withdraw one."""
    with transaction.atomic():
        incident = Incident.objects.select_for_update().get(pk=incident.pk)
        if incident.status == Incident.Status.CLOSED:
            raise ConflictError(_("incident %(number)s is closed") % {"number": incident.number})
        if link:
            if link in incident.agencies:
                raise ConflictError(_("agency %(agency)s is already linked") % {"agency": link})
            incident.agencies = sorted({*incident.agencies, link})
            _note(incident, "linked", link, user)
        else:
            mine = selectors.viewer_agencies(viewer)
            if mine is not None and unlink not in mine:
                raise ConflictError(
                    _("only agency %(agency)s or the command centre may withdraw it") % {"agency": unlink}
                )
            if unlink not in incident.agencies:
                raise ConflictError(_("agency %(agency)s is not linked") % {"agency": unlink})
            if len(incident.agencies) == 1:
                raise ConflictError(_("an incident needs at least one agency"))
            if incident.assignments.filter(selectors.ACTIVE_ASSIGNMENT, agency=unlink).exists():
                raise ConflictError(_("agency %(agency)s still has units on this incident") % {"agency": unlink})
            incident.agencies = [a for a in incident.agencies if a != unlink]
            _note(incident, "unlinked", unlink, user)
        incident.save(update_fields=["agencies"])
        record_audit(_actor(user), "incident.agencies", incident, incident.number, {"link": link, "unlink": unlink})
        _publish_incident(incident.pk, "incident.updated", extra_agencies=[unlink] if unlink else [])


# -- AVL: positions that change assignments, and alarms ----------------------------------------------------

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


def apply_avl(moved: list[dict], fixes: list[Fix] = ()) -> None:
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
        with contextlib.suppress(ConflictError):  # a dispatcher moved it first
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
