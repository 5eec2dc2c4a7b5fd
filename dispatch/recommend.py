"""Which units to propose for an incident: the plan's open needs, and candidates ranked by road travel time.

Plain Python over ``eta.rank_units`` (one reverse search from the incident for all candidates); the top
``count`` routable units of each need are marked recommended, the rest stay listed so the dispatcher can
change the proposal.  Units without a road route (or every unit, when no road network is loaded) are
listed apart with the reason and their straight-line distance, and are never recommended.
"""

import math
from collections import Counter
from dataclasses import dataclass

from .eta import RoadGraph, rank_units

EARTH_RADIUS_M = 6_371_008.8
NO_ROAD_NETWORK = "no_road_network"


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


def recommend(
    graph: RoadGraph | None,
    incident: tuple[float, float],
    needs: list[Need],
    candidates: list[Candidate],
    *,
    off_network_m: float,
) -> dict:
    """Candidates of the needed kinds: ``units`` routable fastest first (``recommended`` on the top ``count``),
    ``unroutable`` apart with the reason, and the incident's own snap to the road network."""
    wanted = {(n.agency, n.unit_kind): n.count for n in needs}
    pool = [c for c in candidates if (c.agency, c.kind) in wanted]
    by_id = {c.vehicle_id: c for c in pool}
    if graph is None:
        unroutable = sorted(
            ({**_unit(c), **_apart(NO_ROAD_NETWORK, haversine_m(c.lon, c.lat, *incident), None, None)} for c in pool),
            key=lambda row: row["straight_m"],
        )
        return {"incident": {"snap_m": None, "off_network": None}, "units": [], "unroutable": unroutable}
    ranking = rank_units(graph, incident, [(c.vehicle_id, c.lon, c.lat) for c in pool], off_network_m=off_network_m)
    left = dict(wanted)
    rows = []
    for r in ranking.routable:
        unit = by_id[r.unit_id]
        key = (unit.agency, unit.kind)
        pick = left[key] > 0
        left[key] -= pick
        rows.append(
            {
                **_unit(unit),
                "eta_s": round(r.eta_seconds, 1),
                "distance_m": round(r.distance_m, 1),
                "snap_m": round(r.snap_m, 1),
                "off_network": r.off_network,
                "recommended": pick,
            }
        )
    unroutable = [
        {**_unit(by_id[r.unit_id]), **_apart(r.reason, r.straight_m, r.snap_m, r.off_network)}
        for r in ranking.unroutable
    ]
    return {
        "incident": {"snap_m": round(ranking.incident_snap_m, 1), "off_network": ranking.incident_off_network},
        "units": rows,
        "unroutable": unroutable,
    }


def _unit(unit: Candidate) -> dict:
    return {"vehicle_id": unit.vehicle_id, "call_sign": unit.call_sign, "kind": unit.kind, "agency": unit.agency}


def _apart(reason: str, straight_m: float, snap_m: float | None, off_network: bool | None) -> dict:
    return {
        "reason": reason,
        "straight_m": round(straight_m, 1),
        "snap_m": None if snap_m is None else round(snap_m, 1),
        "off_network": off_network,
    }


def haversine_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(a))
