"""Rasters (a DEM, population density) as Cloud-Optimized GeoTIFFs: value at a point, profile along a line,
zonal statistics, and coloured PNG tiles for display.

Files live in VAR_DIR/rasters/<database>/<name>.tif: a raster is derived from the city loaded in one
database, so the demo database and each test database keep their own. A city's rasters fit in memory,
so each process reads a file once (and again when it changes) and answers every query from the array;
the COG layout (tiles + overviews) is for outside clients such as QGIS and GDAL.

Inputs are WGS84 shapely geometries; metric work (profile distances, buffers) happens in the raster's own
projected CRS. Zonal statistics count a cell when its centre lies inside the geometry.
"""

from __future__ import annotations

import io
import math
import os
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyproj
import rasterio
import rasterio.features
import rasterio.warp
import shapely
from affine import Affine
from django.db import connection
from django.utils.translation import gettext_lazy as _
from PIL import Image
from rasterio.crs import CRS

from core.errors import InputError

TILE_SIZE = 256
WEB_MERCATOR_HALF = 20037508.342789244


@dataclass(frozen=True)
class RasterSpec:
    name: str
    title: str
    unit: str
    ramp: tuple[tuple[float, str], ...]
    """(value, #rrggbb) stops of the display colour ramp; values between stops are interpolated."""
    transparent_below: float | None = None
    """Values below this are drawn transparent (e.g. no people)."""


RASTERS = {
    spec.name: spec
    for spec in (
        RasterSpec(
            "dem",
            _("Elevation (DEM)"),
            "m",
            ((0, "#2f6f4f"), (20, "#5f9e5a"), (60, "#b8c77a"), (120, "#e0c98a"), (200, "#b08a5a"), (320, "#f2efe9")),
        ),
        RasterSpec(
            "population",
            _("Population density"),
            "persons/ha",
            ((0, "#fff7bc"), (20, "#fec44f"), (60, "#fe9929"), (120, "#d95f0e"), (250, "#8c2d04")),
            transparent_below=0.5,
        ),
    )
}


class RasterNotAvailable(LookupError):
    """The raster is known but its file has not been generated (no demo city loaded, or not imported)."""


@dataclass(frozen=True)
class _Raster:
    array: np.ndarray  # float64 with NaN for nodata
    transform: Affine
    crs: CRS

    @property
    def shape(self) -> tuple[int, int]:
        return self.array.shape

    def cell(self, x: float, y: float) -> tuple[int, int] | None:
        col, row = ~self.transform @ (x, y)
        row, col = math.floor(row), math.floor(col)
        if 0 <= row < self.shape[0] and 0 <= col < self.shape[1]:
            return row, col
        return None


def raster_dir() -> Path:
    from django.conf import settings

    return Path(settings.VAR_DIR) / "rasters" / connection.settings_dict["NAME"]


def spec(name: str) -> RasterSpec:
    try:
        return RASTERS[name]
    except KeyError:
        raise InputError("name", f"unknown raster {name!r}; rasters: {', '.join(RASTERS)}") from None


def path_of(name: str) -> Path:
    return raster_dir() / f"{spec(name).name}.tif"


def write(name: str, array: np.ndarray, transform: Affine, crs: str, nodata: float) -> Path:
    """Write a north-up float32 grid as a COG (deflate, 256-pixel blocks, overviews), replacing the old file
    atomically so readers never see half a file."""
    target = path_of(name)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(f".{os.getpid()}.partial.tif")
    profile = {
        "driver": "COG",
        "height": array.shape[0],
        "width": array.shape[1],
        "count": 1,
        "dtype": "float32",
        "crs": crs,
        "transform": transform,
        "nodata": nodata,
        "compress": "deflate",
        "blocksize": TILE_SIZE,
        "overview_resampling": "average",
    }
    with rasterio.open(partial, "w", **profile) as dst:
        dst.write(array.astype(np.float32), 1)
    os.replace(partial, target)
    return target


