"""The one SQL that cuts a vehicle's stored fixes into trips, stops, speeding episodes and the day's track.

Definitions (per vehicle and local day; a day's track is never joined to the next day's, and a range's edges cut
it too, so the roll-up of a day and the on-the-fly answer for that day are the same rows):

- a *segment* runs from one fix to the next; its length is measured on the WGS84 spheroid with the radii of
  curvature at its middle latitude (meridian M and prime vertical N: dx = N cos φ Δλ, dy = M Δφ), which for the
  tens to hundreds of metres between fixes agrees with the geodesic to well under a millimetre per kilometre and is
  plain arithmetic (PostGIS's geodesic ST_Distance on geography costs ~5 µs a segment: 10 s a day of a fleet);
  its time is the difference of the fix times; a segment longer than ``MAX_GAP`` in time is a *gap* (no fixes:
  ignition off, a tunnel, a dead terminal);
- a segment is *idle* when both of its fixes are below ``MOVING_KMH`` and it is no gap; a run of idle segments
  lasting at least ``MIN_STOP`` is *halted*, and so is every gap;
- a run of segments that are not halted but never move (idle throughout) is halted too: standing a minute before
  the terminal goes quiet is part of that stop, not a trip of zero length;
- each run of halted segments is a **stop** (start, end, duration, place); each run of the others is a **trip**
  (start and end time and place, distance, duration, maximum speed, average = distance / duration);
- a **speeding** episode is a run of fixes above the vehicle kind's limit (``dispatch.avl.speed_limit``), from the
  first such fix to the next fix back at or under the limit (to the last fix above it when a gap or the end
  follows); its maximum speed is the highest fix;
- the day's **track** row carries the mileage: the length of every segment of the day, gaps included (the vehicle
  did get from one fix to the next), the first and last fix, the number of fixes.
"""

from datetime import timedelta

from django.conf import settings

from dispatch.avl import EMERGENCY_SPEED_LIMIT_KMH, MOVING_KMH, SPEED_LIMIT_KMH

MIN_STOP = timedelta(minutes=5)  # standing still this long is a stop (Traccar's default minimal parking, 300 s)
MAX_GAP = timedelta(minutes=5)  # no fix for longer than this: the vehicle was parked with its terminal off

COLUMNS = (
    "vehicle_id", "day", "kind", "started_at", "ended_at", "start_lon", "start_lat", "end_lon", "end_lat",
    "distance_m", "max_speed_kmh", "limit_kmh", "fixes",
)  # fmt: skip

