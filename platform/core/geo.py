"""Positions from the outside world: GeoJSON in any supported CRS → GEOS geometry in WGS84 (EPSG:4326).

Phone map SDKs in China send GCJ-02 (AMap, Tencent) or BD-09 (Baidu); survey data comes in CGCS2000,
often projected (Gauss-Krüger zones). Everything is converted here, once, on the way in.
"""

import json
import math
from functools import lru_cache

import numpy as np
import prcoords
import shapely
from django.contrib.gis.geos import GEOSException, GEOSGeometry
from django.utils.translation import gettext as _
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError

from .errors import InputError

GEOMETRY_TYPES = {
    "Point",
    "MultiPoint",
    "LineString",
    "MultiLineString",
    "Polygon",
    "MultiPolygon",
    "GeometryCollection",
}
NAMED_CRS = {"wgs84": 4326, "cgcs2000": 4490}
OFFSET_CRS = {"gcj02": prcoords.gcj_wgs_bored, "bd09": prcoords.bd_wgs_bored}
SUPPORTED_CRS_TEXT = "wgs84, cgcs2000, gcj02, bd09 or EPSG:<code>"


class GeometryInputError(InputError):
    """Input that cannot become a geometry or a CRS."""


def parse_crs(value: str | None) -> str:
    """Normalise a `crs` parameter; unknown names are refused rather than guessed."""
    name = (value or "wgs84").strip().lower()
    if name in NAMED_CRS or name in OFFSET_CRS:
        return name
    if name.startswith("epsg:") and name[5:].isdigit():
        try:
            _transformer_to_wgs84(int(name[5:]))
        except CRSError as exc:
            raise GeometryInputError("crs", f"unknown CRS {value!r}") from exc
        return name
    raise GeometryInputError("crs", f"unknown CRS {value!r}; use {SUPPORTED_CRS_TEXT}")


@lru_cache(maxsize=32)
def _transformer_to_wgs84(epsg: int) -> Transformer:
    return Transformer.from_crs(CRS.from_epsg(epsg), CRS.from_epsg(4326), always_xy=True)


def _is_geographic(crs: str) -> bool:
    if crs in NAMED_CRS or crs in OFFSET_CRS:
        return True
    return CRS.from_epsg(int(crs[5:])).is_geographic


def _check_lon_lat(coords, field: str) -> None:
    for lon, lat in coords[:, :2]:
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise GeometryInputError(
                field, f"coordinate ({lon}, {lat}) is outside longitude -180..180 / latitude -90..90"
            )


def parse_geometry(value, crs: str | None = "wgs84", field: str = "geometry") -> GEOSGeometry:
    """Validate a GeoJSON geometry (dict or JSON text) in `crs` and return it in EPSG:4326."""
    crs = parse_crs(crs)
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise GeometryInputError(field, f"not valid JSON: {exc.msg}") from exc
    if not isinstance(value, dict):
        raise GeometryInputError(field, "must be a GeoJSON geometry object")
    if value.get("type") not in GEOMETRY_TYPES:
        raise GeometryInputError(field, f"GeoJSON type must be one of {', '.join(sorted(GEOMETRY_TYPES))}")
    try:
        shape = shapely.from_geojson(json.dumps(value))
    except (shapely.errors.GEOSException, ValueError, TypeError) as exc:
        raise GeometryInputError(field, f"invalid GeoJSON geometry: {exc}") from exc
    coords = shapely.get_coordinates(shape)
    if shape.is_empty or len(coords) == 0:
        raise GeometryInputError(field, "geometry is empty")
    if not all(math.isfinite(c) for c in coords.ravel()):
        raise GeometryInputError(field, "coordinates must be finite numbers")
    if _is_geographic(crs):
        _check_lon_lat(coords, field)
    shape = _to_wgs84(shape, crs)
    _check_lon_lat(shapely.get_coordinates(shape), field)
    try:
        return GEOSGeometry(memoryview(shape.wkb), srid=4326)
    except (GEOSException, ValueError) as exc:
        raise GeometryInputError(field, f"invalid geometry: {exc}") from exc


def parse_geojson_point(value, crs: str | None = "wgs84", field: str = "location") -> GEOSGeometry:
    """A GeoJSON Point (dict or JSON text) in `crs`, returned in EPSG:4326; another geometry type names `field`."""
    point = parse_geometry(value, crs, field=field)
    if point.geom_type != "Point":
        raise GeometryInputError(field, _("must be a GeoJSON Point, not %(type)s") % {"type": point.geom_type})
    return point


def parse_point(lon, lat, crs: str | None = "wgs84") -> GEOSGeometry:
    """A point from separate lon/lat query parameters."""
    try:
        lon, lat = float(lon), float(lat)
    except (TypeError, ValueError) as exc:
        raise GeometryInputError("lon/lat", "lon and lat must be numbers") from exc
    return parse_geometry({"type": "Point", "coordinates": [lon, lat]}, crs, field="lon/lat")


def _to_wgs84(shape, crs: str):
    if crs in NAMED_CRS:  # CGCS2000 equals WGS84 at city scale (sub-metre)
        return shape
    if crs in OFFSET_CRS:
        inverse = OFFSET_CRS[crs]

        def convert(xy):
            out = [inverse(prcoords.Coords(lat, lon), check_china=False) for lon, lat in xy]
            return [(p.lon, p.lat) for p in out]

        return shapely.transform(shape, lambda xy: np.array(convert(xy)))
    transformer = _transformer_to_wgs84(int(crs[5:]))
    return shapely.transform(shape, lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1])))


def point_feature(feature_id: int | str, point: GEOSGeometry, properties: dict) -> dict:
    """A GeoJSON Feature at a stored point: the one envelope of the point objects the APIs and events send."""
    return {
        "type": "Feature",
        "id": feature_id,
        "geometry": {"type": "Point", "coordinates": list(point.coords)},
        "properties": properties,
    }


def from_wgs84(lon: float, lat: float, crs: str) -> tuple[float, float]:
    """WGS84 → an offset system, for clients that display on GCJ-02/BD-09 base maps."""
    crs = parse_crs(crs)
    if crs == "gcj02":
        p = prcoords.wgs_gcj(prcoords.Coords(lat, lon), check_china=False)
    elif crs == "bd09":
        p = prcoords.wgs_bd(prcoords.Coords(lat, lon), check_china=False)
    else:
        return lon, lat
    return p.lon, p.lat
