"""Rasters: exact values on a grid written here, the demo city's DEM and population, the API and PNG tiles."""

import io
import math

import numpy as np
import pyproj
import pytest
import rasterio
from affine import Affine
from PIL import Image
from shapely import LineString, Polygon

from core.models import AdminArea
from gis import rasters

CRS = "EPSG:4547"
ORIGIN = (500_000.0, 2_494_000.0)  # west, north of the test grid (CGCS2000 GK CM 114°E ≈ 114.0°E, 22.5°N)
CELL = 100.0
TO_LONLAT = pyproj.Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)


def centre(row: int, col: int) -> tuple[float, float]:
    """WGS84 lon/lat of the centre of a test-grid cell."""
    return TO_LONLAT.transform(ORIGIN[0] + (col + 0.5) * CELL, ORIGIN[1] - (row + 0.5) * CELL)


@pytest.fixture
def grid(settings, tmp_path):
    """A 3×4 'dem' of values 10·row + col, with nodata at (2, 3), in a private raster directory."""
    settings.VAR_DIR = tmp_path
    array = np.array([[0, 1, 2, 3], [10, 11, 12, 13], [20, 21, 22, -9999]], dtype=np.float32)
    rasters.write("dem", array, Affine(CELL, 0, ORIGIN[0], 0, -CELL, ORIGIN[1]), CRS, -9999)
    return array


def test_the_file_is_a_cloud_optimized_geotiff(grid):
    with rasterio.open(rasters.path_of("dem")) as src:
        assert src.driver == "GTiff" and src.crs.to_epsg() == 4547 and src.nodata == -9999
        assert src.profile["tiled"] and src.profile["compress"] == "deflate"
        assert src.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"


def test_value_at_cell_centres_edges_and_nodata(grid):
    for row in range(3):
        for col in range(4):
            expected = None if (row, col) == (2, 3) else 10 * row + col
            assert rasters.value_at("dem", *centre(row, col)) == expected
    west_edge = TO_LONLAT.transform(ORIGIN[0] - 1, ORIGIN[1] - 50)
    assert rasters.value_at("dem", *west_edge) is None
    assert rasters.value_at("dem", 0.0, 0.0) is None


def test_profile_samples_every_step_and_the_end(grid):
    line = LineString([centre(1, 0), centre(1, 3)])  # 300 m along row 1
    samples = rasters.profile("dem", line, 100)
    assert [d for d, _ in samples] == pytest.approx([0, 100, 200, 300], abs=1e-4)
    assert [v for _, v in samples] == [10, 11, 12, 13]
    uneven = rasters.profile("dem", LineString([centre(0, 0), centre(2, 0)]), 150)  # 200 m down column 0
    assert [d for d, _ in uneven] == pytest.approx([0, 150, 200], abs=1e-4)
    assert [v for _, v in uneven] == [0, 20, 20]
    crossing_nodata = rasters.profile("dem", LineString([centre(2, 2), centre(2, 3)]), 100)
    assert [v for _, v in crossing_nodata] == [22, None]


def test_zonal_stats_count_cells_whose_centre_is_inside(grid):
    def around(cells):
        rows, cols = zip(*cells, strict=True)
        x0, x1 = ORIGIN[0] + min(cols) * CELL + 10, ORIGIN[0] + (max(cols) + 1) * CELL - 10
        y1, y0 = ORIGIN[1] - min(rows) * CELL - 10, ORIGIN[1] - (max(rows) + 1) * CELL + 10
        return Polygon([TO_LONLAT.transform(x, y) for x, y in [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]])

    stats = rasters.zonal_stats("dem", around([(0, 1), (1, 2)]))  # cells (0,1) (0,2) (1,1) (1,2)
    assert stats == {"sum": 1 + 2 + 11 + 12, "mean": 6.5, "min": 1, "max": 12, "count": 4}
    with_nodata = rasters.zonal_stats("dem", around([(1, 2), (2, 3)]))  # (2,3) is nodata
    assert with_nodata == {"sum": 12 + 13 + 22, "mean": 47 / 3, "min": 12, "max": 22, "count": 3}
    far = Polygon([(10, 10), (10.1, 10), (10.1, 10.1)])
    assert rasters.zonal_stats("dem", far) == {"sum": 0.0, "mean": None, "min": None, "max": None, "count": 0}


def test_a_circle_around_a_point_uses_metres(grid):
    lon, lat = centre(1, 1)
    assert rasters.zonal_stats("dem", rasters.buffer_m(lon, lat, 60, "dem"))["count"] == 1
    # 110 m reaches the centres of the 4 edge neighbours (100 m) but not the diagonals (141 m).
    assert rasters.zonal_stats("dem", rasters.buffer_m(lon, lat, 110, "dem")) == {
        "sum": 11 + 1 + 21 + 10 + 12,
        "mean": 11.0,
        "min": 1,
        "max": 21,
        "count": 5,
    }


def test_render_tile_colours_values_by_the_ramp(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    # 20 m everywhere over a square around 114.05°E 22.54°N: exactly a ramp stop (#5f9e5a).
    array = np.full((200, 200), 20, dtype=np.float32)
    rasters.write("dem", array, Affine(50, 0, 500_000, 0, -50, 2_500_000), CRS, -9999)
    lon, lat = TO_LONLAT.transform(505_000, 2_495_000)
    z = 14
    x = int((lon + 180) / 360 * 2**z)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * 2**z)
    image = Image.open(io.BytesIO(rasters.render_tile("dem", z, x, y)))
    assert image.size == (256, 256) and image.mode == "RGBA"
    assert image.getpixel((128, 128)) == (0x5F, 0x9E, 0x5A, 200)
    assert rasters.render_tile("dem", z, 0, 0) is None


