"""Read queries of resources: who sees which rows, the GeoJSON shapes, and the search from an incident.

Row rule (one for every read path: REST, search, OGC API, tiles, export, the live feed). A command centre — the
city's, a district government's, anyone whose organisation commands dispatch — sees every team, depot and shelter in
its area (the city's: all); an agency desk sees its own organisation's; hazard sources are reference data every
reader sees within its area. Experts follow the organisation rule; only a command centre reads their phones.
"""

from dataclasses import dataclass

import numpy as np
import shapely
from django.conf import settings
from django.contrib.gis.geos import Polygon
from django.db.models import F, Prefetch, Q
from django.utils.translation import get_language

from core.errors import InputError
from core.geo import point_feature
from core.models import Domain, Role
from core.realtime import Viewer
from core.selectors import in_commanded_area, metric_srid
from dispatch import selectors as dispatch_selectors
from dispatch.eta import rank_units
from gis.coords import from_wgs84

from .models import (
    Allocation,
    Depot,
    Expert,
    HazardSource,
    RescueTeam,
    Shelter,
    Specialty,
    StockItem,
    SupplyItem,
    SupplyRequest,
)

READ_ROLES = (Role.OPERATOR, Role.CALL_TAKER, Role.LEADER, Role.ADMIN)  # who reads resources (API, page, layers)
SYSTEM = Viewer(0, frozenset(), None)  # the services' own reads (events): every row


def held_visibility(viewer: Viewer) -> Q:
    """Teams, depots and shelters: a command centre's area, else the viewer's own organisations."""
    rule = in_commanded_area(viewer, Domain.DISPATCH)
    orgs = viewer.orgs_in(Domain.DISPATCH)
    return rule if orgs is None else rule & Q(organisation_id__in=sorted(orgs))


def hazard_visibility(viewer: Viewer) -> Q:
    """Hazard sources: every one in the viewer's commanded area (reference data for every desk)."""
    return in_commanded_area(viewer, Domain.DISPATCH)


def expert_visibility(viewer: Viewer) -> Q:
    orgs = viewer.orgs_in(Domain.DISPATCH)
    return Q() if orgs is None else Q(organisation_id__in=sorted(orgs))


def reads_personal_data(viewer: Viewer) -> bool:
    """Experts' phones: for command-centre staff only (those who command dispatch)."""
    return viewer.orgs_in(Domain.DISPATCH) is None


def teams(viewer: Viewer):
    return RescueTeam.objects.filter(held_visibility(viewer)).select_related("organisation", "district")


def depots(viewer: Viewer):
    return (
        Depot.objects.filter(held_visibility(viewer))
        .select_related("organisation", "district")
        .prefetch_related("stock__item")
    )


def shelters(viewer: Viewer):
    return Shelter.objects.filter(held_visibility(viewer)).select_related("organisation", "district")


def hazards(viewer: Viewer):
    return HazardSource.objects.filter(hazard_visibility(viewer)).select_related("district")


def experts(viewer: Viewer):
    return Expert.objects.filter(expert_visibility(viewer)).select_related("organisation")


# -- shapes ----------------------------------------------------------------------------------------------------


def _label(row) -> str:
    return row.name if (get_language() or "zh").startswith("zh") else row.name_en


def specialty_labels(kind: str) -> dict[str, str]:
    return {s.code: _label(s) for s in Specialty.objects.filter(kind=kind)}


def _feature(layer: str, row, properties: dict) -> dict:
    return point_feature(row.pk, row.geom, {"layer": layer, "id": row.pk, "name": row.name, **properties})


def _held(row) -> dict:
    return {
        "organisation": row.organisation.name,
        "organisation_code": row.organisation.code,
        "address": row.address,
        "district_code": row.district.code if row.district_id else None,
        "district": row.district.name if row.district_id else None,
    }


def team_feature(team: RescueTeam, skill_labels: dict | None = None) -> dict:
    labels = skill_labels if skill_labels is not None else specialty_labels(Specialty.Kind.SKILL)
    return _feature(
        "teams",
        team,
        {
            **_held(team),
            "skills": team.skills,
            "skill_labels": [labels.get(code, code) for code in team.skills],
            "headcount": team.headcount,
            "on_duty": team.on_duty,
            "phone": team.phone,
        },
    )


