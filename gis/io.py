"""Reading and writing vector files (Shapefile in a zip, GeoPackage, GeoJSON, CSV, KML) with geopandas/pyogrio.

Reading ends in WGS84 with a report: the source CRS (from the file, or the `crs` the user gave, which wins —
files from Chinese map services often claim WGS84 but hold GCJ-02), invalid geometries repaired or dropped,
empty and out-of-area features dropped, each with its row number and reason. Nothing here touches the
database; gis.services turns a read into a preview and a committed dataset.
"""

from __future__ import annotations

import math
import re
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import prcoords
import pyogrio
import shapely
from pyproj import CRS

from core.errors import InputError, without_paths
from core.geo import OFFSET_CRS, SUPPORTED_CRS_TEXT, parse_crs

FORMATS = {"geojson": "GeoJSON", "gpkg": "GPKG", "shp": "ESRI Shapefile", "csv": "CSV", "kml": "KML"}
EXTENSIONS = {".geojson": "geojson", ".json": "geojson", ".gpkg": "gpkg", ".zip": "shp", ".csv": "csv", ".kml": "kml"}
CONTENT_TYPES = {
    "geojson": "application/geo+json",
    "gpkg": "application/geopackage+sqlite3",
    "shp": "application/zip",
    "csv": "text/csv; charset=utf-8",
    "kml": "application/vnd.google-earth.kml+xml",
}
MAGIC = {"gpkg": b"SQLite format 3\x00", "shp": b"PK\x03\x04"}
MAX_FEATURES = 200_000
MAX_UNZIPPED_BYTES = 512 * 1024 * 1024
MAX_ZIP_RATIO = 200  # deflate rarely beats ~10:1 on real vector data; a bomb is 1000:1 and more
MAX_ZIP_ENTRIES = 64
WKT_COLUMNS = ("wkt", "geometry", "geom", "the_geom", "shape")
LON_COLUMNS = ("lon", "lng", "long", "longitude", "x", "经度")
LAT_COLUMNS = ("lat", "latitude", "y", "纬度")
_RESERVED = {"geometry", "id"} | {
    "exact", "iexact", "contains", "icontains", "in", "gt", "gte", "lt", "lte", "startswith", "istartswith",
    "endswith", "iendswith", "range", "isnull", "regex", "iregex", "has_key", "has_keys", "has_any_keys",
    "contained_by", "keys", "values", "len",
}  # fmt: skip
_KML_BOOKKEEPING = {"id", "tessellate", "extrude", "visibility", "drawOrder", "icon", "altitudeMode", "begin", "end"}
_DIMENSION = {"Point": 0, "MultiPoint": 0, "LineString": 1, "MultiLineString": 1, "Polygon": 2, "MultiPolygon": 2}


@dataclass
class ReadResult:
    frame: gpd.GeoDataFrame  # WGS84, valid, 2D, one geometry family; index = source row numbers (1-based)
    geometry_type: str
    fields: dict[str, str]  # property name → JSON type
    source_crs: str
    report: dict = field(default_factory=dict)


def detect_format(file_name: str, given: str | None) -> str:
    if given:
        if given not in FORMATS:
            raise InputError("format", f"unsupported format {given!r}; use one of {', '.join(FORMATS)}")
        return given
    suffix = Path(file_name).suffix.lower()
    if suffix not in EXTENSIONS:
        raise InputError(
            "file", f"cannot tell the format of {file_name!r}; use .geojson, .gpkg, .zip (shapefile), .csv or .kml"
        )
    return EXTENSIONS[suffix]


def check_content(path: Path, fmt: str) -> None:
    """The file must look like its format (a renamed executable or HTML page is refused before GDAL sees it)."""
    head = path.read_bytes()[:512] if path.stat().st_size else b""
    if not head:
        raise InputError("file", "the file is empty")
    if fmt in MAGIC and not head.startswith(MAGIC[fmt]):
        raise InputError("file", f"this is not a {'zip archive' if fmt == 'shp' else 'GeoPackage'}")
    if fmt in ("geojson", "kml", "csv"):
        text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
        if b"\x00" in head:
            raise InputError("file", f"a {fmt} file must be text")
        if fmt == "geojson" and not text.startswith(b"{"):
            raise InputError("file", "a GeoJSON file must start with '{'")
        if fmt == "kml" and not text.startswith(b"<"):
            raise InputError("file", "a KML file must be XML")


