"""Read queries of dispatch: units' last positions, terminals for the ingest, incidents as consoles see them."""

from dataclasses import asdict

from django.contrib.gis.geos import Polygon
from django.contrib.gis.measure import D
from django.db.models import Count, Max, Prefetch, Q
from django.utils.translation import get_language

from core.models import AdminArea, Organisation
from core.realtime import Viewer

from .eta import RoadGraph, rank_units
from .features import incident_feature, iso, vehicle_feature
from .models import Assignment, Incident, IncidentType, Vehicle
from .recommend import Candidate, open_needs, recommend


def vehicle_features(viewer: Viewer, bbox: tuple[float, float, float, float] | None) -> list[dict]:
    """Snapshot provider of topic "vehicles": every visible unit with a known position, as GeoJSON Features."""
    units = Vehicle.objects.filter(last_position__isnull=False).select_related("agency")
    if viewer.org_ids is not None:
        units = units.filter(agency_id__in=viewer.org_ids)
    if bbox is not None:
        units = units.filter(last_position__within=Polygon.from_bbox(bbox))
    return [
        vehicle_feature(
            u.pk,
            u.call_sign,
            u.kind,
            u.status,
            u.agency_id,
            u.agency.agency,
            u.last_position.x,
            u.last_position.y,
            u.last_speed_kmh,
            u.last_heading,
            u.last_fix_at,
        )
        for u in units
    ]


def jt808_terminal(phone: str) -> Vehicle | None:
    """The unit whose JT/T 808 terminal has this phone number (the header's digits, no leading zeros)."""
    return Vehicle.objects.filter(jt808_phone=phone).first()


def osmand_terminal(device_id: str) -> Vehicle | None:
    return Vehicle.objects.filter(osmand_id=device_id).first()


# -- incidents ------------------------------------------------------------------------------------------

CITY_WIDE = Viewer(0, frozenset(), None)  # the system itself (events, duplicate checks)
OPEN_STATUSES = [s for s in Incident.Status.values if s != Incident.Status.CLOSED]
ACTIVE_ASSIGNMENT = ~Q(status=Assignment.Status.CLEARED)


def viewer_agencies(viewer: Viewer) -> set[str] | None:
    """The agency codes (110/119/120/122) whose share a viewer works; None: every agency (command centre)."""
    if viewer.org_ids is None:
        return None
    return set(Organisation.objects.filter(pk__in=viewer.org_ids).exclude(agency="").values_list("agency", flat=True))


def agency_org_ids(agencies) -> list[int]:
    """The organisations that run these agencies: the `orgs` of an incident's events."""
    return sorted(Organisation.objects.filter(agency__in=list(agencies)).values_list("pk", flat=True))


def incidents_for(viewer: Viewer):
    """Incidents a viewer may see: those linked to one of its agencies (all, for a city-wide viewer)."""
    rows = Incident.objects.select_related("incident_type", "district").prefetch_related(
        Prefetch("assignments", Assignment.objects.select_related("vehicle").order_by("dispatched_at", "id"))
    )
    agencies = viewer_agencies(viewer)
    if agencies is not None:
        rows = rows.filter(agencies__overlap=sorted(agencies))
    return rows.annotate(call_count=Count("calls", distinct=True))


def incident_list(viewer: Viewer, status: str) -> list[dict]:
    rows = incidents_for(viewer)
    if status == "open":
        rows = rows.filter(status__in=OPEN_STATUSES)
    elif status == "closed":
        rows = rows.filter(status=Incident.Status.CLOSED)
    return [incident_feature(i) for i in rows.order_by("priority", "-call_received_at")[:1000]]


def incident_features(viewer: Viewer, bbox: tuple[float, float, float, float] | None) -> list[dict]:
    """Snapshot provider of topic "incidents": the open incidents a console may see."""
    rows = incidents_for(viewer).filter(status__in=OPEN_STATUSES)
    if bbox is not None:
        rows = rows.filter(geom__within=Polygon.from_bbox(bbox))
    return [incident_feature(i) for i in rows]


def visible_incident(viewer: Viewer, incident_id: int) -> Incident | None:
    return incidents_for(viewer).filter(pk=incident_id).first()