# ------------------------------------------------------------------------------- demo city + API


@pytest.mark.django_db
def test_the_demo_city_has_hills_a_river_valley_and_people_where_the_addresses_are(demo_city):
    dem = rasters._load("dem").array
    assert np.nanmin(dem) >= 1.5 and np.nanmax(dem) > 100  # a river at 2-6 m, hills above 100 m
    people = rasters._load("population").array
    city = AdminArea.objects.get(level=AdminArea.Level.CITY)
    inside = rasters.zonal_stats("population", _shape(city.geom))
    assert inside["sum"] == pytest.approx(float(np.nansum(people)), rel=0.02)  # nobody lives outside the city
    assert inside["max"] > 20


def _shape(geom):
    import shapely

    return shapely.from_wkb(bytes(geom.wkb))


@pytest.mark.django_db
def test_api_point_value_profile_and_zonal_statistics(api, demo_city):
    client = api("planner")
    listing = client.get("/api/gis/rasters/").json()["rasters"]
    assert [(r["name"], r["available"]) for r in listing] == [("dem", True), ("population", True), ("imagery", False)]

    lon, lat = 114.05, 22.54
    body = client.get(f"/api/gis/rasters/dem/value/?lon={lon}&lat={lat}").json()
    assert body["value"] == rasters.value_at("dem", lon, lat) and body["unit"] == "m"

    line = {"type": "LineString", "coordinates": [[114.04, 22.53], [114.06, 22.55]]}
    profile = client.post("/api/gis/rasters/dem/profile/", {"line": line, "step_m": 250}, format="json").json()
    expected = rasters.profile("dem", LineString(line["coordinates"]), 250)
    assert [(p["distance_m"], p["value"]) for p in profile["points"]] == expected

    zones = client.get("/api/gis/rasters/population/zonal/?layer=districts").json()["zones"]
    districts = AdminArea.objects.filter(level=AdminArea.Level.DISTRICT).order_by("id")
    assert [z["code"] for z in zones] == [d.code for d in districts]
    for zone, district in zip(zones, districts, strict=True):
        assert zone["sum"] == rasters.zonal_stats("population", _shape(district.geom))["sum"] > 0

    circle = client.get(f"/api/gis/rasters/population/zonal/?lon={lon}&lat={lat}&radius_m=300").json()
    assert circle["sum"] == rasters.zonal_stats("population", rasters.buffer_m(lon, lat, 300, "population"))["sum"]
    polygon = {"type": "Polygon", "coordinates": [[[114.04, 22.53], [114.06, 22.53], [114.06, 22.55], [114.04, 22.53]]]}
    posted = client.post("/api/gis/rasters/population/zonal/", {"geometry": polygon}, format="json").json()
    assert (
        posted["count"] > 0
        and posted["sum"] == rasters.zonal_stats("population", Polygon(polygon["coordinates"][0]))["sum"]
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "url", "data", "field"),
    [
        ("get", "/api/gis/rasters/nope/value/?lon=114&lat=22", None, "name"),
        ("get", "/api/gis/rasters/dem/value/?lon=abc&lat=22", None, "lon/lat"),
        ("get", "/api/gis/rasters/dem/value/?lon=114&lat=22&crs=mars", None, "crs"),
        ("post", "/api/gis/rasters/dem/profile/", {"line": {"type": "Point", "coordinates": [114, 22]}}, "line"),
        (
            "post",
            "/api/gis/rasters/dem/profile/",
            {"line": {"type": "LineString", "coordinates": [[114, 22], [114.1, 22]]}, "step_m": 1e-9},
            "step_m",
        ),
        ("get", "/api/gis/rasters/population/zonal/?layer=planet", None, "layer"),
        ("get", "/api/gis/rasters/population/zonal/?layer=roads", None, "layer"),
        ("get", "/api/gis/rasters/population/zonal/?layer=water-pipes", None, "layer"),
        ("get", "/api/gis/rasters/population/zonal/?lon=114.05&lat=22.54&radius_m=-5", None, "radius_m"),
        (
            "post",
            "/api/gis/rasters/population/zonal/",
            {"geometry": {"type": "Point", "coordinates": [114, 22]}},
            "geometry",
        ),
    ],
)
def test_api_bad_input_is_a_400_naming_the_field(api, demo_city, method, url, data, field):
    response = getattr(api("planner"), method)(url, data, format="json")
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["error"] == "invalid_input"
    assert body.get("field") == field or field in str(body["detail"])


@pytest.mark.django_db
def test_raster_tiles_are_png_for_signed_in_users_only(client, api, demo_city):
    lon, lat, z = 114.05, 22.54, 13
    x = int((lon + 180) / 360 * 2**z)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * 2**z)
    url = f"/tiles/raster/population/{z}/{x}/{y}.png"
    assert client.get(url).status_code == 403
    planner = api("planner")
    response = planner.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert Image.open(io.BytesIO(response.content)).size == (256, 256)
    assert planner.get(url, HTTP_IF_NONE_MATCH=response["ETag"]).status_code == 304
    assert planner.get(f"/tiles/raster/population/{z}/0/0.png").status_code == 204
    assert planner.get(f"/tiles/raster/population/{z}/{2**z}/0.png").status_code == 400
    assert planner.get(f"/tiles/raster/nope/{z}/{x}/{y}.png").status_code == 400
