"""Reads of the replay and the fleet reports: which vehicles a report covers (dispatch's row rule), the episodes of
a range (stored roll-up rows for the rolled days, the same SQL on the raw track for the rest), the reports built
from them, and the replay's fixes, alarms and stops."""

from collections import defaultdict
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction

from core.realtime import Viewer
from dispatch.features import iso
from dispatch.models import Alarm, Vehicle, VehicleGroup
from dispatch.selectors import visible_units
from fences.selectors import visible_fences

from .episodes import COLUMNS, SESSION, episodes_sql, shared_params
from .models import RolledDay

MAX_VEHICLES = 5000  # a report's vehicles; the largest fleet of one city
MAX_REPLAY_VEHICLES = 10
MAX_REPLAY_POINTS = 50_000  # per vehicle
MAX_ROWS = 5000  # episode rows in a JSON answer (the summary and the daily series always cover every row)
MAX_EXPORT_ROWS = 200_000  # rows of a CSV/XLSX file


def local_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=local_zone())


def local_day(moment: datetime) -> date:
    return moment.astimezone(local_zone()).date()


# -- which vehicles ---------------------------------------------------------------------------------------


def report_vehicles(viewer: Viewer, *, vehicle_ids=None, group: VehicleGroup | None = None, agency=None) -> list:
    """The visible vehicles a report covers, as (id, call_sign, plate, kind, agency code) in call-sign order: the
    given ids, a group's members or an agency's units; none of these: every vehicle the viewer may see."""
    units = visible_units(viewer)
    if vehicle_ids is not None:
        units = units.filter(pk__in=vehicle_ids)
    if group is not None:
        units = units.filter(groups=group)
    if agency is not None:
        units = units.filter(agency__agency=agency)
    return list(units.order_by("call_sign").values_list("id", "call_sign", "plate", "kind", "agency__agency"))


def replay_vehicles(viewer: Viewer, vehicle_ids: list[int]) -> list[Vehicle]:
    """The visible ones of these vehicles, with their agency, in call-sign order (a replay's vehicles)."""
    return list(visible_units(viewer).filter(pk__in=vehicle_ids).select_related("agency").order_by("call_sign"))


def visible_groups(viewer: Viewer):
    """Vehicle groups whose keeping organisation the viewer's dispatch rows include (a command centre: all)."""
    orgs = viewer.orgs_in("dispatch")
    groups = VehicleGroup.objects.all()
    return groups if orgs is None else groups.filter(organisation_id__in=sorted(orgs))


def search_vehicles(viewer: Viewer, text: str, limit: int = 20) -> list[dict]:
    """Visible vehicles whose call sign or plate contains `text` (the replay's vehicle picker)."""
    from django.db.models import Q

    units = visible_units(viewer).select_related("agency")
    if text:
        units = units.filter(Q(call_sign__icontains=text) | Q(plate__icontains=text))
    return [
        {"id": u.pk, "call_sign": u.call_sign, "plate": u.plate, "kind": u.kind, "agency": u.agency.agency}
        for u in units.order_by("call_sign")[:limit]
    ]


# -- episodes ---------------------------------------------------------------------------------------------


def rolled_days(start: datetime, end: datetime) -> set[date]:
    """The local days wholly inside [start, end) whose episodes are stored."""
    first = local_day(start) + (timedelta(0) if day_start(local_day(start)) == start else timedelta(days=1))
    last = local_day(end) - timedelta(days=1)  # the last day that may end at or before `end`
    if first > last:
        return set()
    return set(RolledDay.objects.filter(day__gte=first, day__lte=last).values_list("day", flat=True))


def raw_ranges(start: datetime, end: datetime, rolled: set[date]) -> list[tuple[datetime, datetime]]:
    """[start, end) without the rolled days: the ranges left to compute from the track, adjacent ones joined."""
    ranges: list[tuple[datetime, datetime]] = []
    for day in sorted(rolled):
        a, b = day_start(day), day_start(day + timedelta(days=1))
        if a > start:
            ranges.append((start, a))
        start = max(start, b)
    if start < end:
        ranges.append((start, end))
    return ranges