def stock_rows(depot: Depot) -> list[dict]:
    return [
        {
            "item": s.item.code,
            "label": _label(s.item),
            "unit": s.item.unit,
            "on_hand": s.on_hand,
            "allocated": s.allocated,
            "available": s.available,
        }
        for s in depot.stock.all()
    ]


def depot_feature(depot: Depot) -> dict:
    return _feature("depots", depot, {**_held(depot), "stock": stock_rows(depot)})


def shelter_feature(shelter: Shelter) -> dict:
    return _feature(
        "shelters",
        shelter,
        {
            **_held(shelter),
            "capacity": shelter.capacity,
            "occupancy": shelter.occupancy,
            "free": shelter.capacity - shelter.occupancy,
            "status": shelter.status,
            "status_label": str(Shelter.Status(shelter.status).label),
        },
    )


def hazard_feature(hazard: HazardSource) -> dict:
    return _feature(
        "hazards",
        hazard,
        {
            "kind": hazard.kind,
            "kind_label": str(HazardSource.Kind(hazard.kind).label),
            "operator": hazard.operator,
            "substances": hazard.substances,
            "radius_m": hazard.radius_m,
            "grade": hazard.grade,
            "grade_label": str(HazardSource.Grade(hazard.grade).label),
            "address": hazard.address,
            "district_code": hazard.district.code if hazard.district_id else None,
            "district": hazard.district.name if hazard.district_id else None,
        },
    )


def expert_row(expert: Expert, field_labels: dict, with_phone: bool) -> dict:
    return {
        "id": expert.pk,
        "name": expert.name,
        "fields": expert.fields,
        "field_labels": [field_labels.get(code, code) for code in expert.fields],
        "organisation": expert.organisation.name,
        "organisation_code": expert.organisation.code,
        "employer": expert.employer,
        "phone": expert.phone if with_phone else None,
    }


def _in_bbox(rows, bbox):
    """The rows whose point lies in the bbox, edges included (None: all of them)."""
    return rows if bbox is None else rows.filter(geom__bboverlaps=Polygon.from_bbox(bbox))


def team_features(viewer: Viewer, bbox=None) -> list[dict]:
    labels = specialty_labels(Specialty.Kind.SKILL)
    return [team_feature(t, labels) for t in _in_bbox(teams(viewer), bbox)]


def depot_features(viewer: Viewer, bbox=None) -> list[dict]:
    return [depot_feature(d) for d in _in_bbox(depots(viewer), bbox)]


def shelter_features(viewer: Viewer, bbox=None) -> list[dict]:
    return [shelter_feature(s) for s in _in_bbox(shelters(viewer), bbox)]


def hazard_features(viewer: Viewer, bbox=None) -> list[dict]:
    return [hazard_feature(h) for h in _in_bbox(hazards(viewer), bbox)]


def expert_list(viewer: Viewer, field: str | None = None) -> list[dict]:
    rows = experts(viewer)
    if field:
        rows = rows.filter(fields__contains=[field])
    labels, with_phone = specialty_labels(Specialty.Kind.FIELD), reads_personal_data(viewer)
    return [expert_row(e, labels, with_phone) for e in rows]


def snapshot(viewer: Viewer, bbox) -> list[dict]:
    """Snapshot provider of topic "resources": every visible team, depot, shelter and hazard source (in the bbox)."""
    return (
        team_features(viewer, bbox)
        + depot_features(viewer, bbox)
        + shelter_features(viewer, bbox)
        + hazard_features(viewer, bbox)
    )


def supply_items() -> list[dict]:
    return [{"code": s.code, "label": _label(s), "unit": s.unit} for s in SupplyItem.objects.all()]


def specialties(kind: str) -> list[dict]:
    return [{"code": s.code, "label": _label(s)} for s in Specialty.objects.filter(kind=kind)]


def request_row(request: SupplyRequest) -> dict:
    """A request with its allocations (those supply_requests prefetched, else read here)."""
    allocations = getattr(request, "allocation_rows", None)
    if allocations is None:
        allocations = list(request.allocations.select_related("stock__depot"))
    return {
        "id": request.pk,
        "incident_id": request.incident_id,
        "incident_number": request.incident_number,
        "item": request.item.code,
        "item_label": _label(request.item),
        "unit": request.item.unit,
        "quantity": request.quantity,
        "allocated": sum(a.quantity for a in allocations if a.status != a.Status.RELEASED),
        "status": request.status,
        "note": request.note,
        "requested_at": request.requested_at.isoformat(),
        "allocations": [
            {
                "id": a.pk,
                "depot_id": a.stock.depot_id,
                "depot": a.stock.depot.name,
                "quantity": a.quantity,
                "status": a.status,
                "allocated_at": a.allocated_at.isoformat(),
            }
            for a in allocations
        ],
    }


