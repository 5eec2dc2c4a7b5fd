"""AVL rules as plain functions: when a unit's position changes its assignment, and which alarms a fix raises.

The thresholds are here, with why; ``alarms.apply_avl`` runs them on every committed batch of positions.
"""

import os
from datetime import timedelta

GEOFENCE_M = 100.0  # within this of the incident a unit is on scene; of its station, back home
MOVING_KMH = 5.0  # GPS jitter of a parked vehicle stays below this; above it a dispatched unit has left
STOPPED_KMH = 1.0
STOP_LIMIT = timedelta(minutes=10)  # an en-route unit, tanker or cash van standing this long is an alarm
OFF_ROUTE_M = 200.0
SOS_ALARM_BIT = 0x1  # JT/T 808 alarm flag bit 0: the emergency button
FIXED_STATUS_BIT = 0x2  # JT/T 808 status bit 1: the coordinates are a satellite fix (off: the last known ones)
# A unit on duty silent this long is offline; a terminal reporting without a satellite fix this long has lost
# its signal (a tunnel or an underground garage takes a few minutes; longer is a fault or a covered antenna).
OFFLINE_AFTER = timedelta(minutes=float(os.environ.get("CITYOPS_OFFLINE_MINUTES", "10")))
LOST_SIGNAL_AFTER = timedelta(minutes=float(os.environ.get("CITYOPS_LOST_SIGNAL_MINUTES", "5")))
# An alarm nobody acknowledged within this escalates (again after as long, up to MAX_ESCALATION): an SOS is a
# crew in danger, a dangerous-goods tanker in a no-go zone a hazard; an offline unit can wait longer.
ESCALATE_AFTER = {
    "sos": timedelta(minutes=2),
    "restricted_zone": timedelta(minutes=5),
    "fence": timedelta(minutes=5),
    "offline": timedelta(minutes=30),
    "lost_signal": timedelta(minutes=30),
}
DEFAULT_ESCALATE_AFTER = timedelta(minutes=float(os.environ.get("CITYOPS_ALARM_ESCALATE_MINUTES", "10")))
MAX_ESCALATION = 3
# A transport platform reports an alarm (JT/T 809 0x1402) but never its end: closing it ends it, so the
# platform's next report of that type is a new alarm (until then repeats are the same one).
ENDED_BY_CLOSING = {"platform"}
# Speed limits by kind (km/h): Chinese limits for buses and tankers on urban expressways; emergency units
# may exceed posted limits but not this much.
SPEED_LIMIT_KMH = {"bus": 80.0, "coach": 100.0, "dangerous_goods": 80.0, "cash_van": 100.0}
EMERGENCY_SPEED_LIMIT_KMH = 130.0
WATCH_STOPS = {"dangerous_goods", "cash_van"}


def assignment_step(status: str, speed_kmh: float, to_incident_m: float, to_station_m: float | None) -> str | None:
    """The status an assignment moves to after this position, or None.

    Arrival wins over departure: a unit dispatched from next door may be on scene at its first fix.
    """
    if status in ("dispatched", "en_route") and to_incident_m <= GEOFENCE_M:
        return "on_scene"
    if status == "dispatched" and speed_kmh >= MOVING_KMH:
        return "en_route"
    if status == "returning" and to_station_m is not None and to_station_m <= GEOFENCE_M:
        return "cleared"
    return None


def escalate_after(kind: str) -> timedelta:
    return ESCALATE_AFTER.get(kind, DEFAULT_ESCALATE_AFTER)


def escalation_due(kind: str, raised_at, escalated_at, level: int, now) -> bool:
    """Whether an unacknowledged alarm escalates (again) now: its wait passed since it was raised or last escalated."""
    return level < MAX_ESCALATION and now - (escalated_at or raised_at) >= escalate_after(kind)


def speed_limit(kind: str) -> float:
    return SPEED_LIMIT_KMH.get(kind, EMERGENCY_SPEED_LIMIT_KMH)


def is_stopped_too_long(last_moving_at, first_fix_at, latest_fix_at) -> bool:
    """Standing still since ``last_moving_at`` (None: not moving in the look-back window, which starts at
    ``first_fix_at``) for at least STOP_LIMIT before the latest fix."""
    since = last_moving_at if last_moving_at is not None else first_fix_at
    return since is not None and latest_fix_at - since >= STOP_LIMIT