def unzip_shapefile(path: Path, into: Path) -> Path:
    """Extract a zipped shapefile after checking sizes and names (zip bombs, path traversal); return the .shp."""
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise InputError("file", "not a valid zip archive") from None
    with archive:
        entries = [info for info in archive.infolist() if not info.is_dir()]
        if len(entries) > MAX_ZIP_ENTRIES:
            raise InputError("file", f"the zip holds {len(entries)} files; at most {MAX_ZIP_ENTRIES}")
        total = sum(info.file_size for info in entries)
        packed = sum(info.compress_size for info in entries) or 1
        if total > MAX_UNZIPPED_BYTES:
            raise InputError("file", f"the zip would unpack to {total} bytes; at most {MAX_UNZIPPED_BYTES}")
        if total / packed > MAX_ZIP_RATIO:
            raise InputError("file", f"the zip is compressed {total / packed:.0f}:1, refused as a possible zip bomb")
        shps = [info for info in entries if info.filename.lower().endswith(".shp")]
        if len(shps) != 1:
            raise InputError("file", f"the zip must hold exactly one .shp file, found {len(shps)}")
        stem = shps[0].filename[:-4]
        written = 0
        for info in entries:
            name = Path(info.filename)
            if name.is_absolute() or ".." in name.parts:
                raise InputError("file", f"unsafe path in the zip: {info.filename!r}")
            if not info.filename.startswith(stem + "."):
                continue
            target = into / ("layer" + info.filename[len(stem) :].lower())
            with archive.open(info) as src, open(target, "wb") as dst:
                while chunk := src.read(1 << 20):
                    written += len(chunk)
                    if written > MAX_UNZIPPED_BYTES:  # sizes in the directory can lie
                        raise InputError("file", "the zip unpacks to more than it declares")
                    dst.write(chunk)
    return into / "layer.shp"


