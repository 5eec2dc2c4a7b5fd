"""The coordinate service: a geometry from any supported CRS to any other, through WGS84.

Inbound (anything → WGS84) is core.geo's job, as every API's input is; outbound adds the offset systems
(GCJ-02 for AMap/Tencent base maps, BD-09 for Baidu) and projected CRSs (CGCS2000 Gauss-Krüger zones, …).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import prcoords
import shapely
from pyproj import CRS, Transformer

from core.geo import NAMED_CRS, parse_crs, parse_geometry

_FORWARD = {"gcj02": prcoords.wgs_gcj, "bd09": prcoords.wgs_bd}


@lru_cache(maxsize=32)
def _from_wgs84(epsg: int) -> Transformer:
    return Transformer.from_crs(CRS.from_epsg(4326), CRS.from_epsg(epsg), always_xy=True)


def from_wgs84(shape, crs: str):
    """A WGS84 shapely geometry in `crs` (a parse_crs name); x/y order is lon/lat or easting/northing."""
    if crs in NAMED_CRS:  # CGCS2000 equals WGS84 at city scale
        return shape
    if crs in _FORWARD:
        forward = _FORWARD[crs]

        def convert(xy):
            moved = [forward(prcoords.Coords(lat, lon), check_china=False) for lon, lat in xy]
            return np.array([(p.lon, p.lat) for p in moved]).reshape(-1, 2)

        return shapely.transform(shape, convert)
    transformer = _from_wgs84(int(crs[5:]))
    return shapely.transform(shape, lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1])))


def transform(geometry, source: str | None, target: str | None) -> dict:
    """A GeoJSON geometry from `source` to `target` CRS (wgs84, cgcs2000, gcj02, bd09 or EPSG:n) as GeoJSON."""
    target = parse_crs(target)
    wgs84 = parse_geometry(geometry, source)
    shape = shapely.from_wkb(bytes(wgs84.wkb))
    return shapely.geometry.mapping(from_wgs84(shape, target))
