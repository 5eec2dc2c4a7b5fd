"""Rasters (a DEM, population density, imagery) as Cloud-Optimized GeoTIFFs: value at a point, profile along a line,
zonal statistics, and PNG tiles for display.

Files live in VAR_DIR/rasters/<database>/<name>.tif: a raster is derived from the city loaded in one
database, so the demo database and each test database keep their own. A city's rasters fit in memory,
so each process reads a file once (and again when it changes) and answers every query from the array;
the COG layout (tiles + overviews) is for outside clients such as QGIS and GDAL.

Inputs are WGS84 shapely geometries; metric work (profile distances, buffers) happens in the raster's own
projected CRS. Zonal statistics count a cell when its centre lies inside the geometry.

A city's own DEM or imagery comes in as a GeoTIFF through gis.importing's gate (import_geotiff). It is judged
by what it declares before a pixel is decoded: a size past the limits, or far more pixels than the file could
hold (a pixel bomb), or bounds outside its CRS, are refused. A grid is warped into the metric CRS unless it
already is in a north-up projected one; imagery into Web Mercator, so its tiles are read, never warped, and it
is never held in memory: each tile is a windowed read of the COG (its overviews at low zoom).
"""

from __future__ import annotations

import io
import math
import os
import tempfile
import threading
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyproj
import rasterio
import rasterio.features
import rasterio.shutil
import rasterio.warp
import shapely
from affine import Affine
from django.db import connection
from django.utils.translation import gettext_lazy as _
from PIL import Image
from pyproj import CRS as ProjCRS
from rasterio.crs import CRS
from rasterio.enums import ColorInterp, Resampling
from rasterio.vrt import WarpedVRT
from rasterio.windows import Window

from core.errors import InputError
from core.geo import NAMED_CRS, parse_crs
from core.selectors import metric_srid

from . import importing

TILE_SIZE = 256
WEB_MERCATOR_HALF = 20037508.342789244
IMAGERY_CRS = "EPSG:3857"
NODATA = -9999.0
MAX_GRID_PIXELS = 25_000_000  # a grid is held whole in each process, as float64: 200 MB
MAX_IMAGERY_PIXELS = 1_000_000_000  # imagery is read tile by tile, never whole
MAX_DECLARED_RATIO = 200  # decoded bytes per stored byte past which a large raster is taken for a pixel bomb
RATIO_CHECKED_FROM = 256 * 2**20  # below this many decoded bytes the ratio cannot hurt
COPY_BLOCK = 2048  # pixels a side of the windows a raster is copied in (one progress step each)


@dataclass(frozen=True)
class RasterSpec:
    name: str
    title: str
    unit: str
    ramp: tuple[tuple[float, str], ...]
    """(value, #rrggbb) stops of the display colour ramp; values between stops are interpolated."""
    transparent_below: float | None = None
    """Values below this are drawn transparent (e.g. no people)."""
    imagery: bool = False
    """Colours (8-bit grey, RGB or RGBA) drawn as they are: no values to sample."""


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
        RasterSpec("imagery", _("Imagery"), "", (), imagery=True),
    )
}


class RasterNotAvailable(LookupError):
    """The raster is known but its file has not been generated (no demo city loaded, or not imported)."""


