"""Read queries of the crew apps: a crew member's sign-on and the job their vehicle is on, with its road route."""

from django.db.models import Q

from core.realtime import Viewer
from dispatch import selectors as dispatch_selectors
from dispatch.features import incident_feature, iso, unit_feature
from dispatch.models import Assignment, Vehicle
from dispatch.simulator import Router

from .models import CrewSignOn

TIMELINE_ESSENTIALS = 8  # the newest lines of the incident's timeline the MDT shows
TRANSPORTING_TIMELINE = "unit.transporting"  # 转运 as a timeline line (services.report_status writes it)


def open_sign_on(user) -> CrewSignOn | None:
    return (
        CrewSignOn.objects.select_related("vehicle__agency", "vehicle__station")
        .filter(user=user, ended_at__isnull=True)
        .first()
    )


def vehicles_to_crew(viewer: Viewer) -> list[dict]:
    """The vehicles a crew member may sign on to: those dispatch's row rule shows them (their agency's)."""
    units = dispatch_selectors.visible_units(viewer).select_related("agency").order_by("call_sign")
    return [
        {
            "id": u.pk,
            "call_sign": u.call_sign,
            "kind": u.kind,
            "kind_label": str(Vehicle.Kind(u.kind).label),
            "plate": u.plate,
            "status": u.status,
            "status_label": str(Vehicle.Status(u.status).label),
        }
        for u in units.exclude(status=Vehicle.Status.OUT_OF_SERVICE)
    ]


def active_assignment(vehicle: Vehicle) -> Assignment | None:
    """The vehicle's assignment not yet cleared (dispatch allows one at a time), with its incident loaded."""
    rows = Assignment.objects.filter(Q(vehicle=vehicle) & dispatch_selectors.ACTIVE_ASSIGNMENT)
    return rows.select_related("incident").order_by("-dispatched_at").first()


def road_route(vehicle: Vehicle, destination) -> dict | None:
    """The road route from the vehicle (its last fix, else its station) to a point, as a GeoJSON LineString with
    the ETA dispatch computes; None without a road network or a position."""
    start = vehicle.last_position or (vehicle.station.geom if vehicle.station_id else None)
    graph = dispatch_selectors.road_graph()
    if start is None or graph is None:
        return None
    points = [start.coords, *Router(graph).route(start.coords, destination.coords)]
    return {"type": "LineString", "coordinates": [list(p) for p in points]}


def mdt_view(sign_on: CrewSignOn) -> dict:
    """What the MDT shows: the vehicle, its active assignment's incident (type, address, description, priority,
    the newest timeline lines), and the road route there with its ETA."""
    vehicle = sign_on.vehicle
    unit = unit_feature(vehicle)
    unit["properties"].update(
        kind_label=str(Vehicle.Kind(vehicle.kind).label),
        status_label=str(Vehicle.Status(vehicle.status).label),
        plate=vehicle.plate,
        transports=vehicle.kind == Vehicle.Kind.AMBULANCE,
    )
    view = {"sign_on": {"id": sign_on.pk, "started_at": iso(sign_on.started_at)}, "vehicle": unit, "job": None}
    assignment = active_assignment(vehicle)
    if assignment is None:
        return view
    incident = dispatch_selectors.incidents_for(dispatch_selectors.CITY_WIDE).get(pk=assignment.incident_id)
    # 转运 is a timeline line while the assignment is "returning" (crews.services): the MDT shows it as a phase.
    transporting = (
        assignment.status == Assignment.Status.RETURNING
        and incident.timeline.filter(type=TRANSPORTING_TIMELINE, text=vehicle.call_sign).exists()
    )
    eta = dispatch_selectors.etas(incident, [vehicle.pk]).get(vehicle.pk)
    view["job"] = {
        "assignment": {
            "id": assignment.pk,
            "status": assignment.status,
            "status_label": str(Assignment.Status(assignment.status).label),
            "phase": "transporting" if transporting else assignment.status,
            "dispatched_at": iso(assignment.dispatched_at),
        },
        "incident": incident_feature(incident),
        "timeline": dispatch_selectors.timeline(incident)[-TIMELINE_ESSENTIALS:],
        "route": road_route(vehicle, incident.geom),
        "eta_s": eta,
    }
    return view