def _read_csv(path: Path, columns: dict) -> gpd.GeoDataFrame:
    for encoding in ("utf-8-sig", "gb18030"):  # Excel in China saves CSV as GBK
        try:
            frame = pd.read_csv(path, encoding=encoding, dtype_backend="numpy_nullable")
            break
        except UnicodeDecodeError:
            continue
    else:
        raise InputError("file", "the CSV is neither UTF-8 nor GB18030 text")
    lower = {str(name).strip().lower(): name for name in frame.columns}

    def pick(given: str | None, candidates) -> str | None:
        if given:
            if given not in frame.columns:
                raise InputError(
                    "columns", f"no column {given!r} in the CSV; columns: {', '.join(map(str, frame.columns))}"
                )
            return given
        return next((lower[c] for c in candidates if c in lower), None)

    wkt = pick(columns.get("wkt"), WKT_COLUMNS) if not (columns.get("lon") or columns.get("lat")) else None
    if wkt:
        geometry = shapely.from_wkt(frame[wkt].astype("string").fillna("").to_numpy(dtype=object), on_invalid="ignore")
        frame = frame.drop(columns=[wkt])
    else:
        lon, lat = pick(columns.get("lon"), LON_COLUMNS), pick(columns.get("lat"), LAT_COLUMNS)
        if not lon or not lat:
            raise InputError(
                "columns",
                "the CSV needs a WKT column (wkt, geometry) or longitude/latitude columns (lon, lat, 经度, 纬度)",
            )
        x = pd.to_numeric(frame[lon], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        y = pd.to_numeric(frame[lat], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        geometry = np.where(np.isnan(x) | np.isnan(y), None, shapely.points(np.nan_to_num(x), np.nan_to_num(y)))
        frame = frame.drop(columns=[lon, lat])
    return gpd.GeoDataFrame(frame, geometry=list(geometry), crs=None)


def _read_vector(path: Path, fmt: str, layer: str | None) -> gpd.GeoDataFrame:
    try:
        available = [name for name, _ in pyogrio.list_layers(path)]
    except Exception as exc:  # pyogrio raises DataSourceError & co. for anything GDAL cannot open
        raise InputError("file", f"GDAL cannot read this {fmt} file: {without_paths(str(exc))[:200]}") from None
    if not available:
        raise InputError("file", "the file holds no layer")
    if layer and layer not in available:
        raise InputError("layer", f"no layer {layer!r}; layers: {', '.join(available)}")
    names = [layer] if layer else (available if fmt == "kml" else available[:1])
    frames = []
    for name in names:
        try:
            frames.append(pyogrio.read_dataframe(path, layer=name, max_features=MAX_FEATURES + 1, encoding=None))
        except Exception as exc:
            raise InputError("file", f"GDAL cannot read layer {name!r}: {without_paths(str(exc))[:200]}") from None
    frame = frames[0] if len(frames) == 1 else gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=frames[0].crs)
    if fmt == "kml":  # LIBKML's bookkeeping fields, and columns no placemark fills; <name> is our `name`
        frame = frame.drop(columns=[c for c in frame.columns if c in _KML_BOOKKEEPING or frame[c].isna().all()])
        frame = frame.rename(columns={"Name": "name"})
    return frame


def _offset_inverse(geometry, crs: str):
    inverse = OFFSET_CRS[crs]

    def convert(xy):
        out = [inverse(prcoords.Coords(lat, lon), check_china=False) for lon, lat in xy]
        return np.array([(p.lon, p.lat) for p in out]).reshape(-1, 2)

    return shapely.transform(geometry, convert)


def read(
    path: Path,
    fmt: str,
    *,
    crs: str | None = None,
    layer: str | None = None,
    columns: dict | None = None,
    area: tuple[float, float, float, float] | None = None,
) -> ReadResult:
    """Read a file (a zipped shapefile is unpacked here), convert it to WGS84 and validate every feature.

    `crs` (wgs84, cgcs2000, gcj02, bd09 or EPSG:n) overrides the file's own CRS; `area` (west, south, east,
    north in WGS84) is where features may be, anything outside is reported and dropped."""
    given = parse_crs(crs) if crs else None
    check_content(path, fmt)
    with tempfile.TemporaryDirectory() as scratch:
        source = unzip_shapefile(path, Path(scratch)) if fmt == "shp" else path
        frame = _read_csv(source, columns or {}) if fmt == "csv" else _read_vector(source, fmt, layer)
    if len(frame) > MAX_FEATURES:
        raise InputError("file", f"more than {MAX_FEATURES} features; split the file")
    frame.index = pd.RangeIndex(1, len(frame) + 1)

    if given:
        source_crs = given
    elif frame.crs is not None:
        epsg = frame.crs.to_epsg()
        source_crs = f"epsg:{epsg}" if epsg else frame.crs.to_string()
    elif fmt in ("geojson", "kml", "csv"):
        source_crs = "wgs84"  # RFC 7946 and KML are WGS84 by definition; CSV lon/lat by convention
    else:
        what = "shapefile has no .prj file" if fmt == "shp" else "file declares no CRS"
        raise InputError("crs", f"the {what}; give its CRS ({SUPPORTED_CRS_TEXT}) instead of letting us guess")
    geometry = _to_wgs84(frame, source_crs)
    kept, geometry_type, report = validate(geometry, area)
    properties = frame.drop(columns=frame.geometry.name).loc[kept.index]
    properties, fields = clean_properties(properties)
    out = gpd.GeoDataFrame(properties, geometry=kept, crs="EPSG:4326")
    report.update({"format": fmt, "source_crs": source_crs, "assumed_crs": not given and frame.crs is None})
    return ReadResult(out, geometry_type, fields, source_crs, report)


def _to_wgs84(frame: gpd.GeoDataFrame, source_crs: str) -> gpd.GeoSeries:
    geometry = frame.geometry
    if source_crs in OFFSET_CRS:
        return gpd.GeoSeries(
            [None if g is None else _offset_inverse(g, source_crs) for g in geometry], index=frame.index, crs=4326
        )
    if source_crs in ("wgs84", "cgcs2000"):  # CGCS2000 equals WGS84 at city scale
        return gpd.GeoSeries(geometry.values, index=frame.index, crs=4326)
    try:
        target = CRS.from_user_input(source_crs)
    except Exception:
        raise InputError("crs", f"unknown CRS {source_crs!r}") from None
    return gpd.GeoSeries(geometry.values, index=frame.index, crs=target).to_crs(4326)


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