_STORED = """
SELECT vehicle_id, day, kind, started_at, ended_at, ST_X(start_geom), ST_Y(start_geom), ST_X(end_geom),
       ST_Y(end_geom), distance_m, max_speed_kmh, limit_kmh, fixes
FROM trips_episode WHERE day = ANY(%(days)s) AND vehicle_id = ANY(%(vehicles)s)
"""


def episodes_query(vehicle_ids: list[int], start: datetime, end: datetime) -> tuple[str, dict]:
    """One statement answering every episode of these vehicles in [start, end), and its parameters."""
    rolled = rolled_days(start, end)
    params = shared_params(vehicle_ids)
    parts = []
    if rolled:
        parts.append(_STORED)
        params["days"] = sorted(rolled)
    for n, (a, b) in enumerate(raw_ranges(start, end, rolled)):
        parts.append(f"SELECT * FROM ({episodes_sql(n)}) AS raw_{n}")  # noqa: S608 - fixed text
        params[f"start_{n}"], params[f"end_{n}"] = a, b
    return "\nUNION ALL\n".join(parts), params


_ORDERED = """
SELECT * FROM ({episodes}) AS e WHERE %(kinds)s::text[] IS NULL OR kind = ANY(%(kinds)s)
ORDER BY vehicle_id, started_at, kind
"""


def episodes(vehicle_ids: list[int], start: datetime, end: datetime, kinds=None) -> list[dict]:
    """The episodes as dicts (COLUMNS), in vehicle and time order; only `kinds` if given."""
    sql, params = episodes_query(vehicle_ids, start, end)
    params["kinds"] = list(kinds) if kinds is not None else None
    with transaction.atomic(), connection.cursor() as cursor:
        for setting in SESSION:
            cursor.execute(setting)
        cursor.execute(_ORDERED.format(episodes=sql), params)
        return [dict(zip(COLUMNS, row, strict=True)) for row in cursor.fetchall()]


# -- reports ----------------------------------------------------------------------------------------------

REPORT_KINDS = ("trips", "stops", "mileage", "speeding", "fences")
_EPISODE_KIND = {"trips": "trip", "stops": "stop", "mileage": "track", "speeding": "speeding"}

# Per vehicle and per day, in SQL over the episodes: a month of 2,000 vehicles is ~600,000 trips.
_SUMMARY = """
WITH e AS ({episodes}), k AS (SELECT * FROM e WHERE kind = %(kind)s)
SELECT 'vehicle' AS level, vehicle_id::text AS key, count(*), sum(distance_m),
       sum(extract(epoch FROM ended_at - started_at)), max(max_speed_kmh), sum(fixes)
FROM k GROUP BY vehicle_id
UNION ALL
SELECT 'day', day::text, count(*), sum(distance_m), sum(extract(epoch FROM ended_at - started_at)),
       max(max_speed_kmh), sum(fixes)
FROM k GROUP BY day
"""
_ROWS = "SELECT * FROM ({episodes}) AS e WHERE kind = %(kind)s ORDER BY vehicle_id, started_at LIMIT %(limit)s"


def report(
    kind: str, viewer: Viewer, vehicles: list, start: datetime, end: datetime, *, row_limit: int = MAX_ROWS
) -> dict:
    """A report of `kind` over `vehicles` (report_vehicles' tuples): its rows (up to `row_limit`, `truncated`
    says when there were more), a summary per vehicle and a series per day (the chart). Time in fence counts
    only the fences the viewer may see."""
    if kind == "fences":
        return fence_report(vehicles, list(fence_ids_visible_to(viewer)), start, end)
    names = {v[0]: v for v in vehicles}
    sql, params = episodes_query(list(names), start, end)
    params.update(kind=_EPISODE_KIND[kind], limit=row_limit + 1)
    with transaction.atomic(), connection.cursor() as cursor:
        for setting in SESSION:
            cursor.execute(setting)
        cursor.execute(_SUMMARY.format(episodes=sql), params)
        totals = cursor.fetchall()
        cursor.execute(_ROWS.format(episodes=sql), params)
        rows = [dict(zip(COLUMNS, row, strict=True)) for row in cursor.fetchall()]
    summary = [_summary_row(names[int(key)], *figures) for level, key, *figures in totals if level == "vehicle"]
    daily = sorted(
        ({"day": key, **_figures(*figures)} for level, key, *figures in totals if level == "day"),
        key=lambda d: d["day"],
    )
    return {
        "kind": kind,
        "from": iso(start),
        "to": iso(end),
        "vehicles": len(vehicles),
        "summary": sorted(summary, key=lambda s: s["call_sign"]),
        "daily": daily,
        "rows": [_row(names[r["vehicle_id"]], r) for r in rows[:row_limit]],
        "truncated": len(rows) > row_limit,
    }


