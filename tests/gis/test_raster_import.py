"""GeoTIFF upload of a city's DEM and imagery: written here with rasterio, through the real gate and API, stored as
COGs that the profile, zonal statistics and tiles read; files that lie about themselves are refused by their header."""

import io
import math

import numpy as np
import pyproj
import pytest
import rasterio
from affine import Affine
from django.core.files import File
from PIL import Image
from rasterio.io import MemoryFile
from shapely import LineString, Polygon

from gis import importing, rasters

pytestmark = pytest.mark.django_db
ZONE = "EPSG:4547"
WEST, NORTH, CELL = 500_000.0, 2_494_000.0, 10.0  # a grid inside the demo city, metres in the zone
TO_LONLAT = pyproj.Transformer.from_crs(ZONE, "EPSG:4326", always_xy=True)


@pytest.fixture(autouse=True)
def private_rasters(settings, tmp_path):
    """Uploads replace rasters: keep them out of the demo city's raster folder."""
    settings.VAR_DIR = tmp_path


def geotiff(array: np.ndarray, transform: Affine, crs: str | None, **profile) -> bytes:
    bands = array if array.ndim == 3 else array[None]
    with MemoryFile() as memory:
        options = {"driver": "GTiff", "count": len(bands), "height": bands.shape[1], "width": bands.shape[2]}
        with memory.open(**options, dtype=bands.dtype, crs=crs, transform=transform, **profile) as dst:
            dst.write(bands)
        return memory.read()


def named(name: str, content: bytes) -> io.BytesIO:
    handle = io.BytesIO(content)
    handle.name = name
    return handle


def upload(client, raster: str, name: str, content: bytes, **fields):
    return client.post(
        f"/api/gis/imports/rasters/{raster}/", {"file": named(name, content)} | fields, format="multipart"
    )


def cell_centre(row: int, col: int) -> tuple[float, float]:
    return TO_LONLAT.transform(WEST + (col + 0.5) * CELL, NORTH - (row + 0.5) * CELL)


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    return int((lon + 180) / 360 * 2**z), int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * 2**z)


def test_a_dem_upload_is_a_cog_with_its_profile_zonal_statistics_and_tiles(api, demo_city):
    rows, cols = np.mgrid[0:300, 0:400]
    dem = (2.0 * rows + 0.5 * cols).astype(np.float32)  # metres; 30 000 cells
    dem[0, 0] = -32768
    content = geotiff(dem, Affine(CELL, 0, WEST, 0, -CELL, NORTH), ZONE, nodata=-32768, compress="deflate")
    client = api("planner")
    response = client.post("/api/gis/imports/rasters/dem/", {"file": named("城区DEM.tif", content)}, format="multipart")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["name"], body["unit"], body["crs"], body["width"], body["height"], body["cell_size"]) == (
        "dem", "m", ZONE, 400, 300, CELL
    )  # fmt: skip
    with rasterio.open(rasters.path_of("dem")) as src:
        assert src.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG" and src.overviews(1)
    assert rasters.value_at("dem", *cell_centre(0, 0)) is None  # the file's nodata
    assert rasters.value_at("dem", *cell_centre(10, 20)) == 2 * 10 + 0.5 * 20

    line = {"type": "LineString", "coordinates": [cell_centre(50, 10), cell_centre(50, 110)]}  # 1 km east
    profile = client.post("/api/gis/rasters/dem/profile/", {"line": line, "step_m": 250}, format="json").json()
    assert [p["distance_m"] for p in profile["points"]] == pytest.approx([0, 250, 500, 750, 1000], abs=1e-3)
    assert [p["value"] for p in profile["points"]] == [100 + 0.5 * c for c in (10, 35, 60, 85, 110)]

    west, east, north, south = (
        WEST + 100 * CELL + 1,
        WEST + 110 * CELL - 1,
        NORTH - 100 * CELL - 1,
        NORTH - 110 * CELL + 1,
    )
    corners = [TO_LONLAT.transform(x, y) for x, y in ((west, north), (east, north), (east, south), (west, south))]
    zone = {"type": "Polygon", "coordinates": [[*corners, corners[0]]]}  # cells 100..109 × 100..109
    stats = client.post("/api/gis/rasters/dem/zonal/", {"geometry": zone}, format="json").json()
    expected = dem[100:110, 100:110]
    assert stats["count"] == 100 and stats["mean"] == pytest.approx(float(expected.mean()))
    assert (stats["min"], stats["max"]) == (float(expected.min()), float(expected.max()))

    x, y = tile_of(*cell_centre(150, 200), 15)
    tile = client.get(f"/tiles/raster/dem/15/{x}/{y}.png")
    assert tile.status_code == 200 and Image.open(io.BytesIO(tile.content)).size == (256, 256)


