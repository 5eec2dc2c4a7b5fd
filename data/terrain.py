"""The demo city's landscape, without Django: terrain (DEM), a river with its valley, parks on the hills, and
a population grid that follows where the city's addresses are.

Everything is built in the demo city's metric CRS (EPSG:4547) from the city itself and its seed, so the
same city always gets the same landscape. Grids are north-up, rows from north to south.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyproj
import rasterio.features
import shapely
from affine import Affine
from scipy.ndimage import distance_transform_edt, gaussian_filter
from shapely import LineString, MultiPolygon, Polygon

from . import democity

METRIC_CRS = democity.METRIC_CRS
DEM_CELL_M = 25.0
POPULATION_CELL_M = 100.0  # one hectare: a cell's persons per hectare is also its head count
PERSONS_PER_ADDRESS = 60.0  # residents of a typical numbered building in a Shenzhen neighbourhood
MARGIN_M = 600.0
NODATA = -9999.0
_HILL_NAMES = ("莲花山公园", "笔架山公园", "塘朗山郊野公园", "梧桐山风景区", "银湖山郊野公园", "阳台山森林公园")
_RIVER_NAME = "深圳河"


@dataclass(frozen=True)
class Grid:
    """A north-up raster in METRIC_CRS."""

    array: np.ndarray  # float32, rows north → south
    transform: Affine
    crs: str = METRIC_CRS
    nodata: float = NODATA


@dataclass(frozen=True)
class Area:
    name: str
    kind: str  # "water" | "park" | "woodland"
    geometry: MultiPolygon  # WGS84 lon/lat


@dataclass(frozen=True)
class Landscape:
    dem: Grid
    population: Grid
    areas: list[Area]


def build(city: democity.DemoCity) -> Landscape:
    """The DEM (m above sea level), population (persons per hectare) and water/green areas of a demo city."""
    rng = np.random.default_rng(city.seed + 7)
    to_metric = pyproj.Transformer.from_crs("EPSG:4326", METRIC_CRS, always_xy=True)
    to_lonlat = pyproj.Transformer.from_crs(METRIC_CRS, "EPSG:4326", always_xy=True)
    boundary = shapely.transform(city.areas[0].geometry, lambda xy: np.column_stack(to_metric.transform(*xy.T)))
    west, south, east, north = boundary.bounds
    cell = POPULATION_CELL_M  # both grids share one extent, a whole number of population cells
    west, south = (float(np.floor((v - MARGIN_M) / cell) * cell) for v in (west, south))
    east, north = (float(np.ceil((v + MARGIN_M) / cell) * cell) for v in (east, north))

    river = _river(rng, west, south, east, north)
    river_area = river.buffer(max(20.0, (north - south) * 0.008), cap_style="flat")
    hills = _hills(rng, west, south, east, north, river)
    dem = _dem(west, north, east, south, river, hills)
    parks = _parks(dem, hills, river_area)
    population = _population(city, to_metric, west, north, east, south, boundary, river_area, parks)

    def lonlat(geom) -> MultiPolygon:
        geom = shapely.transform(geom, lambda xy: np.column_stack(to_lonlat.transform(*xy.T)))
        return geom if isinstance(geom, MultiPolygon) else MultiPolygon([geom])

    areas = [Area(_RIVER_NAME, "water", lonlat(river_area.intersection(_box(west, south, east, north))))]
    areas += [Area(name, kind, lonlat(geom)) for name, kind, geom in parks]
    return Landscape(dem, population, areas)


def _box(west, south, east, north) -> Polygon:
    return shapely.box(west, south, east, north)


def _river(rng, west, south, east, north) -> LineString:
    """A meandering river across the map from west to east, in the southern half (like the Shenzhen River)."""
    x = np.linspace(west - 100, east + 100, 200)
    height = north - south
    phase = rng.uniform(0, 2 * np.pi)
    base = south + height * rng.uniform(0.25, 0.4)
    y = base + height * 0.08 * np.sin(phase + (x - west) / (east - west) * 2.6 * np.pi)
    return LineString(np.column_stack([x, y]))


def _hills(rng, west, south, east, north, river) -> list[tuple[float, float, float, float]]:
    """(x, y, height m, spread m) of a few hills, kept away from the river."""
    hills = []
    spread = max(east - west, north - south)
    while len(hills) < 4:
        x, y = rng.uniform(west, east), rng.uniform(south, north)
        if river.distance(shapely.Point(x, y)) < spread * 0.15:
            continue
        hills.append((x, y, rng.uniform(80, 260), rng.uniform(0.06, 0.12) * spread))
    return hills


def _centres(west, north, east, south, cell) -> tuple[np.ndarray, np.ndarray, Affine]:
    cols, rows = round((east - west) / cell), round((north - south) / cell)
    transform = Affine(cell, 0, west, 0, -cell, north)
    xs = west + (np.arange(cols) + 0.5) * cell
    ys = north - (np.arange(rows) + 0.5) * cell
    return np.meshgrid(xs, ys), transform


def _dem(west, north, east, south, river, hills) -> Grid:
    (gx, gy), transform = _centres(west, north, east, south, DEM_CELL_M)
    # A plain rising gently to the north, plus hills.
    z = 8.0 + 20.0 * (gy - south) / (north - south)
    for x, y, height, spread in hills:
        z += height * np.exp(-((gx - x) ** 2 + (gy - y) ** 2) / (2 * spread**2))
    # The valley: the land sinks towards the river, whose surface falls from 6 m (west) to 2 m (east).
    on_river = rasterio.features.geometry_mask([river], gx.shape, transform, all_touched=True, invert=True)
    distance = distance_transform_edt(~on_river) * DEM_CELL_M  # metres to the nearest river cell
    water_level = 6.0 - 4.0 * (gx - west) / (east - west)
    valley = 1.0 - np.exp(-((distance / 700.0) ** 2))
    z = water_level + (z - water_level) * valley
    return Grid(np.round(z, 2).astype(np.float32), transform)


def _parks(dem: Grid, hills, river_area) -> list[tuple[str, str, Polygon]]:
    """Hill tops become parks (woodland where steep and high), and the river banks a green belt."""
    parks = []
    for i, (x, y, height, spread) in enumerate(hills):
        top = shapely.Point(x, y).buffer(spread * 0.3, quad_segs=16)
        kind = "woodland" if height > 180 else "park"
        parks.append((_HILL_NAMES[i % len(_HILL_NAMES)], kind, top.difference(river_area)))
    belt = river_area.buffer(40.0).difference(river_area)
    parks.append(("滨河绿带", "park", belt))
    return [(name, kind, geom) for name, kind, geom in parks if not geom.is_empty]


def _population(city, to_metric, west, north, east, south, boundary, river_area, parks) -> Grid:
    """Persons per hectare: addresses per cell, smoothed over a few hundred metres, none on water or outside."""
    (gx, _gy), transform = _centres(west, north, east, south, POPULATION_CELL_M)
    rows, cols = gx.shape
    lon = np.array([a.point.x for a in city.addresses])
    lat = np.array([a.point.y for a in city.addresses])
    ax, ay = to_metric.transform(lon, lat)
    counts, _, _ = np.histogram2d(
        north - np.asarray(ay), np.asarray(ax) - west, bins=(rows, cols), range=((0, rows * 100.0), (0, cols * 100.0))
    )
    smooth = gaussian_filter(counts, sigma=1.5, mode="constant")
    people = smooth * PERSONS_PER_ADDRESS
    shape = (rows, cols)
    inside = rasterio.features.geometry_mask([boundary], shape, transform, invert=True)
    water = rasterio.features.geometry_mask([river_area], shape, transform, invert=True)
    green = rasterio.features.geometry_mask([geom for _, _, geom in parks], shape, transform, invert=True)
    people = np.where(inside & ~water, people, 0.0)
    people = np.where(green, people * 0.1, people)
    return Grid(np.round(people, 1).astype(np.float32), transform)