_CACHE: dict[Path, tuple[int, _Raster]] = {}
_CACHE_LOCK = threading.Lock()


def _load(name: str) -> _Raster:
    path = path_of(name)
    try:
        mtime = path.stat().st_mtime_ns
    except FileNotFoundError:
        raise RasterNotAvailable(f"raster {name!r} has not been generated (load the demo city)") from None
    with _CACHE_LOCK:
        hit = _CACHE.get(path)
        if hit and hit[0] == mtime:
            return hit[1]
    with rasterio.open(path) as src:
        array = src.read(1).astype(np.float64)
        if src.nodata is not None:
            array[array == src.nodata] = np.nan
        raster = _Raster(array, src.transform, src.crs)
    with _CACHE_LOCK:
        _CACHE[path] = (mtime, raster)
    return raster


def available(name: str) -> bool:
    return path_of(name).exists()


def info(name: str) -> dict:
    raster = _load(name)
    west, south, east, north = rasterio.warp.transform_bounds(
        raster.crs, "EPSG:4326", *rasterio.transform.array_bounds(*raster.shape, raster.transform)
    )
    return {
        "crs": raster.crs.to_string(),
        "width": raster.shape[1],
        "height": raster.shape[0],
        "cell_size": abs(raster.transform.a),
        "bbox": [west, south, east, north],
    }


def _to_raster_crs(raster: _Raster):
    transformer = _transformer("EPSG:4326", raster.crs.to_string())
    return lambda geom: shapely.transform(geom, lambda xy: np.column_stack(transformer.transform(*xy.T)))


_TRANSFORMERS: dict[tuple[str, str], pyproj.Transformer] = {}


def _transformer(source: str, target: str) -> pyproj.Transformer:
    key = (source, target)
    if key not in _TRANSFORMERS:
        _TRANSFORMERS[key] = pyproj.Transformer.from_crs(source, target, always_xy=True)
    return _TRANSFORMERS[key]


def _value(raster: _Raster, x: float, y: float) -> float | None:
    cell = raster.cell(x, y)
    if cell is None:
        return None
    value = raster.array[cell]
    return None if np.isnan(value) else float(value)


def value_at(name: str, lon: float, lat: float) -> float | None:
    """The value of the cell under a WGS84 point; None outside the raster or on nodata."""
    raster = _load(name)
    x, y = _transformer("EPSG:4326", raster.crs.to_string()).transform(lon, lat)
    return _value(raster, x, y)


def profile(name: str, line, step_m: float) -> list[tuple[float, float | None]]:
    """Values every `step_m` metres along a WGS84 LineString, and at its end: [(distance m, value), …].

    Distances are measured in the raster's projected CRS (the city's Gauss-Krüger zone)."""
    if not step_m or step_m <= 0 or not math.isfinite(step_m):
        raise InputError("step_m", "step_m must be a positive number of metres")
    raster = _load(name)
    if not raster.crs.is_projected:
        raise InputError("name", f"raster {name!r} is not in a projected CRS; profiles need metres")
    metric = _to_raster_crs(raster)(line)
    length = metric.length
    if length / step_m > 100_000:
        raise InputError("step_m", f"{length / step_m:.0f} samples; use a larger step_m (at most 100000 samples)")
    distances = [i * step_m for i in range(math.floor(length / step_m + 1e-9) + 1)]
    if length - distances[-1] > 1e-6:
        distances.append(length)
    points = shapely.line_interpolate_point(metric, distances)
    return [(float(d), _value(raster, p.x, p.y)) for d, p in zip(distances, points, strict=True)]


