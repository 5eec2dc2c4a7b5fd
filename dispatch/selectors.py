"""Read queries of dispatch: units' last positions, terminals for the ingest, incidents as consoles see them."""

import hashlib
from dataclasses import asdict

from django.conf import settings
from django.contrib.gis.geos import Polygon
from django.contrib.gis.measure import D
from django.db import connection
from django.db.models import Count, Prefetch, Q
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from core.models import AdminArea, Domain, Organisation
from core.realtime import Viewer, bbox_intersects
from core.selectors import in_commanded_area

from . import kpi
from .eta import RoadGraph, rank_units
from .features import alarm_feature, incident_feature, iso, unit_feature
from .models import Alarm, Assignment, Incident, IncidentType, TrackPoint, Vehicle
from .recommend import Candidate, open_needs, recommend


def unit_visibility(viewer: Viewer) -> Q:
    """The units a viewer may see: its agencies' (a command centre's: every agency's, in its area)."""
    rule = in_commanded_area(viewer, Domain.DISPATCH, "last_position")
    orgs = viewer.orgs_in(Domain.DISPATCH)
    return rule if orgs is None else rule & Q(agency_id__in=sorted(orgs))


def visible_units(viewer: Viewer):
    return Vehicle.objects.filter(unit_visibility(viewer))


def vehicle_features(viewer: Viewer, bbox: tuple[float, float, float, float] | None) -> list[dict]:
    """Snapshot provider of topic "vehicles": every visible unit with a known position, as GeoJSON Features."""
    units = visible_units(viewer).filter(last_position__isnull=False).select_related("agency")
    if bbox is not None:
        units = units.filter(last_position__within=Polygon.from_bbox(bbox))
    return [unit_feature(u) for u in units]


def jt808_terminal(phone: str) -> Vehicle | None:
    """The unit whose JT/T 808 terminal has this phone number (the header's digits, no leading zeros)."""
    return Vehicle.objects.filter(jt808_phone=phone).first()


def osmand_device(token: str) -> Vehicle | None:
    """The unit whose phone sends this secret token as its OsmAnd device id (None for any other id)."""
    digest = hashlib.sha256(token.encode()).hexdigest()
    return Vehicle.objects.filter(osmand_token_sha256=digest).first()


# -- incidents ------------------------------------------------------------------------------------------

CITY_WIDE = Viewer(0, frozenset(), None)  # the system itself (events, duplicate checks)
OPEN_STATUSES = [s for s in Incident.Status.values if s != Incident.Status.CLOSED]
ACTIVE_ASSIGNMENT = ~Q(status=Assignment.Status.CLEARED)


def viewer_agencies(viewer: Viewer) -> set[str] | None:
    """The agency codes (110/119/120/122) whose share a viewer works; None: every agency (command centre)."""
    orgs = viewer.orgs_in(Domain.DISPATCH)
    if orgs is None:
        return None
    return set(Organisation.objects.filter(pk__in=orgs).exclude(agency="").values_list("agency", flat=True))


def agency_org_ids(agencies) -> list[int]:
    """The organisations that run these agencies: the `orgs` of an incident's events."""
    return sorted(Organisation.objects.filter(agency__in=list(agencies)).values_list("pk", flat=True))


def incidents_for(viewer: Viewer):
    """Incidents a viewer may see: those linked to one of its agencies (a command centre's: every incident in its
    area)."""
    rows = (
        Incident.objects.filter(incident_visibility(viewer))
        .select_related("incident_type", "district")
        .prefetch_related(
            Prefetch("assignments", Assignment.objects.select_related("vehicle").order_by("dispatched_at", "id"))
        )
    )
    return rows.annotate(call_count=Count("calls", distinct=True))


def incident_visibility(viewer: Viewer) -> Q:
    """incidents_for's rule as a filter, for the map layers too."""
    agencies = viewer_agencies(viewer)
    rule = in_commanded_area(viewer, Domain.DISPATCH)
    return rule if agencies is None else rule & Q(agencies__overlap=sorted(agencies))


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