def test_a_dem_in_wgs84_is_warped_into_the_metric_crs(demo_city):
    lon0, lat0, step = 114.0, 22.55, 0.0005
    rows, cols = np.mgrid[0:200, 0:200]
    dem = (100 + rows - cols).astype(np.float32)  # bilinear resampling keeps a plane
    content = geotiff(dem, Affine(step, 0, lon0, 0, -step, lat0), "EPSG:4326")
    with importing.receive(File(io.BytesIO(content), name="srtm.tif"), importing.RASTER_FORMATS) as received:
        result = rasters.import_geotiff("dem", received)
    assert result["crs"] == "EPSG:4547"
    for row, col in [(50, 50), (120, 30), (150, 170)]:
        lon, lat = lon0 + (col + 0.5) * step, lat0 - (row + 0.5) * step
        assert rasters.value_at("dem", lon, lat) == pytest.approx(100 + row - col, abs=1.0)  # ≤ half a cell off


def test_imagery_is_stored_in_web_mercator_and_served_as_tiles(api, demo_city):
    lon0, lat0, step = 114.0, 22.55, 0.0001
    image = np.zeros((3, 600, 800), dtype=np.uint8)
    image[0, :, :400] = 220  # red west half
    image[2, :, 400:] = 200  # blue east half
    content = geotiff(image, Affine(step, 0, lon0, 0, -step, lat0), "EPSG:4326", photometric="RGB")
    progress = []
    with importing.receive(File(io.BytesIO(content), name="正射影像.tif"), importing.RASTER_FORMATS) as received:
        rasters.import_geotiff("imagery", received, progress=lambda done, total: progress.append((done, total)))
    assert progress[0] == (0, 2) and progress[-1] == (2, 2)
    with rasterio.open(rasters.path_of("imagery")) as src:
        assert src.crs.to_epsg() == 3857 and src.compression.name == "jpeg" and src.count == 3

    client = api("planner")
    z = 17
    for lon, colour in ((lon0 + 200 * step, (220, 0, 0)), (lon0 + 600 * step, (0, 0, 200))):
        x, y = tile_of(lon, lat0 - 300 * step, z)
        response = client.get(f"/tiles/raster/imagery/{z}/{x}/{y}.png")
        assert response.status_code == 200
        pixel = Image.open(io.BytesIO(response.content)).getpixel((128, 128))
        assert np.allclose(pixel[:3], colour, atol=12) and pixel[3] == 255
    x, y = tile_of(lon0 - 0.01, lat0, z)
    assert client.get(f"/tiles/raster/imagery/{z}/{x}/{y}.png").status_code == 204
    value = client.get(f"/api/gis/rasters/imagery/value/?lon={lon0 + 0.01}&lat={lat0 - 0.01}")
    assert value.status_code == 400 and "colours, not values" in value.json()["detail"]
    assert client.get("/api/gis/rasters/").json()["rasters"][2]["available"]