def zonal_stats(name: str, geom) -> dict:
    """sum, mean, min, max and count of the valid cells whose centre lies inside a WGS84 geometry."""
    raster = _load(name)
    shape = _to_raster_crs(raster)(geom)
    empty = {"sum": 0.0, "mean": None, "min": None, "max": None, "count": 0}
    if shape.is_empty:
        return empty
    west, south, east, north = shape.bounds
    inverse = ~raster.transform
    (c0, r0), (c1, r1) = inverse @ (west, north), inverse @ (east, south)
    row0, col0 = max(0, math.floor(min(r0, r1))), max(0, math.floor(min(c0, c1)))
    row1, col1 = min(raster.shape[0], math.ceil(max(r0, r1))), min(raster.shape[1], math.ceil(max(c0, c1)))
    if row0 >= row1 or col0 >= col1:
        return empty
    window = raster.array[row0:row1, col0:col1]
    transform = raster.transform @ Affine.translation(col0, row0)
    inside = rasterio.features.geometry_mask([shape], window.shape, transform, invert=True)
    values = window[inside & ~np.isnan(window)]
    if values.size == 0:
        return empty
    return {
        "sum": float(values.sum()),
        "mean": float(values.mean()),
        "min": float(values.min()),
        "max": float(values.max()),
        "count": int(values.size),
    }


def buffer_m(lon: float, lat: float, radius_m: float, name: str):
    """A circle of `radius_m` metres around a WGS84 point, drawn in the raster's metric CRS, as WGS84."""
    raster = _load(name)
    crs = raster.crs.to_string()
    x, y = _transformer("EPSG:4326", crs).transform(lon, lat)
    circle = shapely.Point(x, y).buffer(radius_m, quad_segs=32)
    back = _transformer(crs, "EPSG:4326")
    return shapely.transform(circle, lambda xy: np.column_stack(back.transform(*xy.T)))


def tile_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """Web Mercator bounds (west, south, east, north) of an XYZ tile."""
    size = 2 * WEB_MERCATOR_HALF / (1 << z)
    west = -WEB_MERCATOR_HALF + x * size
    north = WEB_MERCATOR_HALF - y * size
    return west, north - size, west + size, north


def _ramp_lut(raster_spec: RasterSpec) -> tuple[np.ndarray, np.ndarray]:
    stops = np.array([value for value, _ in raster_spec.ramp], dtype=float)
    colours = np.array([[int(c[i : i + 2], 16) for i in (1, 3, 5)] for _, c in raster_spec.ramp], dtype=float)
    return stops, colours


def render_tile(name: str, z: int, x: int, y: int) -> bytes | None:
    """A 256×256 PNG of the raster in an XYZ tile, coloured by its ramp; None when the tile has no data."""
    raster_spec = spec(name)
    raster = _load(name)
    west, south, east, north = tile_bounds(z, x, y)
    r_west, r_south, r_east, r_north = rasterio.warp.transform_bounds(
        raster.crs, "EPSG:3857", *rasterio.transform.array_bounds(*raster.shape, raster.transform)
    )
    if west >= r_east or east <= r_west or south >= r_north or north <= r_south:
        return None
    out = np.full((TILE_SIZE, TILE_SIZE), np.nan)
    rasterio.warp.reproject(
        source=raster.array,
        destination=out,
        src_transform=raster.transform,
        src_crs=raster.crs,
        src_nodata=np.nan,
        dst_transform=rasterio.transform.from_bounds(west, south, east, north, TILE_SIZE, TILE_SIZE),
        dst_crs="EPSG:3857",
        dst_nodata=np.nan,
        resampling=rasterio.warp.Resampling.bilinear if z >= 12 else rasterio.warp.Resampling.average,
    )
    valid = ~np.isnan(out)
    if raster_spec.transparent_below is not None:
        valid &= np.nan_to_num(out, nan=-np.inf) >= raster_spec.transparent_below
    if not valid.any():
        return None
    stops, colours = _ramp_lut(raster_spec)
    values = np.nan_to_num(out, nan=stops[0])
    rgba = np.empty((TILE_SIZE, TILE_SIZE, 4), dtype=np.uint8)
    for channel in range(3):
        rgba[..., channel] = np.interp(values, stops, colours[:, channel]).round().astype(np.uint8)
    rgba[..., 3] = np.where(valid, 200, 0)
    buffer = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()