def requests_for(viewer: Viewer):
    """Supply requests of the incidents the viewer may see (dispatch's rule)."""
    visible = dispatch_selectors.incidents_for(viewer).values("pk")
    return SupplyRequest.objects.filter(incident_id__in=visible).select_related("item")


def supply_requests(viewer: Viewer, incident_id: int | None = None) -> list[dict]:
    """Requests of the incidents the viewer may see (dispatch's rule)."""
    with_depots = Allocation.objects.select_related("stock__depot")
    rows = requests_for(viewer).prefetch_related(
        Prefetch("allocations", queryset=with_depots, to_attr="allocation_rows")
    )
    if incident_id is not None:
        rows = rows.filter(incident_id=incident_id)
    return [request_row(r) for r in rows[:500]]


# -- search ----------------------------------------------------------------------------------------------------

SEARCH_KINDS = ("depot", "team", "shelter", "hazard")
ROAD, STRAIGHT = "road", "straight_line"
DEFAULT_HAZARD_RADIUS_M = 2000.0


@dataclass(frozen=True)
class Origin:
    lon: float
    lat: float
    incident_id: int | None = None
    incident_number: str | None = None


def origin_for(viewer: Viewer, near: str) -> Origin:
    """``near`` is an incident id (one the viewer may see) or ``lon,lat`` (WGS84)."""
    text = (near or "").strip()
    if text.isdigit():
        incident = dispatch_selectors.visible_incident(viewer, int(text))
        if incident is None:
            raise InputError("near", f"no incident {text} visible to you")
        lon, lat = incident.geom.coords
        return Origin(lon, lat, incident.pk, incident.number)
    try:
        lon, lat = (float(part) for part in text.split(","))
    except ValueError:
        raise InputError("near", "must be an incident id or lon,lat") from None
    if not (np.isfinite([lon, lat]).all() and -180 <= lon <= 180 and -90 <= lat <= 90):
        raise InputError("near", "lon,lat must be a WGS84 longitude and latitude")
    return Origin(lon, lat)


def _candidates(viewer: Viewer, kind: str, item: str | None, skill: str | None, minimum: int) -> list[tuple]:
    """(id, lon, lat, properties) of the visible rows that qualify."""
    if kind == "depot":
        if not item:
            raise InputError("item", "a depot search needs the item (a supplies code)")
        if not SupplyItem.objects.filter(code=item).exists():
            raise InputError("item", f"unknown supplies code {item!r}")
        stock = (
            StockItem.objects.filter(item__code=item, depot__in=Depot.objects.filter(held_visibility(viewer)))
            .annotate(free=F("on_hand") - F("allocated"))
            .filter(free__gte=minimum)
            .select_related("depot__organisation", "item")
        )
        return [
            (s.depot_id, *s.depot.geom.coords, {"name": s.depot.name, "organisation": s.depot.organisation.name,
             "address": s.depot.address, "item": item, "unit": s.item.unit, "available": s.free})
            for s in stock
        ]  # fmt: skip
    if kind == "team":
        rows = teams(viewer).filter(on_duty__gte=minimum)
        if skill:
            if not Specialty.objects.filter(kind=Specialty.Kind.SKILL, code=skill).exists():
                raise InputError("skill", f"unknown skill code {skill!r}")
            rows = rows.filter(skills__contains=[skill])
        labels = specialty_labels(Specialty.Kind.SKILL)
        return [
            (t.pk, *t.geom.coords, {"name": t.name, "organisation": t.organisation.name, "on_duty": t.on_duty,
             "headcount": t.headcount, "skills": t.skills, "skill_labels": [labels.get(c, c) for c in t.skills],
             "phone": t.phone})
            for t in rows
        ]  # fmt: skip
    if kind == "shelter":
        rows = shelters(viewer).filter(status=Shelter.Status.OPEN).annotate(free=F("capacity") - F("occupancy"))
        return [
            (s.pk, *s.geom.coords, {"name": s.name, "address": s.address, "capacity": s.capacity,
             "occupancy": s.occupancy, "free": s.free})
            for s in rows.filter(free__gte=minimum)
        ]  # fmt: skip
    return [
        (h.pk, *h.geom.coords, {"name": h.name, "kind": h.kind, "kind_label": str(HazardSource.Kind(h.kind).label),
         "grade": h.grade, "radius_m": h.radius_m, "substances": h.substances, "address": h.address})
        for h in hazards(viewer)
    ]  # fmt: skip


