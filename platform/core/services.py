"""State changes of the core app; each one audited and published in its own transaction."""

import shapely
from django.contrib.gis.geos import GEOSGeometry, MultiPolygon, Point
from django.core.exceptions import ValidationError
from django.db import models, transaction

from .city import Area, cgcs2000_zone_srid, home_view
from .errors import InputError
from .events import publish
from .models import AdminArea, AuditEntry, CityProfile, User


def record_audit(
    actor: User | None,
    action: str,
    target,
    summary: str = "",
    changes: dict | None = None,
    source: str | None = None,
):
    """One audit row; call it inside the transaction that makes the change. `target` is a row, a model (a bulk
    import: no id) or None (a failed sign-in names no account); `source` is the client's address where a request or
    a device connection made the change."""
    return AuditEntry.objects.create(
        actor=actor if actor is not None and actor.is_authenticated else None,
        action=action,
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if isinstance(target, models.Model) else "",
        summary=summary[:255],
        changes=changes or {},
        source=source,
    )


def area_feature(area: AdminArea) -> dict:
    return {
        "type": "Feature",
        "id": area.code,
        "geometry": None,
        "properties": {"code": area.code, "name": area.name, "level": area.level},
    }


@transaction.atomic
def update_area(actor: User, area: AdminArea, *, name: str | None = None, geom=None) -> AdminArea:
    """Correct an area's name or boundary (e.g. after a re-survey)."""
    changes = {}
    if name is not None and name != area.name:
        changes["name"] = [area.name, name]
        area.name = name
    if geom is not None:
        if geom.geom_type == "Polygon":
            geom = MultiPolygon(geom, srid=geom.srid)
        changes["geom"] = "boundary redrawn"
        area.geom = geom
    if not changes:
        return area
    area.save()
    record_audit(actor, "area.update", area, f"{area.code} {area.name}", changes)
    publish("areas", "area.updated", area_feature(area), geom=area.geom.envelope)
    return area


@transaction.atomic
def create_city(
    areas: list[Area],
    *,
    name: str,
    country: str,
    projected_srid: int | None = None,
    home: tuple[float, float, float] | None = None,
    base_layer_url: str = "",
    base_layer_attribution: str = "",
    actor: User | None = None,
) -> CityProfile:
    """A city on a database that has none: its nested areas (city first, see core.city.nest) and its profile.

    A Chinese city's projected CRS defaults to the CGCS2000 3° zone of its centre; elsewhere it must be given.
    The home view (lon, lat, zoom) defaults to the view that shows the boundary whole."""
    if CityProfile.objects.exists() or AdminArea.objects.exists():
        raise InputError("city", "a city is already set up in this database")
    country = country.strip().upper()
    if len(country) != 2 or not country.isalpha():
        raise InputError("country", f"{country!r} is not an ISO 3166-1 alpha-2 country code")
    city_shape = areas[0].geometry
    if projected_srid is None:
        if country != "CN":
            raise InputError("crs", "give the projected CRS (EPSG code) of a city outside China")
        projected_srid = cgcs2000_zone_srid(shapely.centroid(city_shape).x)
    created: dict[str, AdminArea] = {}
    for area in areas:
        created[area.code] = AdminArea.objects.create(
            code=area.code,
            name=area.name,
            level=area.level,
            parent=created.get(area.parent_code),
            geom=_multipolygon(area.geometry),
        )
    lon, lat, zoom = home or home_view(city_shape.bounds)
    profile = CityProfile(
        name=name,
        boundary=created[areas[0].code],
        projected_srid=projected_srid,
        country=country,
        home_center=Point(lon, lat, srid=4326),
        home_zoom=zoom,
        base_layer_url=base_layer_url,
        base_layer_attribution=base_layer_attribution,
    )
    try:
        profile.full_clean()
    except ValidationError as exc:
        field, messages = next(iter(exc.message_dict.items()))
        raise InputError(field, " ".join(messages)) from None
    profile.save()
    record_audit(actor, "city.setup", profile, f"{name}: {len(areas)} areas, EPSG:{projected_srid}")
    return profile


def _multipolygon(shape) -> MultiPolygon:
    """A valid MultiPolygon of an area's outline (boundary files carry self-touching rings)."""
    polygons = shapely.get_parts(shapely.make_valid(shape))
    polygons = [p for part in polygons for p in shapely.get_parts(part) if p.geom_type == "Polygon"]
    return GEOSGeometry(memoryview(shapely.MultiPolygon(polygons).wkb), srid=4326)
