"""Read queries of dispatch: units' last positions for the consoles, terminals for the ingest."""

from django.contrib.gis.geos import Polygon

from core.realtime import Viewer

from .models import Vehicle
from .services import vehicle_feature


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