def straight_distances(origin: Origin, points: np.ndarray) -> np.ndarray:
    """Straight-line distances (m) in the city's metric CRS (gis.coords keeps its transformer: building one per
    search cost ~75 ms)."""
    lonlat = np.vstack([[origin.lon, origin.lat], points])
    xy = shapely.get_coordinates(from_wgs84(shapely.points(lonlat), f"epsg:{metric_srid()}"))
    return np.hypot(xy[1:, 0] - xy[0, 0], xy[1:, 1] - xy[0, 1])


def search(
    viewer: Viewer,
    origin: Origin,
    kind: str,
    *,
    item: str | None = None,
    skill: str | None = None,
    minimum: int = 1,
    by: str = "eta",
    limit: int = 3,
    radius_m: float | None = None,
) -> dict:
    """The visible resources of a kind that qualify (a depot holding at least `minimum` free of `item`, a team with
    `skill` and `minimum` on duty, an open shelter with `minimum` free places), ranked from the origin.

    ``by="eta"`` ranks by road travel time with dispatch's road graph (one reverse search from the origin, as for
    units); a candidate off the network or without a road route is ranked after the routable ones by straight-line
    distance, and says so (``method`` "straight_line" with the ``reason``). ``by="distance"`` ranks all by
    straight-line distance in the city's metric CRS. Hazard sources are always ranked by distance, within
    ``radius_m`` (default 2 km), and tell whether the origin lies inside their own hazard circle.
    """
    rows = _candidates(viewer, kind, item, skill, minimum)
    if kind == "hazard":
        by, radius_m = "distance", DEFAULT_HAZARD_RADIUS_M if radius_m is None else radius_m
    straight = straight_distances(origin, np.array([(r[1], r[2]) for r in rows], dtype=float).reshape(-1, 2))
    found = {r[0]: (r, float(d)) for r, d in zip(rows, straight, strict=True) if radius_m is None or d <= radius_m}
    answer = {
        "origin": {"lon": origin.lon, "lat": origin.lat, "incident_id": origin.incident_id,
                   "incident_number": origin.incident_number},
        "kind": kind,
        "by": by,
        "results": [],
    }  # fmt: skip
    ranked: list[tuple] = []  # (row, straight_m, eta_s | None, road_m | None, method, reason)
    graph = dispatch_selectors.road_graph() if by == "eta" and found else None
    if by == "eta" and found and graph is None:
        answer["note"] = "no road network loaded: ranked by straight-line distance"
    if graph is not None:
        off_network_m = settings.CITYOPS_OFF_NETWORK_M
        ranking = rank_units(
            graph, (origin.lon, origin.lat), [(pk, r[1], r[2]) for pk, (r, _) in found.items()],
            off_network_m=off_network_m,
        )  # fmt: skip
        answer["origin"].update(snap_m=round(ranking.incident_snap_m, 1), off_network=ranking.incident_off_network)
        apart = []
        for unit in ranking.routable:
            row, dist = found[unit.unit_id]
            if unit.off_network:
                apart.append((row, dist, None, None, STRAIGHT, "off_network"))
            else:
                ranked.append((row, dist, unit.eta_seconds, unit.distance_m, ROAD, None))
        apart += [(*found[u.unit_id], None, None, STRAIGHT, u.reason) for u in ranking.unroutable]
        ranked += sorted(apart, key=lambda entry: entry[1])
    else:
        ranked = sorted(((r, d, None, None, STRAIGHT, None) for r, d in found.values()), key=lambda e: (e[1], e[0][0]))
    for rank, (row, dist, eta, road, method, reason) in enumerate(ranked[:limit], start=1):
        result = {
            "rank": rank,
            "id": row[0],
            "geometry": {"type": "Point", "coordinates": [row[1], row[2]]},
            **row[3],
            "method": method,
            "eta_seconds": None if eta is None else round(eta, 1),
            "road_distance_m": None if road is None else round(road, 1),
            "straight_m": round(dist, 1),
        }
        if reason:
            result["reason"] = reason
        if kind == "hazard":
            result["origin_inside_circle"] = dist <= row[3]["radius_m"]
        answer["results"].append(result)
    answer["considered"] = len(found)
    return answer
