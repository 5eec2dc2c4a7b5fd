"""Reads of inspector patrol: patrol effort per inspector (in SQL) and where each inspector is now (attendance), for
the REST API and the live feed's topic "inspectors" alike, under one row rule (visible_inspectors).

Patrol effort counts *segments* between consecutive fixes of one inspector: a segment counts when both fixes lie in
one of the inspector's shifts and they are at most ``attendance.SILENT_AFTER`` apart (a longer gap is a tablet
that was off — nobody knows where the inspector went). A segment is *in own grids* when both of its fixes lie in
unit grids the inspector is assigned to. Distances are great-circle (``ST_DistanceSphere``), metres.
"""

from __future__ import annotations

from datetime import datetime

from django.db import connection
from django.db.models import Q
from django.utils import timezone

from core.models import Domain, Role, User
from core.realtime import Viewer, bbox_intersects

from . import attendance
from .models import PatrolShift

EFFORT_SQL = """
WITH fixes AS (
  SELECT p.inspector_id AS u, p.at, p.geom, lag(p.at) OVER w AS prev_at, lag(p.geom) OVER w AS prev_geom
  FROM patrol_position p
  WHERE p.at >= %(start)s AND p.at < %(end)s
  WINDOW w AS (PARTITION BY p.inspector_id ORDER BY p.at)
), segments AS (
  SELECT f.u, extract(epoch FROM f.at - f.prev_at) AS seconds, ST_DistanceSphere(f.prev_geom, f.geom) AS metres,
         (EXISTS (SELECT 1 FROM grid_unitgrid_inspectors gi JOIN grid_unitgrid g ON g.id = gi.unitgrid_id
                  WHERE gi.user_id = f.u AND ST_Covers(g.geom, f.prev_geom))
          AND EXISTS (SELECT 1 FROM grid_unitgrid_inspectors gi JOIN grid_unitgrid g ON g.id = gi.unitgrid_id
                      WHERE gi.user_id = f.u AND ST_Covers(g.geom, f.geom))) AS in_grid
  FROM fixes f
  WHERE f.prev_at IS NOT NULL AND f.at - f.prev_at <= %(gap)s
    AND EXISTS (SELECT 1 FROM patrol_patrolshift s
                WHERE s.inspector_id = f.u AND s.start <= f.prev_at AND f.at <= s."end")
)
SELECT u, sum(seconds), coalesce(sum(seconds) FILTER (WHERE in_grid), 0),
       sum(metres), coalesce(sum(metres) FILTER (WHERE in_grid), 0)
FROM segments GROUP BY u
"""

REPORTED_SQL = """
SELECT reporter_id, count(*) FROM grid_case
WHERE channel = 'inspector' AND reporter_id IS NOT NULL AND reported_at >= %(start)s AND reported_at < %(end)s
GROUP BY reporter_id
"""


def _zero() -> dict:
    return {"on_duty_s": 0.0, "in_grid_s": 0.0, "distance_m": 0.0, "in_grid_distance_m": 0.0, "cases_reported": 0}


def patrol_effort(start: datetime, end: datetime) -> dict[int, dict]:
    """Per inspector (user id) for fixes in ``[start, end)``: seconds on duty and in own grids, metres patrolled
    and metres in own grids, and cases they reported. Every inspector is listed, idle ones with zeros."""
    params = {"start": start, "end": end, "gap": attendance.SILENT_AFTER}
    effort = {pk: _zero() for pk in inspectors().values_list("pk", flat=True)}
    with connection.cursor() as cursor:
        cursor.execute(EFFORT_SQL, params)
        for user_id, seconds, in_grid_s, metres, in_grid_m in cursor.fetchall():
            effort.setdefault(user_id, _zero()).update(
                on_duty_s=float(seconds), in_grid_s=float(in_grid_s), distance_m=metres, in_grid_distance_m=in_grid_m
            )
        cursor.execute(REPORTED_SQL, params)
        for user_id, count in cursor.fetchall():
            effort.setdefault(user_id, _zero())["cases_reported"] = count
    return effort


def inspectors():
    return User.objects.filter(groups__name=Role.INSPECTOR, is_active=True).distinct()


LAST_FIX_SQL = """
SELECT DISTINCT ON (p.inspector_id) p.inspector_id, p.at, ST_X(p.geom), ST_Y(p.geom),
       EXISTS (SELECT 1 FROM grid_unitgrid_inspectors gi JOIN grid_unitgrid g ON g.id = gi.unitgrid_id
               WHERE gi.user_id = p.inspector_id AND ST_Covers(g.geom, p.geom))
FROM patrol_position p
WHERE p.at <= %(now)s AND p.at > %(since)s AND p.inspector_id = ANY(%(ids)s)
ORDER BY p.inspector_id, p.at DESC
"""


GRID_CENTRES_SQL = """
SELECT ST_X(c), ST_Y(c) FROM (
  SELECT ST_PointOnSurface(g.geom) AS c FROM grid_unitgrid g
  JOIN grid_unitgrid_inspectors gi ON gi.unitgrid_id = g.id
  WHERE gi.user_id = %s ORDER BY g.code
) centres
"""