def _figures(count, distance, seconds, max_speed, fixes) -> dict:
    return {
        "count": count,
        "distance_km": round((distance or 0) / 1000, 3),
        "duration_s": round(seconds or 0),
        "max_speed_kmh": round(max_speed or 0, 1),
        "fixes": fixes,
    }


def _summary_row(vehicle, *figures) -> dict:
    return {**_vehicle(vehicle), **_figures(*figures)}


def _vehicle(vehicle) -> dict:
    pk, call_sign, plate, kind, agency = vehicle
    return {"vehicle_id": pk, "call_sign": call_sign, "plate": plate, "vehicle_kind": kind, "agency": agency}


def _row(vehicle, r: dict) -> dict:
    seconds = (r["ended_at"] - r["started_at"]).total_seconds()
    row = {
        **_vehicle(vehicle),
        "day": r["day"].isoformat(),
        "start": iso(r["started_at"]),
        "end": iso(r["ended_at"]),
        "duration_s": round(seconds),
        "start_lon": round(r["start_lon"], 6),
        "start_lat": round(r["start_lat"], 6),
        "end_lon": round(r["end_lon"], 6),
        "end_lat": round(r["end_lat"], 6),
        "distance_km": round(r["distance_m"] / 1000, 3),
        "max_speed_kmh": round(r["max_speed_kmh"], 1),
        "fixes": r["fixes"],
    }
    if r["kind"] == "trip":
        row["avg_speed_kmh"] = round(r["distance_m"] / seconds * 3.6, 1) if seconds else 0.0
    if r["kind"] == "speeding":
        row["limit_kmh"] = r["limit_kmh"]
    return row


# -- time in fence ----------------------------------------------------------------------------------------


def fence_ids_visible_to(viewer: Viewer):
    return visible_fences(viewer).values_list("pk", flat=True)


# Each segment (fix to next fix, no gap, same local day) counts its time to the fence its first fix lies in.
_FENCE_SQL = """
WITH fixes AS (
    SELECT t.vehicle_id, (t.fix_time AT TIME ZONE %(tz)s)::date AS day, t.fix_time, t.geom,
           lead(t.fix_time) OVER w AS next_time
    FROM dispatch_track t
    WHERE t.fix_time >= %(start)s AND t.fix_time < %(end)s AND t.vehicle_id = ANY(%(vehicles)s)
    WINDOW w AS (PARTITION BY t.vehicle_id, (t.fix_time AT TIME ZONE %(tz)s)::date ORDER BY t.fix_time)
)
SELECT f.vehicle_id, z.id, z.name, count(*),
       sum(CASE WHEN f.next_time - f.fix_time <= %(max_gap)s THEN extract(epoch FROM f.next_time - f.fix_time)
                ELSE 0 END),
       min(f.fix_time), max(coalesce(f.next_time, f.fix_time))
FROM fixes f JOIN fences_fence z ON ST_Intersects(z.geom, f.geom) AND z.id = ANY(%(fences)s)
GROUP BY f.vehicle_id, z.id, z.name
ORDER BY f.vehicle_id, z.name
"""


