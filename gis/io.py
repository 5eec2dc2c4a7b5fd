"""Vector files as datasets and back: reading checks every feature, writing exports a layer.

A file comes in through gis.importing (the gate and the format handlers) in WGS84; here each feature is
validated for a dataset: invalid geometries repaired or dropped, empty and out-of-area features dropped, each
with its row number and reason, and the columns given safe names and JSON types. Writing turns a layer into
Shapefile (zipped), GeoPackage, GeoJSON, CSV or KML. Nothing here touches the database; gis.services turns a
read into a preview and a committed dataset.
"""

from __future__ import annotations

import math
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from core.errors import InputError

from . import importing

FORMATS = {"geojson": "GeoJSON", "gpkg": "GPKG", "shp": "ESRI Shapefile", "csv": "CSV", "kml": "KML"}
CONTENT_TYPES = {
    "geojson": "application/geo+json",
    "gpkg": "application/geopackage+sqlite3",
    "shp": "application/zip",
    "csv": "text/csv; charset=utf-8",
    "kml": "application/vnd.google-earth.kml+xml",
}
_RESERVED = {"geometry", "id"} | {
    "exact", "iexact", "contains", "icontains", "in", "gt", "gte", "lt", "lte", "startswith", "istartswith",
    "endswith", "iendswith", "range", "isnull", "regex", "iregex", "has_key", "has_keys", "has_any_keys",
    "contained_by", "keys", "values", "len",
}  # fmt: skip
_DIMENSION = {"Point": 0, "MultiPoint": 0, "LineString": 1, "MultiLineString": 1, "Polygon": 2, "MultiPolygon": 2}


@dataclass
class ReadResult:
    frame: gpd.GeoDataFrame  # WGS84, valid, 2D, one geometry family; index = source row numbers (1-based)
    geometry_type: str
    fields: dict[str, str]  # property name → JSON type
    source_crs: str
    report: dict = field(default_factory=dict)


def read(received: importing.Received, *, crs=None, layer=None, columns=None, area=None) -> ReadResult:
    """A file through the import pipeline, checked as a dataset: `area` (west, south, east, north in WGS84) is
    where features may be, anything outside is reported and dropped."""
    vector = importing.read_vector(received, layer=layer, crs=crs, columns=columns)
    kept, geometry_type, report = validate(vector.frame.geometry, area)
    properties, fields = clean_properties(vector.frame.drop(columns="geometry").loc[kept.index])
    out = gpd.GeoDataFrame(properties, geometry=kept, crs="EPSG:4326")
    report.update({"format": received.handler.name, "source_crs": vector.source_crs, "assumed_crs": vector.assumed_crs})
    return ReadResult(out, geometry_type, fields, vector.source_crs, report)


def validate(geometry: gpd.GeoSeries, area) -> tuple[gpd.GeoSeries, str, dict]:
    """Drop empty, unrepairable, out-of-range and out-of-area features and repair invalid ones; all reported."""
    problems: list[dict] = []
    kept: dict[int, object] = {}

    def problem(row, kind, detail, action="skipped"):
        problems.append({"row": int(row), "problem": kind, "detail": detail, "action": action})

    for row, geom in geometry.items():
        if geom is None or geom.is_empty:
            problem(row, "empty", "no geometry")
            continue
        geom = shapely.force_2d(geom)
        coords = shapely.get_coordinates(geom)
        if not np.isfinite(coords).all():
            problem(row, "invalid_coordinates", "coordinates are not finite numbers")
            continue
        if not ((coords[:, 0] >= -180) & (coords[:, 0] <= 180) & (coords[:, 1] >= -90) & (coords[:, 1] <= 90)).all():
            problem(row, "out_of_range", "coordinates outside lon -180..180 / lat -90..90 (wrong CRS?)")
            continue
        if not geom.is_valid:
            reason = shapely.is_valid_reason(geom)
            repaired = shapely.make_valid(geom)
            repaired = _same_dimension(repaired, _DIMENSION.get(geom.geom_type))
            if repaired is None or repaired.is_empty:
                problem(row, "invalid", reason)
                continue
            problem(row, "invalid", reason, "repaired")
            geom = repaired
        if area is not None and not shapely.intersects(geom, shapely.box(*area)):
            problem(row, "out_of_area", "outside the city's area")
            continue
        if geom.geom_type not in _DIMENSION:
            problem(row, "unsupported_type", geom.geom_type)
            continue
        kept[row] = geom

    dimensions = pd.Series([_DIMENSION[g.geom_type] for g in kept.values()], dtype=int)
    geometry_type = "Geometry"
    if len(dimensions):
        main = int(dimensions.mode().iloc[0])
        for row, geom in list(kept.items()):
            if _DIMENSION[geom.geom_type] != main:
                problem(row, "mixed_type", f"{geom.geom_type} in a layer of {('points', 'lines', 'polygons')[main]}")
                del kept[row]
        types = {g.geom_type for g in kept.values()}
        single = ("Point", "LineString", "Polygon")[main]
        if main == 2 or len(types) > 1:
            kept = {row: _as_multi(g) for row, g in kept.items()}
            geometry_type = "Multi" + single
        else:
            geometry_type = types.pop()
    problems.sort(key=lambda p: p["row"])
    counts: dict[str, int] = {}
    for p in problems:
        counts[f"{p['problem']}_{p['action']}"] = counts.get(f"{p['problem']}_{p['action']}", 0) + 1
    report = {
        "features_read": len(geometry),
        "features_kept": len(kept),
        "features_skipped": sum(1 for p in problems if p["action"] == "skipped"),
        "features_repaired": sum(1 for p in problems if p["action"] == "repaired"),
        "problem_counts": counts,
        "problems": problems[:500],
    }
    return gpd.GeoSeries(list(kept.values()), index=list(kept), crs=4326), geometry_type, report


