"""Which units to propose for an incident: the plan's open needs, and candidates ranked by road travel time.

Plain Python over ``eta.rank_units`` (one reverse search from the incident for all candidates); the top
``count`` units of each need are marked recommended, the rest stay listed so the dispatcher can change the
proposal.
"""

import math
from collections import Counter
from dataclasses import dataclass

from .eta import DEFAULT_DETOUR_FACTOR, DEFAULT_FALLBACK_SPEED_KMH, NETWORK, RoadGraph, rank_units

EARTH_RADIUS_M = 6_371_008.8


@dataclass(frozen=True)
class Need:
    agency: str
    unit_kind: str
    count: int  # still to send
    planned: int


@dataclass(frozen=True)
class Candidate:
    vehicle_id: int
    call_sign: str
    kind: str
    agency: str
    lon: float
    lat: float


def open_needs(plan: list[tuple[str, str, int]], active: list[tuple[str, str]]) -> list[Need]:
    """Plan lines (agency, unit_kind, count) minus the units of that agency and kind already assigned."""
    sent = Counter(active)
    return [Need(agency, kind, max(0, count - sent[(agency, kind)]), count) for agency, kind, count in plan]


def recommend(graph: RoadGraph | None, incident: tuple[float, float], needs: list[Need], candidates: list[Candidate]):
    """Candidates of the needed kinds ranked fastest first, as dicts; ``recommended`` on the top ``count``."""
    wanted = {(n.agency, n.unit_kind): n.count for n in needs}
    pool = [c for c in candidates if (c.agency, c.kind) in wanted]
    by_id = {c.vehicle_id: c for c in pool}
    if graph is not None:
        ranked = rank_units(graph, incident, [(c.vehicle_id, c.lon, c.lat) for c in pool])
    else:
        ranked = sorted((_straight(c, incident) for c in pool), key=lambda row: row[1])
    left = dict(wanted)
    rows = []
    for vehicle_id, eta_s, distance_m, method in ranked:
        unit = by_id[vehicle_id]
        key = (unit.agency, unit.kind)
        pick = left[key] > 0
        left[key] -= pick
        rows.append(
            {
                "vehicle_id": unit.vehicle_id,
                "call_sign": unit.call_sign,
                "kind": unit.kind,
                "agency": unit.agency,
                "eta_s": round(eta_s, 1),
                "distance_m": round(distance_m, 1),
                "method": "road" if method == NETWORK else "straight",
                "recommended": pick,
            }
        )
    return rows


def _straight(unit: Candidate, incident: tuple[float, float]) -> tuple[int, float, float, str]:
    """No road graph at all: great-circle distance times the usual urban detour, at the fallback speed."""
    distance = haversine_m(unit.lon, unit.lat, *incident) * DEFAULT_DETOUR_FACTOR
    return unit.vehicle_id, distance / (DEFAULT_FALLBACK_SPEED_KMH / 3.6), distance, "straight"


def haversine_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(a))
