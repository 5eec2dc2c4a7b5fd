"""The daily roll-up: a closed local day's episodes computed once from the track table and stored (trips.models).

``refresh_rollups`` (the periodic task) rolls up every closed day of the track's retention window not rolled yet,
and rolls again a day that received fixes after its roll-up (a terminal's blind-area backlog arrives late).
"""

import logging
from datetime import date, timedelta

from django.db import connection, transaction
from django.utils import timezone

from dispatch.tracks import MAX_FIX_AGE

from .episodes import SESSION, episodes_sql, shared_params
from .models import Episode, RolledDay
from .selectors import day_start, local_day

log = logging.getLogger(__name__)

_INSERT = """
INSERT INTO trips_episode (vehicle_id, day, kind, started_at, ended_at, start_geom, end_geom, distance_m,
                           max_speed_kmh, limit_kmh, fixes)
SELECT vehicle_id, day, kind, started_at, ended_at, ST_SetSRID(ST_MakePoint(start_lon, start_lat), 4326),
       ST_SetSRID(ST_MakePoint(end_lon, end_lat), 4326), distance_m, max_speed_kmh, limit_kmh, fixes
FROM ({episodes}) AS e
"""
_LATE_FIXES = """
SELECT EXISTS (SELECT 1 FROM dispatch_track WHERE fix_time >= %s AND fix_time < %s AND received_at > %s)
"""


def roll_up_day(day: date) -> int:
    """Store the day's episodes of every vehicle (replacing any stored before), in one transaction; their count."""
    params = shared_params([])
    params["start_0"], params["end_0"] = day_start(day), day_start(day + timedelta(days=1))
    with transaction.atomic(), connection.cursor() as cursor:
        for setting in SESSION:
            cursor.execute(setting)
        cursor.execute("SELECT array_agg(id) FROM dispatch_vehicle")
        params["vehicles"] = cursor.fetchone()[0] or []
        rolled_at = timezone.now()  # before the read: a fix committed during it makes the day stale, not lost
        Episode.objects.filter(day=day).delete()
        cursor.execute(_INSERT.format(episodes=episodes_sql(0)), params)
        stored = cursor.rowcount
        RolledDay.objects.update_or_create(day=day, defaults={"rolled_at": rolled_at})
    return stored


def stale_days(today: date) -> list[date]:
    """Closed days of the retention window that are not rolled up, or got fixes after their roll-up."""
    first = today - timedelta(days=MAX_FIX_AGE.days + 1)
    rolled = dict(RolledDay.objects.filter(day__gte=first, day__lt=today).values_list("day", "rolled_at"))
    days = []
    for n in range((today - first).days):
        day = first + timedelta(days=n)
        if day not in rolled:
            days.append(day)
            continue
        with connection.cursor() as cursor:
            cursor.execute(_LATE_FIXES, [day_start(day), day_start(day + timedelta(days=1)), rolled[day]])
            if cursor.fetchone()[0]:
                days.append(day)
    return days


def refresh_rollups() -> list[date]:
    """Roll up what stale_days finds; the days rolled."""
    days = stale_days(local_day(timezone.now()))
    for day in days:
        stored = roll_up_day(day)
        log.info("track roll-up of %s: %d episodes", day, stored)
    return days
