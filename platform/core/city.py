"""A city from data, without Django: administrative areas from a boundary file (anything GDAL reads) or the
boundary relations of an OSM extract, their nesting and codes, the CGCS2000 zone of a Chinese city and the map
view that shows a boundary whole.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely
from pyproj import Transformer
from shapely.geometry.base import BaseGeometry

from .errors import InputError

LEVELS = ("city", "district", "street", "community")
"""Our levels, outermost first; an area's parent is the area of the nearest level above that holds it."""
CODE_DIGITS = {"district": 2, "street": 3, "community": 3}
"""Digits a level adds to its parent's code when the data carry none (GB/T 2260 style: 6, 9, 12 digits)."""
CHINA_ADMIN_LEVELS = {5: "city", 6: "district", 8: "street", 10: "community"}
"""OSM admin_level of a Chinese prefecture-level city and the areas below it."""
CGCS2000_3DEGREE = {cm: 4534 + (cm - 75) // 3 for cm in range(75, 136, 3)}
"""Central meridian (°E) → EPSG code of the CGCS2000 3-degree Gauss-Krüger zone (EPSG:4534–4554)."""
NAME_LENGTH = 64  # AdminArea.name

# The map view: the smallest console screen a city must fit whole (a 1280×800 laptop less its panels).
VIEW_WIDTH_PX, VIEW_HEIGHT_PX = 1000, 700
MAX_HOME_ZOOM = 17.0
WEB_MERCATOR_WORLD_M = 2 * math.pi * 6378137.0
_TO_WEB_MERCATOR = Transformer.from_crs(4326, 3857, always_xy=True)


@dataclass(frozen=True)
class Area:
    """One administrative area in WGS84; `code` and `parent_code` may be empty until `nest` fills them."""

    name: str
    level: str
    geometry: BaseGeometry
    code: str = ""
    parent_code: str = ""


def cgcs2000_zone_srid(longitude: float) -> int:
    """The EPSG code of the CGCS2000 3° Gauss-Krüger zone (no false-easting prefix) whose meridian is nearest."""
    meridian = 3 * round(longitude / 3)
    if meridian not in CGCS2000_3DEGREE:
        raise InputError("crs", f"longitude {longitude:.3f} is outside China's CGCS2000 3° zones; give the CRS")
    return CGCS2000_3DEGREE[meridian]


def home_view(bounds: tuple[float, float, float, float]) -> tuple[float, float, float]:
    """(lon, lat, zoom) of a Web Mercator map that shows `bounds` (west, south, east, north) whole."""
    west, south, east, north = bounds
    (x0, x1), (y0, y1) = _TO_WEB_MERCATOR.transform([west, east], [south, north])
    lon, lat = _TO_WEB_MERCATOR.transform((x0 + x1) / 2, (y0 + y1) / 2, direction="INVERSE")
    width_m, height_m = max(x1 - x0, 1.0), max(y1 - y0, 1.0)
    # At zoom z the world is 512·2^z CSS pixels wide in MapLibre (its tiles are 512 px).
    fit = min(
        math.log2(VIEW_WIDTH_PX * WEB_MERCATOR_WORLD_M / (512 * width_m)),
        math.log2(VIEW_HEIGHT_PX * WEB_MERCATOR_WORLD_M / (512 * height_m)),
    )
    return lon, lat, math.floor(min(max(fit, 0.0), MAX_HOME_ZOOM) * 100) / 100  # rounded down: it still fits


def read_areas(path: Path, level: str, *, name_field: str = "name", code_field: str = "code") -> list[Area]:
    """The features of a boundary file (Shapefile, GeoPackage, GeoJSON, KML, … in any CRS it declares) as areas."""
    if level not in LEVELS:
        raise InputError("level", f"{level!r} is not one of {', '.join(LEVELS)}")
    try:
        frame = gpd.read_file(path, engine="pyogrio")
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise InputError("file", f"{path.name}: {exc}") from None
    if frame.crs is None:
        raise InputError("file", f"{path.name} declares no coordinate reference system")
    frame = frame[frame.geometry.notna() & frame.geom_type.isin(["Polygon", "MultiPolygon"])].to_crs(4326)
    if frame.empty:
        raise InputError("file", f"{path.name} holds no polygon")
    names, codes = _column(frame, name_field), _column(frame, code_field)
    return [
        Area(
            name=_text(names.iloc[i]) if names is not None else f"{path.stem} {i + 1}",
            level=level,
            geometry=frame.geometry.iloc[i],
            code=_text(codes.iloc[i]) if codes is not None else "",
        )
        for i in range(len(frame))
    ]


def read_osm_areas(path: Path, admin_levels: dict[int, str]) -> list[Area]:
    """The boundary=administrative relations of an OSM file at the given admin_levels (admin_level → our level)."""
    try:
        frame = pyogrio.read_dataframe(path, layer="multipolygons", where="boundary = 'administrative'")
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise InputError("file", f"{path.name}: {exc}") from None
    areas = []
    for row in frame.itertuples():
        level = admin_levels.get(_int(row.admin_level))
        relation = _text(row.osm_id)  # empty for a closed way tagged as a boundary
        if level and relation and row.geometry is not None:
            areas.append(Area(name=_text(row.name) or f"OSM {relation}", level=level, geometry=row.geometry))
    return areas


def osm_extent(path: Path) -> BaseGeometry:
    """The convex hull of every line in an OSM file: the city of an extract that carries no boundary relation."""
    try:
        lines = pyogrio.read_dataframe(path, layer="lines", columns=[])
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise InputError("file", f"{path.name}: {exc}") from None
    if lines.empty:
        raise InputError("file", f"{path.name} holds no way to take the city's extent from")
    return shapely.convex_hull(shapely.union_all(lines.geometry.values))


def nest(city: Area, areas: list[Area]) -> tuple[list[Area], list[Area]]:
    """The city and the areas that lie in it, each with a code and its parent's, parents first; and those left out.

    An area belongs to the nearest level above whose area holds a point inside it; an area the city does not hold
    is left out (an extract reaches past the city). Missing codes are the parent's code plus a running number.
    """
    city = replace(city, name=city.name[:NAME_LENGTH], level="city", code=city.code or "000000", parent_code="")
    nested, outside = [city], []
    for level in LEVELS[1:]:
        above = [a for a in nested if LEVELS.index(a.level) < LEVELS.index(level)]
        above.sort(key=lambda a: -LEVELS.index(a.level))  # the nearest level first
        numbers: dict[str, int] = {}
        for area in sorted((a for a in areas if a.level == level), key=lambda a: (a.code, a.name)):
            inside = shapely.point_on_surface(area.geometry)
            parent = next((a for a in above if a.geometry.contains(inside)), None)
            if parent is None:
                outside.append(area)
                continue
            numbers[parent.code] = numbers.get(parent.code, 0) + 1
            # a district replaces the city code's last two digits (440300 → 440304), the others append theirs
            prefix = parent.code[:-2] if level == "district" and parent.level == "city" else parent.code
            code = area.code or f"{prefix}{numbers[parent.code]:0{CODE_DIGITS[level]}d}"
            nested.append(replace(area, name=area.name[:NAME_LENGTH], code=code, parent_code=parent.code))
    return nested, outside


def _column(frame: pd.DataFrame, name: str) -> pd.Series | None:
    """A column by name, in any letter case (Shapefiles from desktop GIS often carry NAME, CODE)."""
    found = [column for column in frame.columns if column.lower() == name.lower()]
    return frame[found[0]] if found else None


def _text(value) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value).strip()


def _int(value) -> int | None:
    try:
        return int(str(value).strip())
    except ValueError:
        return None
