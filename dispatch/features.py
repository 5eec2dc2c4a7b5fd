"""GeoJSON shapes of dispatch objects, shared by the API, the events and the console snapshots."""

from django.utils import timezone
from django.utils.translation import get_language

from core.geo import point_feature

from .models import Alarm, Assignment, Incident, Vehicle

INCIDENT_TIMES = {
    "call_received": "call_received_at",
    "created": "created_at",
    "dispatched": "dispatched_at",
    "en_route": "en_route_at",
    "on_scene": "on_scene_at",
    "under_control": "under_control_at",
    "closed": "closed_at",
}


def vehicle_feature(unit_id, call_sign, kind, status, agency_id, agency, lon, lat, speed, heading, fix_time) -> dict:
    return {
        "type": "Feature",
        "id": unit_id,
        "geometry": {"type": "Point", "coordinates": [lon, lat]} if lon is not None else None,
        "properties": {
            "call_sign": call_sign,
            "kind": kind,
            "agency": agency,
            "agency_id": agency_id,
            "status": status,
            "speed_kmh": speed,
            "heading": heading,
            "fix_time": fix_time.isoformat() if fix_time else None,
        },
    }


def unit_feature(vehicle: Vehicle) -> dict:
    """A unit's row as vehicle_feature shows it: at its last fix, no geometry before the first; ``agency`` loaded."""
    position = vehicle.last_position
    return vehicle_feature(
        vehicle.pk,
        vehicle.call_sign,
        vehicle.kind,
        vehicle.status,
        vehicle.agency_id,
        vehicle.agency.agency,
        position.x if position else None,
        position.y if position else None,
        vehicle.last_speed_kmh,
        vehicle.last_heading,
        vehicle.last_fix_at,
    )


def iso(value) -> str | None:
    return timezone.localtime(value).isoformat() if value is not None else None


def assignment_json(assignment: Assignment) -> dict:
    vehicle = assignment.vehicle
    return {
        "id": assignment.pk,
        "vehicle_id": vehicle.pk,
        "call_sign": vehicle.call_sign,
        "kind": vehicle.kind,
        "kind_label": str(Vehicle.Kind(vehicle.kind).label),
        "agency": assignment.agency,
        "status": assignment.status,
        "status_label": str(Assignment.Status(assignment.status).label),
        "eta_s": assignment.eta_s,
        "dispatched_at": iso(assignment.dispatched_at),
        "en_route_at": iso(assignment.en_route_at),
        "on_scene_at": iso(assignment.on_scene_at),
        "returning_at": iso(assignment.returning_at),
        "cleared_at": iso(assignment.cleared_at),
    }


def incident_feature(incident: Incident) -> dict:
    """Expects ``incident_type``, ``district`` and ``assignments__vehicle`` loaded (see selectors)."""
    kind = incident.incident_type
    return point_feature(
        incident.pk,
        incident.geom,
        {
            "id": incident.pk,
            "number": incident.number,
            "type_code": kind.code,
            "type_label": kind.label(get_language()),
            "type_labels": {"zh-hans": kind.name, "en": kind.name_en},
            "type_agency": kind.agency,
            "agencies": list(incident.agencies),
            "priority": incident.priority,
            "status": incident.status,
            "status_label": str(Incident.Status(incident.status).label),
            "address": incident.address,
            "description": incident.description,
            "caller_number": incident.caller_number,
            "district": incident.district.name if incident.district_id else None,
            "calls": getattr(incident, "call_count", None),
            "exercise": incident.exercise,
            "response_level": incident.response_level,
            "response_plan": incident.response_plan,
            "times": {name: iso(getattr(incident, attr)) for name, attr in INCIDENT_TIMES.items()},
            "assignments": [assignment_json(a) for a in incident.assignments.all()],
        },
    )


def alarm_state(alarm: Alarm) -> str:
    """Where the operator's workflow stands: closed, acknowledged, escalated (unacknowledged past its time) or
    unacknowledged."""
    if alarm.closed_at is not None:
        return "closed"
    if alarm.acknowledged_at is not None:
        return "acknowledged"
    return "escalated" if alarm.escalation_level else "unacknowledged"


def alarm_feature(alarm: Alarm) -> dict:
    """Expects ``vehicle__agency``, ``acknowledged_by`` and ``closed_by`` loaded (see selectors.alarms_for)."""
    vehicle = alarm.vehicle
    return point_feature(
        alarm.pk,
        alarm.geom,
        {
            "id": alarm.pk,
            "vehicle_id": vehicle.pk,
            "call_sign": vehicle.call_sign,
            "agency": vehicle.agency.agency if vehicle.agency_id else "",
            "kind": alarm.kind,
            "kind_label": str(Alarm.Kind(alarm.kind).label),
            "rule": alarm.rule,
            "message": alarm.message,
            "at": iso(alarm.at),
            "cleared_at": iso(alarm.cleared_at),
            "state": alarm_state(alarm),
            "acknowledged_at": iso(alarm.acknowledged_at),
            "acknowledged_by": alarm.acknowledged_by.display_name if alarm.acknowledged_by_id else None,
            "acknowledge_note": alarm.acknowledge_note,
            "closed_at": iso(alarm.closed_at),
            "closed_by": alarm.closed_by.display_name if alarm.closed_by_id else None,
            "close_note": alarm.close_note,
            "escalation_level": alarm.escalation_level,
            "escalated_at": iso(alarm.escalated_at),
        },
    )