def _no_values(name: str) -> InputError:
    return InputError("name", f"raster {name!r} is imagery: it has colours, not values to sample")


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
    if spec(name).imagery:
        raise _no_values(name)
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
    """What the file's header says (no pixel read): CRS, size, cell size, WGS84 bounds."""
    with rasterio.open(path_of(name)) as src:
        west, south, east, north = rasterio.warp.transform_bounds(src.crs, "EPSG:4326", *src.bounds)
        return {
            "crs": src.crs.to_string(),
            "width": src.width,
            "height": src.height,
            "cell_size": abs(src.transform.a),
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
    if raster_spec.imagery:
        return _imagery_tile(name, z, x, y)
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


def _imagery_tile(name: str, z: int, x: int, y: int) -> bytes | None:
    """A windowed read of the Web Mercator COG (GDAL takes the overview that fits the zoom); None outside it."""
    with rasterio.open(path_of(name)) as src:
        west, south, east, north = tile_bounds(z, x, y)
        r_west, r_south, r_east, r_north = src.bounds
        if west >= r_east or east <= r_west or south >= r_north or north <= r_south:
            return None
        window = src.window(west, south, east, north)
        options = {"window": window, "boundless": True, "resampling": Resampling.bilinear}
        colours = src.read(out_shape=(src.count, TILE_SIZE, TILE_SIZE), fill_value=0, **options)
        alpha = src.dataset_mask(out_shape=(TILE_SIZE, TILE_SIZE), **options)
    if not alpha.any():
        return None
    rgba = np.dstack([*(colours if len(colours) == 3 else [colours[0]] * 3), alpha]).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()


# ------------------------------------------------------------------------------------------------ import


def import_geotiff(
    name: str,
    received: importing.Received,
    *,
    crs: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict:
    """A GeoTIFF that passed the gate, checked by what it declares, written as raster `name`'s COG: its info.

    `crs` (wgs84, cgcs2000 or EPSG:n) is for a file that declares none or a wrong one. The file replaces the
    raster's old one only once whole; `progress(done, total)` hears of each block copied."""
    raster_spec = spec(name)
    try:
        src = rasterio.open(received.path)
    except rasterio.errors.RasterioIOError as exc:
        raise received.handler.unreadable(received, str(exc)) from None
    target = path_of(name)
    target.parent.mkdir(parents=True, exist_ok=True)
    with src, tempfile.TemporaryDirectory(dir=target.parent, prefix=".import-") as scratch:
        source_crs = _declared(src, raster_spec, received, crs)
        tiled, partial = Path(scratch) / "tiled.tif", Path(scratch) / "cog.tif"
        try:
            with _stored_view(src, source_crs, raster_spec) as source:
                _copy_in_blocks(source, tiled, raster_spec, progress)
            rasterio.shutil.copy(tiled, partial, driver="COG", **_cog_options(raster_spec))
        except rasterio.errors.RasterioError as exc:  # a block the header promised and the file lacks
            raise received.handler.unreadable(received, str(exc)) from None
        os.replace(partial, target)
    return info(name)


def _declared(src, raster_spec: RasterSpec, received: importing.Received, crs: str | None) -> CRS:
    """The checks on the header: size, bands and type, georeferencing, CRS against bounds; the source CRS."""
    pixels = src.width * src.height
    limit = MAX_IMAGERY_PIXELS if raster_spec.imagery else MAX_GRID_PIXELS
    if pixels > limit:
        raise InputError("file", f"{received.name} declares {src.width}×{src.height} pixels; at most {limit:,}")
    decoded = pixels * src.count * np.dtype(src.dtypes[0]).itemsize
    stored = max(received.path.stat().st_size, 1)
    if decoded > RATIO_CHECKED_FROM and decoded / stored > MAX_DECLARED_RATIO:
        raise InputError(
            "file",
            f"{received.name} declares {decoded:,} bytes of pixels in a {stored:,}-byte file "
            f"({decoded / stored:.0f}:1), refused as a possible pixel bomb",
        )
    bands = f"{src.count} {src.dtypes[0]} band(s)"
    if raster_spec.imagery:
        alpha = ColorInterp.alpha in src.colorinterp
        if src.dtypes[0] != "uint8" or src.count not in (1, 3, 4) or (src.count == 4 and not alpha):
            raise InputError("file", f"imagery is 8-bit grey, RGB or RGBA; {received.name} has {bands}")
    elif src.count != 1 or np.dtype(src.dtypes[0]).kind not in "iuf":
        raise InputError("file", f"a {raster_spec.name} has one band of numbers; {received.name} has {bands}")
    if src.transform.is_identity or src.transform.a == 0 or src.transform.e == 0:
        raise InputError("file", f"{received.name} is not georeferenced (no geotransform)")
    if crs:
        name = parse_crs(crs)
        if not name.startswith("epsg:") and name not in NAMED_CRS:
            raise InputError("crs", f"a raster cannot be in {crs}; give wgs84, cgcs2000 or EPSG:<code>")
        source_crs = CRS.from_epsg(NAMED_CRS.get(name) or int(name[5:]))
    elif src.crs is not None:
        source_crs = src.crs
    else:
        raise InputError("crs", f"{received.name} declares no CRS; give its CRS (wgs84, cgcs2000 or EPSG:<code>)")
    importing.check_area_of_use(ProjCRS.from_wkt(source_crs.to_wkt()), tuple(src.bounds), "file", "the raster's bounds")
    return source_crs


def _stored_view(src, source_crs: CRS, raster_spec: RasterSpec):
    """The source as it will be stored: itself (a north-up grid in a projected CRS it declares), or warped."""
    if raster_spec.imagery:
        target = CRS.from_string(IMAGERY_CRS)
    elif source_crs == src.crs and source_crs.is_projected and src.transform.b == src.transform.d == 0:
        return nullcontext(src)
    else:
        target = CRS.from_epsg(metric_srid())
    if raster_spec.imagery:  # an alpha band, else the nodata value, else a new alpha tells the empty corners
        alpha = ColorInterp.alpha not in src.colorinterp and src.nodata is None
        return WarpedVRT(src, src_crs=source_crs, crs=target, resampling=Resampling.bilinear, add_alpha=alpha)
    return WarpedVRT(
        src, src_crs=source_crs, crs=target, resampling=Resampling.bilinear, src_nodata=src.nodata, nodata=NODATA
    )


def _copy_in_blocks(source, path: Path, raster_spec: RasterSpec, progress) -> None:
    """Copy block by block into a tiled GeoTIFF: float32 with NODATA for a grid, RGB + alpha for imagery."""
    profile = {
        "driver": "GTiff", "width": source.width, "height": source.height, "crs": source.crs,
        "transform": source.transform, "tiled": True, "blockxsize": 512, "blockysize": 512, "compress": "zstd",
        "BIGTIFF": "IF_SAFER",
    }  # fmt: skip
    if raster_spec.imagery:
        profile |= {"count": 4, "dtype": "uint8", "photometric": "RGB", "alpha": "YES"}
    else:
        profile |= {"count": 1, "dtype": "float32", "nodata": NODATA}
    windows = [
        Window(col, row, min(COPY_BLOCK, source.width - col), min(COPY_BLOCK, source.height - row))
        for row in range(0, source.height, COPY_BLOCK)
        for col in range(0, source.width, COPY_BLOCK)
    ]
    if progress is not None:
        progress(0, len(windows) + 1)
    with rasterio.open(path, "w", **profile) as dst:
        for done, window in enumerate(windows, start=1):
            if raster_spec.imagery:
                colours = source.read([1, 2, 3] if source.count >= 3 else [1, 1, 1], window=window)
                dst.write(np.concatenate([colours, source.dataset_mask(window=window)[None]]), window=window)
            else:
                values = source.read(1, window=window, masked=True)
                dst.write(values.astype(np.float32).filled(NODATA), 1, window=window)
            if progress is not None:
                progress(done, len(windows) + 1)
    if progress is not None:
        progress(len(windows) + 1, len(windows) + 1)


def _cog_options(raster_spec: RasterSpec) -> dict:
    if raster_spec.imagery:  # JPEG keeps the alpha as the COG's mask
        return {"COMPRESS": "JPEG", "QUALITY": 85, "BLOCKSIZE": TILE_SIZE, "OVERVIEW_RESAMPLING": "bilinear"}
    return {"COMPRESS": "DEFLATE", "PREDICTOR": "YES", "BLOCKSIZE": TILE_SIZE, "OVERVIEW_RESAMPLING": "average"}
