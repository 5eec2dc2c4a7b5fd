"""Reads of transport supervision. Every read goes through dispatch's row rule (``unit_visibility``): a key vehicle
is a dispatch unit whose agency is a carrier under the transport bureau (see models)."""

from core.realtime import Viewer
from dispatch import selectors as dispatch_selectors
from dispatch.features import alarm_feature, unit_feature

from . import jt809
from .models import KeyVehicle, LowerPlatform


def visible_key_vehicles(viewer: Viewer):
    return KeyVehicle.objects.filter(vehicle__in=dispatch_selectors.visible_units(viewer))


def key_vehicle_features(viewer: Viewer) -> list[dict]:
    """The key vehicles a viewer may see, as dispatch's unit Features with the supervision fields added."""
    rows = visible_key_vehicles(viewer).select_related("vehicle__agency", "platform")
    features = []
    for key in rows:
        feature = unit_feature(key.vehicle)
        feature["properties"].update(
            plate=key.vehicle.plate,
            plate_colour=jt809.PLATE_COLOURS.get(key.plate_colour, ""),
            category=key.category,
            category_label=str(KeyVehicle.Category(key.category).label),
            carrier=key.vehicle.agency.name,
            cargo=key.cargo,
            un_number=key.un_number,
            permit=key.permit,
            route=key.route_description,
            platform=key.platform.name if key.platform_id else None,
            static_info=key.static_info,
        )
        features.append(feature)
    return features


def visible_key_vehicle(viewer: Viewer, vehicle_id: int):
    key = visible_key_vehicles(viewer).select_related("vehicle").filter(vehicle_id=vehicle_id).first()
    return key.vehicle if key else None


def key_alarms(viewer: Viewer, open_only: bool) -> list[dict]:
    """dispatch's alarms of the visible units, restricted to key vehicles in the query itself: filtered afterwards,
    the newest 500 alarms of all units would be cut first and could hold none of a key vehicle's."""
    rows = dispatch_selectors.visible_alarms(viewer).filter(vehicle__key_vehicle__isnull=False)
    if open_only:
        rows = rows.filter(cleared_at__isnull=True)
    return [alarm_feature(a) for a in rows[:500]]


def platforms() -> list[dict]:
    return [
        {
            "id": p.pk,
            "name": p.name,
            "access_code": p.access_code,
            "version": p.version,
            "enabled": p.enabled,
            "link_state": p.link_state,
            "link_state_label": str(LowerPlatform.LinkState(p.link_state).label),
            "last_seen_at": p.last_seen_at.isoformat() if p.last_seen_at else None,
        }
        for p in LowerPlatform.objects.all()
    ]