# {start} and {end} name the range's parameters (a report joins several ranges in one statement); every other
# value is a parameter too. The window w orders each vehicle-day's fixes; each CTE adds what needs the one before.
EPISODES_SQL = """
WITH fixes_{n} AS (
    SELECT t.vehicle_id, (t.fix_time AT TIME ZONE %(tz)s)::date AS day, t.fix_time,
           ST_X(t.geom) AS lon, ST_Y(t.geom) AS lat, t.speed_kmh,
           coalesce(l.limit_kmh, %(default_limit)s) AS limit_kmh
    FROM dispatch_track t
    JOIN dispatch_vehicle v ON v.id = t.vehicle_id
    LEFT JOIN unnest(%(limit_kinds)s::text[], %(limit_values)s::float8[]) AS l(kind, limit_kmh) ON l.kind = v.kind
    WHERE t.fix_time >= %({start})s AND t.fix_time < %({end})s AND t.vehicle_id = ANY(%(vehicles)s)
), measured_{n} AS (
    SELECT f.vehicle_id, f.day, f.fix_time, f.lon, f.lat, f.speed_kmh, f.limit_kmh,
           lead(f.fix_time) OVER w AS next_time, lead(f.lon) OVER w AS next_lon, lead(f.lat) OVER w AS next_lat,
           coalesce(lead(f.speed_kmh) OVER w, f.speed_kmh) AS next_speed
    FROM fixes_{n} f
    WINDOW w AS (PARTITION BY f.vehicle_id, f.day ORDER BY f.fix_time)
), flagged_{n} AS (
    SELECT m.*,
           coalesce(extract(epoch FROM m.next_time - m.fix_time), 0) AS dt,
           coalesce(sqrt(power(%(a)s / sqrt(1 - %(e2)s * power(sin(radians((m.lat + m.next_lat) / 2)), 2))
                               * cos(radians((m.lat + m.next_lat) / 2)) * radians(m.next_lon - m.lon), 2)
                         + power(%(a)s * (1 - %(e2)s)
                                 / power(1 - %(e2)s * power(sin(radians((m.lat + m.next_lat) / 2)), 2), 1.5)
                                 * radians(m.next_lat - m.lat), 2)), 0) AS dist,
           coalesce(m.next_time - m.fix_time > %(max_gap)s, false) AS gap,
           m.speed_kmh < %(moving)s AND m.next_speed < %(moving)s AS still,
           m.speed_kmh > m.limit_kmh AS over
    FROM measured_{n} m
), edges_{n} AS (
    SELECT f.*, (f.still AND NOT f.gap) AS idle,
           lag(f.still AND NOT f.gap, 1, false) OVER w AS prev_idle,
           lag(f.over, 1, false) OVER w AS prev_over, lag(f.gap, 1, false) OVER w AS prev_gap
    FROM flagged_{n} f
    WINDOW w AS (PARTITION BY f.vehicle_id, f.day ORDER BY f.fix_time)
), runs_{n} AS (
    SELECT e.*, sum((e.idle AND NOT e.prev_idle)::int) OVER w AS idle_run,
           sum((e.over AND (NOT e.prev_over OR e.prev_gap))::int) OVER w AS over_run
    FROM edges_{n} e
    WINDOW w AS (PARTITION BY e.vehicle_id, e.day ORDER BY e.fix_time)
), halts_{n} AS (
    SELECT r.*,
           r.gap OR (r.idle AND sum(r.dt) OVER (PARTITION BY r.vehicle_id, r.day, r.idle, r.idle_run)
                                >= %(min_stop_s)s) AS halted
    FROM runs_{n} r
), halt_edges_{n} AS (
    SELECT h.*, h.halted IS DISTINCT FROM lag(h.halted) OVER w AS turns
    FROM halts_{n} h
    WINDOW w AS (PARTITION BY h.vehicle_id, h.day ORDER BY h.fix_time)
), phases_{n} AS (
    SELECT h.*, sum(h.turns::int) OVER w AS phase
    FROM halt_edges_{n} h
    WINDOW w AS (PARTITION BY h.vehicle_id, h.day ORDER BY h.fix_time)
), settled_{n} AS (
    SELECT p.*, p.halted OR NOT bool_or(NOT p.still) OVER (PARTITION BY p.vehicle_id, p.day, p.phase) AS halt
    FROM phases_{n} p
), settled_edges_{n} AS (
    SELECT s.*, s.halt IS DISTINCT FROM lag(s.halt) OVER w AS halt_turns
    FROM settled_{n} s
    WINDOW w AS (PARTITION BY s.vehicle_id, s.day ORDER BY s.fix_time)
), parts_{n} AS (
    SELECT s.*, sum(s.halt_turns::int) OVER w AS part
    FROM settled_edges_{n} s
    WINDOW w AS (PARTITION BY s.vehicle_id, s.day ORDER BY s.fix_time)
), episodes_{n} AS (
    SELECT vehicle_id, day, CASE WHEN halt THEN 'stop' ELSE 'trip' END AS kind,
           min(fix_time) AS started_at, max(coalesce(next_time, fix_time)) AS ended_at,
           min(ARRAY[extract(epoch FROM fix_time), lon, lat]) AS first_fix,
           max(ARRAY[extract(epoch FROM coalesce(next_time, fix_time)), coalesce(next_lon, lon),
                     coalesce(next_lat, lat)]) AS last_fix,
           CASE WHEN halt THEN 0 ELSE sum(dist) END AS distance_m,
           max(greatest(speed_kmh, next_speed)) AS max_speed_kmh, NULL::float8 AS limit_kmh, count(*) AS fixes
    FROM parts_{n} GROUP BY vehicle_id, day, part, halt
    UNION ALL
    SELECT vehicle_id, day, 'speeding', min(fix_time),
           max(CASE WHEN gap OR next_time IS NULL THEN fix_time ELSE next_time END),
           min(ARRAY[extract(epoch FROM fix_time), lon, lat]),
           max(CASE WHEN gap OR next_time IS NULL THEN ARRAY[extract(epoch FROM fix_time), lon, lat]
                    ELSE ARRAY[extract(epoch FROM next_time), next_lon, next_lat] END),
           sum(CASE WHEN gap OR next_time IS NULL THEN 0 ELSE dist END), max(speed_kmh), max(limit_kmh), count(*)
    FROM runs_{n} WHERE over GROUP BY vehicle_id, day, over_run
    UNION ALL
    SELECT vehicle_id, day, 'track', min(fix_time), max(fix_time),
           min(ARRAY[extract(epoch FROM fix_time), lon, lat]), max(ARRAY[extract(epoch FROM fix_time), lon, lat]),
           sum(dist), max(speed_kmh), NULL, count(*)
    FROM flagged_{n} GROUP BY vehicle_id, day
)
SELECT vehicle_id, day, kind, started_at, ended_at, first_fix[2] AS start_lon, first_fix[3] AS start_lat,
       last_fix[2] AS end_lon, last_fix[3] AS end_lat, distance_m, max_speed_kmh, limit_kmh, fixes
FROM episodes_{n}
"""


def episodes_sql(n: int = 0) -> str:
    """EPISODES_SQL for the n-th range of a statement: its CTE names and range parameters suffixed with n."""
    return EPISODES_SQL.replace("{n}", str(n)).replace("{start}", f"start_{n}").replace("{end}", f"end_{n}")


WGS84_A = 6378137.0  # semi-major axis (m)
WGS84_E2 = 0.00669437999014  # first eccentricity squared
# The statements are long chains of window passes: the planner's JIT compiles them for seconds and gains nothing,
# and their sorts want more than the default work_mem.
SESSION = ("SET LOCAL jit = off", "SET LOCAL work_mem = '128MB'")


def shared_params(vehicle_ids: list[int]) -> dict:
    """The parameters every range shares: the vehicles, the local time zone of the days, the thresholds."""
    return {
        "a": WGS84_A,
        "e2": WGS84_E2,
        "vehicles": list(vehicle_ids),
        "tz": settings.TIME_ZONE,
        "moving": MOVING_KMH,
        "min_stop_s": MIN_STOP.total_seconds(),
        "max_gap": MAX_GAP,
        "default_limit": EMERGENCY_SPEED_LIMIT_KMH,
        "limit_kinds": list(SPEED_LIMIT_KMH),
        "limit_values": list(SPEED_LIMIT_KMH.values()),
    }