def timeline(incident: Incident) -> list[dict]:
    return [
        {
            "at": iso(entry.at),
            "type": entry.type,
            "text": entry.text,
            "actor": (entry.actor.get_full_name() or entry.actor.username) if entry.actor_id else None,
        }
        for entry in incident.timeline.select_related("actor")
    ]


def open_duplicates(incident_type: IncidentType, point, at, radius_m: float, window) -> list[Incident]:
    """Open incidents of the same type, or of the same agency, near in space and time: likely the same event."""
    return list(
        incidents_for(Viewer(0, frozenset(), None))
        .filter(status__in=OPEN_STATUSES)
        .filter(Q(incident_type=incident_type) | Q(agencies__contains=[incident_type.agency]))
        .filter(call_received_at__range=(at - window, at + window))
        .filter(geom__distance_lte=(point, D(m=radius_m)))
        .order_by("call_received_at")
    )


def incident_types() -> list[dict]:
    rows = IncidentType.objects.filter(active=True).prefetch_related("plan")
    language = get_language()
    return [
        {
            "code": t.code,
            "agency": t.agency,
            "label": t.label(language),
            "default_priority": t.default_priority,
            "utility": t.utility,
            "plan": [{"agency": p.agency, "unit_kind": p.unit_kind, "count": p.count} for p in t.plan.all()],
        }
        for t in rows
    ]


def city_area() -> AdminArea | None:
    return AdminArea.objects.filter(level=AdminArea.Level.CITY).first()


def district_at(point) -> AdminArea | None:
    return AdminArea.objects.filter(level=AdminArea.Level.DISTRICT, geom__intersects=point).first()


# -- recommendation -------------------------------------------------------------------------------------

_graph_cache: dict = {}


def road_graph() -> RoadGraph | None:
    """The road graph of the `gis` roads, built once per process and rebuilt when the roads change
    (checked by count and highest id: one cheap query per recommendation)."""
    from gis.models import Road

    key = tuple(Road.objects.aggregate(n=Count("id"), top=Max("id")).values())
    if _graph_cache.get("key") != key:
        rows = Road.objects.values_list("id", "geom", "speed_kmh", "oneway")
        segments = [(pk, geom.coords, speed, oneway) for pk, geom, speed, oneway in rows]
        _graph_cache.update(key=key, graph=RoadGraph.from_segments(segments) if segments else None)
    return _graph_cache["graph"]


def recommendation(viewer: Viewer, incident: Incident) -> dict:
    """The plan's open needs and the available units (of the agencies the viewer works) ranked by ETA."""
    plan = [(p.agency, p.unit_kind, p.count) for p in incident.incident_type.plan.all()]
    active = [(a.agency, a.vehicle.kind) for a in incident.assignments.all() if a.status != Assignment.Status.CLEARED]
    needs = [n for n in open_needs(plan, active) if n.agency in incident.agencies]
    units = Vehicle.objects.filter(
        status=Vehicle.Status.AVAILABLE, kind__in={n.unit_kind for n in needs}, agency__agency__in=incident.agencies
    ).select_related("agency", "station")
    agencies = viewer_agencies(viewer)
    if agencies is not None:
        units = units.filter(agency__agency__in=agencies)
    candidates = [
        Candidate(u.pk, u.call_sign, u.kind, u.agency.agency, *(u.last_position or u.station.geom).coords)
        for u in units
        if u.last_position is not None or u.station_id is not None
    ]
    rows = recommend(road_graph(), incident.geom.coords, needs, candidates)
    return {
        "needs": [asdict(n) for n in needs],
        "units": rows,
    }


def etas(incident: Incident, vehicle_ids: list[int]) -> dict[int, float]:
    """Road ETA (s) of these units to the incident now, to keep on their assignments (one search)."""
    units = Vehicle.objects.filter(pk__in=vehicle_ids).select_related("station")
    points = [(u.pk, *(u.last_position or u.station.geom).coords) for u in units if u.last_position or u.station]
    graph = road_graph()
    if graph is None or not points:
        return {}
    return {row.unit_id: round(row.eta_seconds, 1) for row in rank_units(graph, incident.geom.coords, points)}