def sparse(width: int, height: int, count: int, dtype: str, crs=ZONE) -> bytes:
    """A tiled GeoTIFF that declares a size and holds no tile: the shape of a pixel bomb."""
    with MemoryFile() as memory:
        profile = {"driver": "GTiff", "width": width, "height": height, "count": count, "dtype": dtype}
        with memory.open(**profile, crs=crs, transform=Affine(1, 0, WEST, 0, -1, NORTH), tiled=True, sparse_ok=True):
            pass
        return memory.read()


@pytest.mark.parametrize(
    ("raster", "content", "fields", "fragment"),
    [
        ("dem", sparse(60_000, 60_000, 1, "float32"), {}, "declares 60000×60000 pixels; at most 25,000,000"),
        ("imagery", sparse(30_000, 30_000, 3, "uint8"), {}, "refused as a possible pixel bomb"),
        (
            "dem",
            geotiff(np.ones((20, 20), np.float32), Affine(CELL, 0, WEST, 0, -CELL, NORTH), "EPSG:4326"),
            {},
            "lie outside the area where EPSG:4326 is defined",
        ),
        (
            "dem",
            geotiff(np.ones((3, 20, 20), np.uint8), Affine(CELL, 0, WEST, 0, -CELL, NORTH), ZONE),
            {},
            "a dem has one band of numbers; dem.tif has 3 uint8 band(s)",
        ),
        (
            "imagery",
            geotiff(np.ones((20, 20), np.float32), Affine(CELL, 0, WEST, 0, -CELL, NORTH), ZONE),
            {},
            "imagery is 8-bit grey, RGB or RGBA",
        ),
        ("dem", geotiff(np.ones((20, 20), np.float32), Affine(CELL, 0, WEST, 0, -CELL, NORTH), None), {}, "no CRS"),
        ("dem", b"\x89PNG\r\n\x1a\n" + bytes(100), {}, "does not hold what it claims"),
        ("moon", geotiff(np.ones((20, 20), np.float32), Affine(CELL, 0, WEST, 0, -CELL, NORTH), ZONE), {}, "unknown"),
    ],
)
def test_rasters_are_refused_by_what_they_declare(api, demo_city, raster, content, fields, fragment):
    response = upload(api("planner"), raster, f"{raster}.tif", content, **fields)
    assert response.status_code == 400 and fragment in response.json()["detail"], response.json()
    assert not any(rasters.raster_dir().glob("*.tif"))  # no raster written, the imagery's no more than the dem's


def test_a_truncated_file_is_refused_and_the_old_raster_kept(api, demo_city):
    client = api("planner")
    good = geotiff(np.full((50, 50), 7, np.float32), Affine(CELL, 0, WEST, 0, -CELL, NORTH), ZONE)
    assert upload(client, "dem", "dem.tif", good).status_code == 201
    rows = np.random.default_rng(1).random((1500, 1500)).astype(np.float32)
    whole = geotiff(rows, Affine(CELL, 0, WEST, 0, -CELL, NORTH), ZONE, tiled=True)
    response = upload(client, "dem", "cut.tif", whole[: len(whole) // 2])
    assert response.status_code == 400 and "not a readable GeoTIFF" in response.json()["detail"]
    assert rasters.value_at("dem", *cell_centre(10, 10)) == 7


def test_a_file_without_crs_is_placed_by_the_given_one_and_only_importers_upload(api, demo_city):
    content = geotiff(np.full((20, 20), 3, np.float32), Affine(CELL, 0, WEST, 0, -CELL, NORTH), None)
    assert upload(api("operator"), "dem", "dem.tif", content, crs="EPSG:4547").status_code == 403
    response = upload(api("admin"), "dem", "dem.tif", content, crs="EPSG:4547")
    assert response.status_code == 201 and response.json()["crs"] == ZONE
    assert rasters.zonal_stats("dem", Polygon([cell_centre(0, 0), cell_centre(0, 5), cell_centre(5, 5)]))["max"] == 3
    assert rasters.profile("dem", LineString([cell_centre(1, 1), cell_centre(1, 9)]), 40)[-1][1] == 3