def own_grid_centres(inspector_id: int) -> list[tuple[float, float]]:
    """A point inside each of the inspector's unit grids (lon, lat), by grid code."""
    with connection.cursor() as cursor:
        cursor.execute(GRID_CENTRES_SQL, [inspector_id])
        return cursor.fetchall()


def visible_inspectors(viewer: Viewer) -> frozenset[int] | None:
    """The inspectors whose attendance and position a centre viewer may see, as the cases it sees: those of its
    organisations, and for a centre commanding an area those with unit grids in it (where they belong, wherever
    they stand now). None: every inspector."""
    orgs, area_id = viewer.orgs_in(Domain.GRID), viewer.area_in(Domain.GRID)
    if orgs is None and area_id is None:
        return None
    rows = inspectors()
    if area_id is not None:  # by the grids' own areas: a neighbour's grid may overlap the boundary by a sliver
        rows = rows.filter(
            Q(unit_grids__community_id=area_id)
            | Q(unit_grids__street_id=area_id)
            | Q(unit_grids__district_id=area_id)
            | Q(unit_grids__district__parent_id=area_id)
        )
    if orgs is not None:
        rows = rows.filter(organisation__in=orgs)
    return frozenset(rows.values_list("pk", flat=True))


def on_duty(
    now: datetime | None = None, *, viewer: Viewer | None = None, inspector_ids: list[int] | None = None
) -> list[dict]:
    """Every inspector in a shift at ``now`` that ``viewer`` may see (None: all): attendance state (with its Chinese
    label), organisation and last fix, if any; only ``inspector_ids``, when given."""
    now = now or timezone.now()
    shifts = PatrolShift.objects.filter(start__lte=now, end__gt=now)
    visible = visible_inspectors(viewer) if viewer is not None else None
    if visible is not None:
        shifts = shifts.filter(inspector__in=visible)
    if inspector_ids is not None:
        shifts = shifts.filter(inspector__in=inspector_ids)
    shifts = {s.inspector_id: s for s in shifts.select_related("inspector").order_by("start")}
    if not shifts:
        return []
    earliest = min(s.start for s in shifts.values())
    with connection.cursor() as cursor:
        cursor.execute(LAST_FIX_SQL, {"now": now, "since": earliest, "ids": list(shifts)})
        fixes = {row[0]: row[1:] for row in cursor.fetchall()}
    rows = []
    for user_id, shift in shifts.items():
        fix = fixes.get(user_id)
        last = attendance.LastFix(at=fix[0], in_own_grids=fix[3]) if fix else None
        state = attendance.state(now, (shift.start, shift.end), last)
        rows.append({
            "id": user_id, "name": shift.inspector.display_name, "state": state.value,
            "state_label": attendance.LABELS[state], "org_id": shift.inspector.organisation_id,
            "shift_start": shift.start, "shift_end": shift.end,
            "last_at": fix[0] if fix else None, "lon": fix[1] if fix else None, "lat": fix[2] if fix else None,
        })  # fmt: skip
    return sorted(rows, key=lambda row: row["name"])


def inspector_feature(row: dict) -> dict:
    """An on_duty row as the live feed's GeoJSON Feature (geometry null before the first fix of the shift)."""
    has_fix = row["lon"] is not None
    properties = {key: value for key, value in row.items() if key not in ("id", "lon", "lat")}
    for key in ("shift_start", "shift_end", "last_at"):
        properties[key] = properties[key].isoformat() if properties[key] else None
    return {
        "type": "Feature",
        "id": row["id"],
        "geometry": {"type": "Point", "coordinates": [row["lon"], row["lat"]]} if has_fix else None,
        "properties": properties,
    }


def off_duty_feature(inspector_id: int) -> dict:
    """The live feed's word that an inspector is no longer on shift (a console drops them)."""
    state = attendance.State.OFF
    properties = {"state": state.value, "state_label": attendance.LABELS[state]}
    return {"type": "Feature", "id": inspector_id, "geometry": None, "properties": properties}


def snapshot(viewer: Viewer, bbox) -> list[dict]:
    """Snapshot provider of topic "inspectors": the inspectors on shift the viewer may see, but for those whose last
    position lies outside the bbox (one who has not reported yet has no place, and is kept)."""
    features = [inspector_feature(row) for row in on_duty(viewer=viewer)]
    return [f for f in features if f["geometry"] is None or bbox_intersects(f["geometry"]["coordinates"] * 2, bbox)]


def inspector_event_filter(viewer: Viewer):
    """visible_inspectors as a test of a live feature, worked out once per subscription (None: every one)."""
    visible = visible_inspectors(viewer)
    return None if visible is None else (lambda feature: feature["id"] in visible)


# Patrol effort in the inspectors' evaluation (grid's KPI report, group_by=inspector): key → the column's name.
EFFORT_LABELS = {
    "patrol_hours": "在岗巡查时长（小时）",
    "in_grid_rate": "责任网格内时间占比",
    "patrol_km": "巡查里程（公里）",
}


def effort_values(effort: dict | None) -> dict:
    """One inspector's patrol effort (a row of :func:`patrol_effort`, or None) as the evaluation's columns."""
    effort = effort or _zero()
    on_duty = effort["on_duty_s"]
    return {
        "patrol_hours": on_duty / 3600,
        "in_grid_rate": effort["in_grid_s"] / on_duty if on_duty else None,
        "patrol_km": effort["distance_m"] / 1000,
    }
