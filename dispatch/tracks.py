"""GPS terminals and their positions: the terminals' credentials, fixes into the day-partitioned track table and
the units' last positions, and the coalesced live feed of those positions.

Every GPS path (the JT/T 808 ingest process, the OsmAnd HTTP view, the demo city) goes through ``ingest_fixes``:
``record_fixes`` stores the batch in one transaction (COPY into a staging table, insert into the track with ``ON
CONFLICT DO NOTHING`` so a resent fix is stored once, move each unit's last position forward only), the path
publishes what moved, then the AVL rules run (``alarms.apply_avl``), then the ``positions_stored`` hook (fences).
Vehicle positions are not events (too many, never replayed): they go to consoles on the channel-layer group
``ops.vehicles``, coalesced by ``VehicleFeed``.
"""

import hashlib
import logging
import math
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import psycopg
from django.db import IntegrityError, ProgrammingError, connection, transaction
from django.utils import timezone

from core import health
from core.events import call_later, send_to_group
from core.hooks import PositionsStored, StoredFix, positions_stored
from core.models import User
from core.realtime import VEHICLE_GROUP
from core.services import record_audit

from . import avl
from .alarms import apply_avl
from .features import vehicle_feature
from .models import Vehicle

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
OSMAND_PREFIX = "osmand:"  # an OsmAnd device's track terminal key (osmand_terminal)

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

    @property
    def positioned(self) -> bool:
        """A satellite fix: an OsmAnd phone sends only those; a JT/T 808 terminal says so in its status (off: the
        coordinates are the last known ones)."""
        return self.terminal.startswith(OSMAND_PREFIX) or bool(self.status & avl.FIXED_STATUS_BIT)


@dataclass(slots=True)
class WriteResult:
    """``refused[i]`` is the reason fix i was not stored (None: stored now or already before)."""

    refused: list[str | None]
    inserted: int = 0
    moved: list[dict] = field(default_factory=list)  # GeoJSON Features of units whose last position moved


def osmand_terminal(device_id: str) -> str:
    """The track's terminal key of an OsmAnd device: namespaced, so that a device id equal to some JT/T 808
    phone number can never make the (terminal, fix time) de-duplication drop another unit's fix."""
    return f"{OSMAND_PREFIX}{device_id}"


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
        name = _partition_name(day)
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


def _partition_name(day) -> str:
    return f"dispatch_track_{day:%Y%m%d}"


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
    days = {fix.fix_time.astimezone(UTC).date() for fix in accepted}
    ensure_partitions(days)
    try:
        _write(accepted, result)
    except (psycopg.errors.CheckViolation, IntegrityError) as exc:
        if "no partition" not in str(exc):
            raise
        # A partition this process remembered is gone (rolled back with the transaction that made it, or dropped):
        # forget it, make it again, write once more.
        _known_partitions.difference_update(_partition_name(day) for day in days)
        ensure_partitions(days)
        _write(accepted, result)
    return result


def _write(accepted: list[Fix], result: WriteResult) -> None:
    """COPY the batch into a staging table, insert what is new, move the units forward: one transaction."""
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


def ingest_fixes(fixes: list[Fix], publish: Callable[[WriteResult], None]) -> WriteResult:
    """The steps of every GPS path, in this order: store the batch, ``publish`` the result (the path's feed, and
    the JT/T 808 acks), then the AVL rules. The rules come last because the positions are committed already and
    a terminal's answer must not wait on geofences; their failure is logged, not raised: the next fix re-checks."""
    result = record_fixes(fixes)
    publish(result)
    health.count_fixes(result.inserted)  # after the acks: a slow Redis must not delay them
    try:
        apply_avl(result.moved, fixes)
    except Exception:
        log.exception("AVL checks failed for a batch of %d positions", len(fixes))
    stored = [fix for fix, reason in zip(fixes, result.refused, strict=True) if reason is None]
    if stored:  # other apps' rules (fences): each handler's failure is logged by the hook
        positions_stored.fire_on_commit(PositionsStored(tuple(_stored(fix) for fix in stored)))
    return result


def _stored(fix: Fix) -> StoredFix:
    return StoredFix(fix.vehicle_id, fix.fix_time, fix.longitude, fix.latitude, fix.speed_kmh, fix.positioned)


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
    record_audit(None, "device.jt808_registered", vehicle, f"{vehicle.call_sign} {vehicle.jt808_phone}")
    return code


def issue_osmand_token(actor: User | None, vehicle: Vehicle) -> str:
    """A new secret token (192 bits) for the unit's OsmAnd phone, to enter as its device id; shown once, kept only
    as a hash. Issuing again rotates it: the old token stops working at once."""
    token = secrets.token_urlsafe(24)
    unit = Vehicle.objects.filter(pk=vehicle.pk)
    rotated = unit.filter(osmand_token_sha256__isnull=False).exists()
    unit.update(osmand_token_sha256=hashlib.sha256(token.encode()).hexdigest())
    action = "device.osmand_token_rotated" if rotated else "device.osmand_token_issued"
    record_audit(actor, action, vehicle, vehicle.call_sign)
    return token


def revoke_osmand_token(actor: User | None, vehicle: Vehicle) -> None:
    Vehicle.objects.filter(pk=vehicle.pk).update(osmand_token_sha256=None)
    record_audit(actor, "device.osmand_token_revoked", vehicle, vehicle.call_sign)


def release_jt808_registration(actor: User | None, vehicle: Vehicle) -> None:
    """An administrator lets the unit's terminal register anew (replaced or reset): its old code stops working."""
    Vehicle.objects.filter(pk=vehicle.pk).update(jt808_auth_code="")
    record_audit(actor, "device.jt808_released", vehicle, f"{vehicle.call_sign} {vehicle.jt808_phone}")


class VehicleFeed:
    """Coalesces moved-vehicle Features: only the newest per vehicle is kept, and each vehicle is sent at most once
    per ``interval`` seconds in the long run, so a terminal reporting 10 Hz costs the consoles 1 Hz.

    The pace is kept on a schedule (each vehicle's next slot is one interval after its last slot, or after now if
    it fell behind), and a position may go up to half an interval before its slot. Counting from the last send
    instead held a 1 Hz terminal's fix whenever it came a little early, and each hold pushed the next send later:
    its positions drifted to up to a second old (a 500 ms median in the console soak).
    """

    def __init__(self, interval: float = FEED_INTERVAL_S) -> None:
        self.interval = interval
        self.early = interval / 2
        self._pending: dict[int, dict] = {}
        self._slot: dict[int, float] = {}  # each vehicle's next slot, monotonic seconds

    def add(self, features: list[dict]) -> None:
        for feature in features:
            self._pending[feature["id"]] = feature

    def _allowed_at(self, uid: int) -> float:
        return self._slot.get(uid, -math.inf) - self.early

    def next_due(self, now: float) -> float | None:
        """Seconds from monotonic ``now`` until a pending vehicle may be sent (None: nothing pending)."""
        if not self._pending:
            return None
        return max(0.0, min(self._allowed_at(uid) for uid in self._pending) - now)

    def take(self, now: float) -> list[dict]:
        """The pending Features whose vehicle may be sent again at monotonic time ``now``."""
        due = [uid for uid in self._pending if now >= self._allowed_at(uid)]
        for uid in due:
            self._slot[uid] = max(self._slot.get(uid, now), now) + self.interval
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