TIMELINE_LABELS = {
    "call": _("Call"),
    "created": _("Incident created"),
    "linked": _("Agencies linked"),
    "plan_activated": _("Response plan activated"),
    "level_raised": _("Response level raised"),
    "level_lowered": _("Response level lowered"),
    "action_done": _("Plan action done"),
    "drill_inject": _("Drill inject"),
    "escalated_from_case": _("Escalated from case"),
    "follow_up_case": _("Follow-up case"),
    "unlinked": _("Agency withdrawn"),
    "dispatched": _("Units dispatched"),
    "unit.en_route": _("Unit en route"),
    "unit.on_scene": _("Unit on scene"),
    "unit.transporting": _("Transporting the patient"),
    "unit.returning": _("Unit returning"),
    "unit.cleared": _("Unit back in service"),
    "under_control": _("Under control"),
    "closed": _("Closed"),
}


def timeline(incident: Incident) -> list[dict]:
    """The incident's history in the reader's language: the label of each entry's type, then its particulars."""
    return [
        {
            "at": iso(entry.at),
            "type": entry.type,
            "text": f"{TIMELINE_LABELS.get(entry.type, entry.type)}{': ' if entry.text else ''}{entry.text}",
            "actor": entry.actor.display_name if entry.actor_id else None,
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


def district_at(point) -> AdminArea | None:
    return AdminArea.objects.filter(level=AdminArea.Level.DISTRICT, geom__intersects=point).first()


# -- recommendation -------------------------------------------------------------------------------------

_graph_cache: dict = {}


def road_graph() -> RoadGraph | None:
    """The road graph of the `gis` roads and turn restrictions, built once per process and rebuilt when the road
    network version changes (any road edit, in any process, raises it in the edit's transaction)."""
    from gis.models import Road, TurnRestriction
    from gis.selectors import road_network_version

    version = road_network_version()  # read before the roads: a graph is never cached under a newer version
    cached = _graph_cache.get("entry")
    if cached is not None and cached[0] == version:
        return cached[1]
    rows = Road.objects.values_list("id", "geom", "speed_kmh", "oneway", "speed_backward_kmh")
    segments = [(pk, geom.coords, speed, oneway, back) for pk, geom, speed, oneway, back in rows]
    turns = [
        (kind, a, via.coords, b)
        for kind, a, via, b in TurnRestriction.objects.values_list("kind", "from_road_id", "via", "to_road_id")
    ]
    graph = RoadGraph.from_segments(segments, turns) if segments else None
    _graph_cache["entry"] = (version, graph)
    return graph


_CANDIDATES = """
SELECT v.id, v.call_sign, v.kind, o.agency,
       ST_X(coalesce(v.last_position, s.geom)), ST_Y(coalesce(v.last_position, s.geom))
FROM dispatch_vehicle v
JOIN core_organisation o ON o.id = v.agency_id
LEFT JOIN dispatch_station s ON s.id = v.station_id
WHERE v.status = 'available' AND v.kind = ANY(%s) AND o.agency = ANY(%s)
  AND coalesce(v.last_position, s.geom) IS NOT NULL
"""


def recommendation(viewer: Viewer, incident: Incident) -> dict:
    """The plan's open needs and the available units (of the agencies the viewer works) ranked by ETA."""
    plan = (
        [tuple(line) for line in incident.run_card]
        if incident.run_card is not None
        else [(p.agency, p.unit_kind, p.count) for p in incident.incident_type.plan.all()]
    )
    active = [(a.agency, a.vehicle.kind) for a in incident.assignments.all() if a.status != Assignment.Status.CLEARED]
    needs = [n for n in open_needs(plan, active) if n.agency in incident.agencies]
    agencies = set(incident.agencies)
    mine = viewer_agencies(viewer)
    if mine is not None:
        agencies &= mine
    with connection.cursor() as cursor:  # plain rows: 500 model instances with geometries cost ~100 ms
        cursor.execute(_CANDIDATES, [sorted({n.unit_kind for n in needs}), sorted(agencies)])
        candidates = [Candidate(*row) for row in cursor.fetchall()]
    proposal = recommend(
        road_graph(), incident.geom.coords, needs, candidates, off_network_m=settings.CITYOPS_OFF_NETWORK_M
    )
    return {"needs": [asdict(n) for n in needs], **proposal}


def etas(incident: Incident, vehicle_ids: list[int]) -> dict[int, float]:
    """Road ETA (s) of these units to the incident now, to keep on their assignments (one search); none for a
    unit without a road route."""
    units = Vehicle.objects.filter(pk__in=vehicle_ids).select_related("station")
    points = [(u.pk, *(u.last_position or u.station.geom).coords) for u in units if u.last_position or u.station]
    graph = road_graph()
    if graph is None or not points:
        return {}
    ranking = rank_units(graph, incident.geom.coords, points, off_network_m=settings.CITYOPS_OFF_NETWORK_M)
    return {row.unit_id: round(row.eta_seconds, 1) for row in ranking.routable}


# -- units, tracks, alarms, KPIs ------------------------------------------------------------------------

MAX_TRACK_POINTS = 50_000


def unit_features(viewer: Viewer) -> list[dict]:
    """The status board: every unit the viewer may see, with or without a position."""
    units = visible_units(viewer).select_related("agency", "station")
    features = []
    for u in units:
        feature = unit_feature(u)
        feature["properties"].update(
            station=u.station.name if u.station_id else None,
            crew=u.crew,
            plate=u.plate,
            status_label=str(Vehicle.Status(u.status).label),
            kind_label=str(Vehicle.Kind(u.kind).label),
        )
        features.append(feature)
    return features


def visible_vehicle(viewer: Viewer, vehicle_id: int) -> Vehicle | None:
    return visible_units(viewer).filter(pk=vehicle_id).first()


def track(vehicle: Vehicle, start, end) -> dict:
    """轨迹回放: the stored fixes of a unit in [start, end] as a LineString Feature plus the points in order."""
    rows = list(
        TrackPoint.objects.filter(vehicle_id=vehicle.pk, fix_time__gte=start, fix_time__lte=end)
        .order_by("fix_time")
        .values_list("fix_time", "geom", "speed_kmh", "heading")[: MAX_TRACK_POINTS + 1]
    )
    truncated = len(rows) > MAX_TRACK_POINTS
    rows = rows[:MAX_TRACK_POINTS]
    coords = [list(geom.coords) for _, geom, _, _ in rows]
    return {
        "type": "Feature",
        "id": vehicle.pk,
        "geometry": {"type": "LineString", "coordinates": coords} if len(coords) >= 2 else None,
        "properties": {
            "vehicle_id": vehicle.pk,
            "call_sign": vehicle.call_sign,
            "from": iso(start),
            "to": iso(end),
            "truncated": truncated,
            "points": [
                {"t": iso(t), "lon": c[0], "lat": c[1], "speed_kmh": speed, "heading": heading}
                for (t, _, speed, heading), c in zip(rows, coords, strict=True)
            ],
        },
    }


def visible_alarms(viewer: Viewer):
    """The alarms of the units a viewer may see (unit_visibility), newest first."""
    rows = Alarm.objects.select_related("vehicle__agency", "acknowledged_by", "closed_by")
    return rows.filter(vehicle__in=visible_units(viewer))


def visible_alarm(viewer: Viewer, alarm_id: int) -> Alarm | None:
    return visible_alarms(viewer).filter(pk=alarm_id).first()


def alarms_for(viewer: Viewer, open_only: bool, *, unclosed: bool = False) -> list[dict]:
    """``open_only``: whose condition still holds; ``unclosed``: not yet closed by an operator (what consoles list)."""
    rows = visible_alarms(viewer)
    if open_only:
        rows = rows.filter(cleared_at__isnull=True)
    if unclosed:
        rows = rows.filter(closed_at__isnull=True)
    return [alarm_feature(a) for a in rows[:500]]


def alarm_features(viewer: Viewer, bbox: tuple[float, float, float, float] | None) -> list[dict]:
    """Snapshot provider of topic "alarms": the alarms a console lists, those not yet closed (ended or not)."""
    features = alarms_for(viewer, open_only=False, unclosed=True)
    if bbox is None:
        return features
    return [f for f in features if bbox_intersects([*f["geometry"]["coordinates"]] * 2, bbox)]


_KPI_SQL = """
WITH per_agency AS (
    SELECT i.id, a.agency, d.name AS district, i.call_received_at,
           min(a.dispatched_at) AS dispatched_at, min(a.on_scene_at) AS first_on_scene
    FROM dispatch_incident i
    JOIN dispatch_assignment a ON a.incident_id = i.id
    LEFT JOIN core_adminarea d ON d.id = i.district_id
    WHERE i.call_received_at >= %(start)s AND i.call_received_at < %(end)s AND NOT i.exercise {where}
    GROUP BY i.id, a.agency, d.name
), units AS (
    SELECT a.agency, d.name AS district,
           extract(epoch FROM a.en_route_at - a.dispatched_at) AS turnout,
           extract(epoch FROM a.on_scene_at - a.en_route_at) AS travel
    FROM dispatch_incident i
    JOIN dispatch_assignment a ON a.incident_id = i.id
    LEFT JOIN core_adminarea d ON d.id = i.district_id
    WHERE i.call_received_at >= %(start)s AND i.call_received_at < %(end)s AND NOT i.exercise {where}
)
SELECT g.agency, g.district, g.incidents, g.call_processing, g.total_response, u.turnout, u.travel
FROM (
    SELECT agency, {district} AS district, count(*) AS incidents,
           percentile_cont(0.9) WITHIN GROUP (
               ORDER BY extract(epoch FROM dispatched_at - call_received_at)) AS call_processing,
           percentile_cont(0.9) WITHIN GROUP (
               ORDER BY extract(epoch FROM first_on_scene - call_received_at)) AS total_response
    FROM per_agency GROUP BY 1, 2
) g JOIN (
    SELECT agency, {district} AS district,
           percentile_cont(0.9) WITHIN GROUP (ORDER BY turnout) AS turnout,
           percentile_cont(0.9) WITHIN GROUP (ORDER BY travel) AS travel
    FROM units GROUP BY 1, 2
) u ON u.agency = g.agency AND u.district IS NOT DISTINCT FROM g.district
ORDER BY g.agency, g.district
"""


def response_kpis(start, end, *, district: str | None = None, agency: str | None = None, by_district=True) -> dict:
    """p90 of each response segment per agency (and district), from the incident and assignment timestamps; drills'
    incidents (exercise) never count.

    Nulls (a unit that never reported en route, say) drop out of that segment only.
    """
    where, params = "", {"start": start, "end": end}
    if district:
        where += " AND (d.name = %(district)s OR d.code = %(district)s)"
        params["district"] = district
    if agency:
        where += " AND a.agency = %(agency)s"
        params["agency"] = agency
    sql = _KPI_SQL.format(where=where, district="district" if by_district else "NULL::text")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return {
        "from": iso(start),
        "to": iso(end),
        "percentile": kpi.PERCENTILE,
        "objectives": {
            code: {"seconds": targets, "source": kpi.OBJECTIVE_SOURCES[code]}
            for code, targets in kpi.OBJECTIVES_S.items()
        },
        "rows": [
            {
                "agency": row_agency,
                "district": row_district,
                "incidents": count,
                **kpi.judged(row_agency, dict(zip(kpi.SEGMENTS, (processing, turnout, travel, total), strict=True))),
            }
            for row_agency, row_district, count, processing, total, turnout, travel in rows
        ],
    }