def _same_dimension(geom, dimension: int | None):
    """The parts of a repaired geometry that keep the original's dimension (make_valid may add lines/points)."""
    if dimension is None or geom is None:
        return geom
    parts = [p for p in shapely.get_parts(geom) if _DIMENSION.get(p.geom_type) == dimension]
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else shapely.union_all(parts)


def _as_multi(geom):
    if geom.geom_type.startswith("Multi"):
        return geom
    return {"Point": shapely.MultiPoint, "LineString": shapely.MultiLineString, "Polygon": shapely.MultiPolygon}[
        geom.geom_type
    ]([geom])


def safe_name(name: str, taken: set[str]) -> str:
    """A property name usable in ORM lookups and CQL2: letters, digits, CJK and single underscores."""
    clean = re.sub(r"[^0-9A-Za-z_\u4e00-\u9fff]+", "_", str(name).strip())
    clean = re.sub(r"_+", "_", clean).strip("_")[:60] or "field"
    if clean[0].isdigit():
        clean = "f_" + clean
    if clean.lower() in _RESERVED:
        clean += "_"
    base, n = clean, 2
    while clean in taken:
        clean, n = f"{base}_{n}", n + 1
    taken.add(clean)
    return clean


def clean_properties(frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str]]:
    """Safe column names and JSON types; datetimes become ISO text."""
    taken: set[str] = set()
    renamed = frame.rename(columns={c: safe_name(c, taken) for c in frame.columns})
    fields = {}
    for name in renamed.columns:
        series = renamed[name]
        if pd.api.types.is_bool_dtype(series):
            kind = "boolean"
        elif pd.api.types.is_integer_dtype(series):
            kind = "integer"
        elif pd.api.types.is_float_dtype(series):
            kind = "number"
        else:
            kind = "string"
            if pd.api.types.is_datetime64_any_dtype(series):
                renamed[name] = series.map(lambda v: None if pd.isna(v) else v.isoformat())
        fields[name] = kind
    return renamed, fields


def json_value(value):
    """A pandas/numpy cell as a JSON value (NaN/NA → None)."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, np.generic):
        value = value.item()
        if isinstance(value, float) and math.isnan(value):
            return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value


def write(frame: gpd.GeoDataFrame, fmt: str, directory: Path, name: str) -> Path:
    """Write a WGS84 frame as `fmt` into `directory`; a shapefile comes back zipped with its .prj and .cpg."""
    if fmt not in FORMATS:
        raise InputError("format", f"unsupported format {fmt!r}; use one of {', '.join(FORMATS)}")
    if fmt == "csv":
        path = directory / f"{name}.csv"
        table = pd.DataFrame(frame.drop(columns=frame.geometry.name))
        table.insert(0, "wkt", shapely.to_wkt(frame.geometry.values, rounding_precision=-1))
        table.to_csv(path, index=False, encoding="utf-8-sig")
        return path
    if fmt == "shp":
        folder = directory / name
        folder.mkdir()
        pyogrio.write_dataframe(frame, folder / f"{name}.shp", driver=FORMATS[fmt], encoding="UTF-8")
        path = directory / f"{name}.zip"
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            for part in sorted(folder.iterdir()):
                archive.write(part, part.name)
        return path
    suffix = {"geojson": "geojson", "gpkg": "gpkg", "kml": "kml"}[fmt]
    path = directory / f"{name}.{suffix}"
    pyogrio.write_dataframe(frame, path, driver=FORMATS[fmt], layer=name)
    return path