def fence_report(vehicles: list, fence_ids: list[int], start: datetime, end: datetime) -> dict:
    """Total time inside each of these fences per vehicle, from the raw track (fences change; no roll-up)."""
    names = {v[0]: v for v in vehicles}
    params = {**shared_params(list(names)), "fences": fence_ids, "start": start, "end": end}
    with connection.cursor() as cursor:
        cursor.execute(_FENCE_SQL, params)
        found = cursor.fetchall()
    rows = [
        {
            **_vehicle(names[vehicle_id]),
            "fence_id": fence_id,
            "fence": fence_name,
            "fixes": fixes,
            "duration_s": round(seconds or 0),
            "first": iso(first),
            "last": iso(last),
        }
        for vehicle_id, fence_id, fence_name, fixes, seconds, first, last in found
    ]
    per_fence: dict[str, dict] = defaultdict(lambda: {"count": 0, "duration_s": 0})
    for row in rows:
        per_fence[row["fence"]]["count"] += 1
        per_fence[row["fence"]]["duration_s"] += row["duration_s"]
    return {
        "kind": "fences",
        "from": iso(start),
        "to": iso(end),
        "vehicles": len(vehicles),
        "summary": [{"fence": name, **figures} for name, figures in sorted(per_fence.items())],
        "daily": [],
        "rows": rows[:MAX_ROWS],
        "truncated": len(rows) > MAX_ROWS,
    }


# -- replay -----------------------------------------------------------------------------------------------

_REPLAY_SQL = """
SELECT DISTINCT ON (t.vehicle_id, floor(extract(epoch FROM t.fix_time) / %(step)s))
       t.vehicle_id, extract(epoch FROM t.fix_time) * 1000, ST_X(t.geom), ST_Y(t.geom), t.speed_kmh, t.heading
FROM dispatch_track t
WHERE t.fix_time >= %(start)s AND t.fix_time <= %(end)s AND t.vehicle_id = ANY(%(vehicles)s)
ORDER BY t.vehicle_id, floor(extract(epoch FROM t.fix_time) / %(step)s), t.fix_time
"""


def replay(vehicles: list[Vehicle], start: datetime, end: datetime, step_s: int) -> dict:
    """The replay of `vehicles` (visible, checked by the caller) in [start, end]: per vehicle its fixes as
    [epoch ms, lon, lat, speed km/h, heading] in time order (with `step_s` > 0 the first fix of each step: a
    lighter line for long ranges), the alarms raised in the range and the stops."""
    ids = [v.pk for v in vehicles]
    points: dict[int, list] = defaultdict(list)
    with connection.cursor() as cursor:
        cursor.execute(_REPLAY_SQL, {"start": start, "end": end, "vehicles": ids, "step": max(step_s, 0.001)})
        for vehicle_id, ms, lon, lat, speed, heading in cursor.fetchall():
            points[vehicle_id].append([int(ms), round(lon, 7), round(lat, 7), round(speed, 1), heading])
    alarms = Alarm.objects.filter(vehicle_id__in=ids, at__gte=start, at__lte=end).order_by("at")
    stops = episodes(ids, start, end, kinds=["stop"])
    return {
        "from": iso(start),
        "to": iso(end),
        "vehicles": [
            {
                "id": v.pk,
                "call_sign": v.call_sign,
                "plate": v.plate,
                "kind": v.kind,
                "agency": v.agency.agency,
                "points": points[v.pk][:MAX_REPLAY_POINTS],
                "truncated": len(points[v.pk]) > MAX_REPLAY_POINTS,
            }
            for v in vehicles
        ],
        "alarms": [
            {
                "id": a.pk,
                "vehicle_id": a.vehicle_id,
                "kind": a.kind,
                "kind_label": str(Alarm.Kind(a.kind).label),
                "message": a.message,
                "at": iso(a.at),
                "lon": a.geom.x,
                "lat": a.geom.y,
            }
            for a in alarms[:1000]
        ],
        "stops": [
            {
                "vehicle_id": s["vehicle_id"],
                "start": iso(s["started_at"]),
                "end": iso(s["ended_at"]),
                "duration_s": round((s["ended_at"] - s["started_at"]).total_seconds()),
                "lon": s["start_lon"],
                "lat": s["start_lat"],
            }
            for s in stops
        ],
    }
