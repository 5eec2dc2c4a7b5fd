"""State changes of dispatch: GPS fixes into the day-partitioned track table and the units' last positions.

Both GPS paths (the JT/T 808 ingest process and the OsmAnd HTTP view) end in ``record_fixes``: one
transaction that COPYs the batch into a staging table, inserts it into the track with ``ON CONFLICT DO
NOTHING`` (a resent fix is stored once) and moves each unit's last position forward only. Vehicle
positions are not events (too many, never replayed): they go to consoles on the channel-layer group
``ops.vehicles``, coalesced by ``VehicleFeed``.
"""

import logging
import math
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import IntegrityError, ProgrammingError, connection, transaction
from django.utils import timezone

from core.realtime import VEHICLE_GROUP

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
    last_fix_at = s.fix_time, last_speed_kmh = s.speed_kmh, last_heading = s.heading
FROM (
    SELECT DISTINCT ON (vehicle_id) vehicle_id, lon, lat, fix_time, speed_kmh, heading
    FROM dispatch_track_stage ORDER BY vehicle_id, fix_time DESC
) s, core_organisation o
WHERE v.id = s.vehicle_id AND o.id = v.agency_id AND (v.last_fix_at IS NULL OR v.last_fix_at < s.fix_time)
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


def issue_jt808_auth_code(vehicle: Vehicle) -> str:
    """The code a registered terminal authenticates with; kept once issued, so a terminal re-registering
    after a reset, or on another ingest replica, gets the same one."""
    if not vehicle.jt808_auth_code:
        Vehicle.objects.filter(pk=vehicle.pk, jt808_auth_code="").update(jt808_auth_code=secrets.token_hex(8))
        vehicle.refresh_from_db(fields=["jt808_auth_code"])
    return vehicle.jt808_auth_code


def vehicle_feature(unit_id, call_sign, kind, status, agency_id, agency, lon, lat, speed, heading, fix_time) -> dict:
    return {
        "type": "Feature",
        "id": unit_id,
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "properties": {
            "call_sign": call_sign,
            "kind": kind,
            "agency": agency,
            "agency_id": agency_id,
            "status": status,
            "speed_kmh": speed,
            "heading": heading,
            "fix_time": fix_time.isoformat() if fix_time else None,
        },
    }


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

    def take(self, now: float) -> list[dict]:
        """The pending Features whose vehicle may be sent again at monotonic time ``now``."""
        due = [uid for uid in self._pending if now - self._sent_at.get(uid, -math.inf) >= self.interval]
        for uid in due:
            self._sent_at[uid] = now
        return [self._pending.pop(uid) for uid in due]


def vehicles_message(features: list[dict]) -> dict:
    return {"type": "ops.vehicles", "features": features}


def publish_vehicles_now(feed: VehicleFeed, features: list[dict]) -> None:
    """For synchronous writers (the OsmAnd view): send what the feed allows; the rest waits for the next fix."""
    feed.add(features)
    due = feed.take(time.monotonic())
    if not due:
        return
    try:
        async_to_sync(get_channel_layer().group_send)(VEHICLE_GROUP, vehicles_message(due))
    except Exception:  # positions are committed; the console's next update or snapshot carries them
        log.exception("vehicle fan-out failed")
