"""Reads of inspector patrol: patrol effort per inspector (in SQL) and where each inspector is now (attendance).

Patrol effort counts *segments* between consecutive fixes of one inspector: a segment counts when both fixes lie in
one of the inspector's shifts and they are at most ``attendance.SILENT_AFTER`` apart (a longer gap is a tablet
that was off — nobody knows where the inspector went). A segment is *in own grids* when both of its fixes lie in
unit grids the inspector is assigned to. Distances are great-circle (``ST_DistanceSphere``), metres.
"""

from __future__ import annotations

from datetime import datetime

from django.db import connection
from django.utils import timezone

from core.models import Role, User

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
WHERE p.at <= %(now)s AND p.at > %(since)s
ORDER BY p.inspector_id, p.at DESC
"""


def on_duty(now: datetime | None = None) -> list[dict]:
    """Every inspector in a shift at ``now``: attendance state (with its Chinese label) and last fix, if any."""
    now = now or timezone.now()
    shifts = {
        s.inspector_id: s
        for s in PatrolShift.objects.filter(start__lte=now, end__gt=now).select_related("inspector").order_by("start")
    }
    if not shifts:
        return []
    earliest = min(s.start for s in shifts.values())
    with connection.cursor() as cursor:
        cursor.execute(LAST_FIX_SQL, {"now": now, "since": earliest})
        fixes = {row[0]: row[1:] for row in cursor.fetchall() if row[0] in shifts}
    rows = []
    for user_id, shift in shifts.items():
        fix = fixes.get(user_id)
        last = attendance.LastFix(at=fix[0], in_own_grids=fix[3]) if fix else None
        state = attendance.state(now, (shift.start, shift.end), last)
        rows.append({
            "id": user_id, "name": shift.inspector.display_name, "state": state.value,
            "state_label": attendance.LABELS[state], "shift_start": shift.start, "shift_end": shift.end,
            "last_at": fix[0] if fix else None, "lon": fix[1] if fix else None, "lat": fix[2] if fix else None,
        })  # fmt: skip
    return sorted(rows, key=lambda row: row["name"])


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
