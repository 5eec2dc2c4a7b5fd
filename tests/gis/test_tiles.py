"""Vector tiles from PostGIS: decoded here (minimal protobuf reader) and by GDAL's MVT driver; cache, roles, styles."""

import math

import pyogrio
import pyproj
import pytest
import shapely
from django.db import connection
from django.test.utils import CaptureQueriesContext
from shapely.geometry import box

from core.models import AdminArea
from dispatch.models import Station
from gis import tiles
from gis.models import Landcover, Road

from .mvt import decode

pytestmark = pytest.mark.django_db
TO_LONLAT = pyproj.Transformer.from_crs("EPSG:3857", "EPSG:4326", always_xy=True)
HALF = 20037508.342789244


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    return int((lon + 180) / 360 * n), int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)


def mercator_bounds(z, x, y):
    size = 2 * HALF / 2**z
    return -HALF + x * size, HALF - (y + 1) * size, -HALF + (x + 1) * size, HALF - y * size


def envelope(z, x, y, margin=0.0):
    """The tile as a WGS84 polygon, grown by `margin` of its size on each side."""
    west, south, east, north = mercator_bounds(z, x, y)
    grow = (east - west) * margin
    corners = box(west - grow, south - grow, east + grow, north + grow)
    return shapely.transform(corners, lambda xy: shapely.get_coordinates(shapely.points(*TO_LONLAT.transform(*xy.T))))


def _shape(geom):
    return shapely.from_wkb(bytes(geom.wkb))


@pytest.fixture
def fresh_tiles():
    """Tests that change data inside their (rolled back) transaction leave no cached tile of it behind."""
    yield
    tiles.bump(*tiles.all_tables())


def get_tile(client, layer, z, x, y, **headers):
    return client.get(f"/tiles/{layer}/{z}/{x}/{y}.pbf", **headers)


@pytest.mark.parametrize("z", [12, 14, 16])
def test_road_tiles_hold_exactly_the_roads_of_the_tile_with_their_attributes(api, z):
    client = api("planner")
    road = Road.objects.order_by("id")[len(Road.objects.all()) // 2]
    mid = _shape(road.geom).interpolate(0.5, normalized=True)
    x, y = tile_of(mid.x, mid.y, z)
    response = get_tile(client, "roads", z, x, y)
    assert response.status_code == 200 and response["Content-Type"] == tiles.MVT
    layer = decode(response.content)["roads"]
    assert layer["extent"] == 4096
    features = {f["id"]: f for f in layer["features"]}
    inside = {r.id for r in Road.objects.all() if _shape(r.geom).intersects(envelope(z, x, y))}
    near = {r.id for r in Road.objects.all() if _shape(r.geom).intersects(envelope(z, x, y, margin=64 / 4096))}
    assert inside <= set(features) <= near
    assert features[road.id]["type"] == "LineString"
    assert features[road.id]["properties"] == {
        "name": road.name,
        "road_class": road.road_class,
        "speed_kmh": road.speed_kmh,
        "oneway": road.oneway,
        "lanes": road.lanes,
    }


def test_a_point_lands_on_its_tile_pixel(api):
    station = Station.objects.order_by("id").first()
    z = 15
    x, y = tile_of(station.geom.x, station.geom.y, z)
    layer = decode(get_tile(api("operator"), "stations", z, x, y).content)["stations"]
    feature = next(f for f in layer["features"] if f["id"] == station.id)
    assert feature["properties"]["name"] == station.name
    assert feature["properties"]["agency_code"] == station.agency.code  # a foreign-key path of the allow-list
    west, south, east, north = mercator_bounds(z, x, y)
    mx, my = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True).transform(
        station.geom.x, station.geom.y
    )
    expected = ((mx - west) / (east - west) * 4096, (north - my) / (north - south) * 4096)
    px, py = feature["geometry"][0][0]
    assert px == pytest.approx(expected[0], abs=0.51) and py == pytest.approx(expected[1], abs=0.51)


def test_gdal_reads_our_tile_with_its_mvt_driver(api, tmp_path):
    """An independent decoder: GDAL's MVT driver georeferences a .pbf from its z/x/y path."""
    district = AdminArea.objects.filter(level=AdminArea.Level.DISTRICT).order_by("code").first()
    point = _shape(district.geom).representative_point()
    z = 13
    x, y = tile_of(point.x, point.y, z)
    response = get_tile(api("planner"), "basemap", z, x, y)
    assert response.status_code == 200
    path = tmp_path / str(z) / str(x) / f"{y}.pbf"
    path.parent.mkdir(parents=True)
    path.write_bytes(response.content)
    names = {name for name, _ in pyogrio.list_layers(path)}
    assert {"roads", "districts", "districts-labels"} <= names
    labels = pyogrio.read_dataframe(path, layer="districts-labels")
    assert set(labels["name"]) <= set(AdminArea.objects.filter(level="district").values_list("name", flat=True))
    roads = pyogrio.read_dataframe(path, layer="roads", CLIP="NO")  # keep features in the tile buffer too
    assert len(roads) == len(decode(response.content)["roads"]["features"])
    assert roads.total_bounds[0] >= envelope(z, x, y, 0.1).bounds[0]


def test_basemap_tiles_bundle_water_green_boundaries_roads_and_label_points(api):
    water = Landcover.objects.filter(kind="water").first()
    point = _shape(water.geom).representative_point()
    x, y = tile_of(point.x, point.y, 13)
    layers = decode(get_tile(api("planner"), "basemap", 13, x, y).content)
    assert {"water", "roads", "districts"} <= set(layers)
    assert water.id in {f["id"] for f in layers["water"]["features"]}
    assert all(f["type"] == "Polygon" for f in layers["water"]["features"])
    for name in ("districts-labels", "streets-labels"):
        assert all(
            f["type"] == "Point" and f["properties"]["name"] for f in layers.get(name, {"features": []})["features"]
        )


def test_empty_tiles_and_min_zoom(api):
    client = api("planner")
    assert get_tile(client, "roads", 14, 0, 0).status_code == 204
    address_x, address_y = tile_of(114.05, 22.54, 12)
    assert get_tile(client, "addresses", 12, address_x, address_y).status_code == 204  # below its min zoom 14


def test_roles_decide_who_reads_a_layer(client, api):
    x, y = tile_of(114.05, 22.54, 12)
    assert get_tile(client, "roads", 12, x, y).status_code == 403  # anonymous
    assert get_tile(api("inspector"), "water-pipes", 12, x, y).status_code == 404  # not revealed
    assert get_tile(api("planner"), "water-pipes", 12, x, y).status_code in (200, 204)
    assert get_tile(api("planner"), "no-such-layer", 12, x, y).status_code == 404
    assert get_tile(api("inspector"), "vehicles", 12, x, y).status_code == 404
    bad = get_tile(api("planner"), "roads", 12, 2**12, 0)
    assert bad.status_code == 400 and bad.json()["field"] == "x/y"


def test_signing_out_stops_tiles_at_once(api):
    """Tile requests remember a verified user for a few seconds; a signed-out session is refused all the same."""
    client = api("planner")
    x, y = tile_of(114.05, 22.54, 12)
    assert get_tile(client, "roads", 12, x, y).status_code == 200
    client.logout()
    assert get_tile(client, "roads", 12, x, y).status_code == 403


def test_a_basemap_tile_is_one_statement_and_then_served_from_the_cache(api, fresh_tiles):
    """Nine layers, one SQL statement; no user query per tile (whatever the session engine reads)."""
    client = api("planner")
    x, y = tile_of(114.05, 22.54, 13)
    tiles.bump(*tiles.all_tables())
    get_tile(client, "roads", 12, x // 2, y // 2)  # the planner's session and user are now known to this process
    with CaptureQueriesContext(connection) as rendering:
        rendered = get_tile(client, "basemap", 13, x, y)
    with CaptureQueriesContext(connection) as caching:
        cached = get_tile(client, "basemap", 13, x, y)
    assert [q["sql"].count("ST_AsMVT(") for q in rendering.captured_queries if "ST_AsMVT" in q["sql"]] == [9]
    assert not [q for q in caching.captured_queries if "ST_AsMVT" in q["sql"]]
    assert not [q for q in rendering.captured_queries + caching.captured_queries if "core_user" in q["sql"]]
    assert rendered.status_code == cached.status_code == 200
    assert cached.content == rendered.content and cached["ETag"] == rendered["ETag"]
    assert {"water", "roads", "districts"} <= set(decode(rendered.content))


def test_cache_serves_until_the_data_changes(api, fresh_tiles, django_capture_on_commit_callbacks):
    client = api("planner")
    road = Road.objects.filter(road_class="arterial").order_by("id").first()
    mid = _shape(road.geom).interpolate(0.5, normalized=True)
    x, y = tile_of(mid.x, mid.y, 15)

    def name_in_tile():
        response = get_tile(client, "roads", 15, x, y)
        feature = next(f for f in decode(response.content)["roads"]["features"] if f["id"] == road.id)
        return feature["properties"]["name"], response

    first_name, first = name_in_tile()
    assert first_name == road.name
    assert "private" in first["Cache-Control"] and first["ETag"]
    assert get_tile(client, "roads", 15, x, y, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304

    # A bulk update sends no signal: the cached tile is still served (this is how we see the cache at work) …
    Road.objects.filter(pk=road.pk).update(name="缓存测试路")
    assert name_in_tile()[0] == road.name
    # … until the writer says the data changed.
    with django_capture_on_commit_callbacks(execute=True):
        tiles.data_changed(Road)
    renamed, second = name_in_tile()
    assert renamed == "缓存测试路" and second["ETag"] != first["ETag"]

    # Saving through the ORM invalidates by itself (post_save → bump after commit).
    road.refresh_from_db()
    road.name = "信号测试路"
    with django_capture_on_commit_callbacks(execute=True):
        road.save()
    assert name_in_tile()[0] == "信号测试路"


def test_a_change_to_a_related_table_invalidates_tiles_that_show_it(
    api, fresh_tiles, django_capture_on_commit_callbacks
):
    client = api("operator")
    station = Station.objects.order_by("id").first()
    x, y = tile_of(station.geom.x, station.geom.y, 15)
    before = decode(get_tile(client, "stations", 15, x, y).content)["stations"]["features"]
    assert station.agency.code in {f["properties"]["agency_code"] for f in before}
    agency = station.agency
    agency.code = agency.code + "X"
    with django_capture_on_commit_callbacks(execute=True):
        agency.save()
    after = decode(get_tile(client, "stations", 15, x, y).content)["stations"]["features"]
    assert agency.code in {f["properties"]["agency_code"] for f in after}


def test_live_layers_are_never_cached(api):
    x, y = tile_of(114.05, 22.54, 12)
    response = get_tile(api("operator"), "vehicles", 12, x, y)
    assert response.status_code in (200, 204)
    assert response["Cache-Control"] == "private, max-age=0"


def test_tile_sql_binds_every_value():
    layer = tiles.TileLayer(tiles.layers.get("addresses"))
    sql, params = tiles.tile_sql(layer, 14, 13382, 7138)
    assert "13382" not in sql and "addresses" not in sql
    assert params[:4] == ["addresses", 14, 13382, 7138]


@pytest.mark.parametrize("name", ["basemap", "basemap-dark"])
def test_styles_are_served_locally_and_need_no_glyphs(api, client, user_for, name):
    assert client.get(f"/tiles/styles/{name}.json").status_code == 403
    style = api("operator").get(f"/tiles/styles/{name}.json").json()
    assert style["version"] == 8 and "glyphs" not in style and "sprite" not in style
    (source,) = style["sources"].values()
    assert source["tiles"] == ["http://testserver/tiles/basemap/{z}/{x}/{y}.pbf"]
    source_layers = {layer.get("source-layer") for layer in style["layers"]} - {None}
    assert source_layers <= {tile_layer.name for tile_layer in tiles.tile_layers("basemap", user_for("operator"))}
    assert api("operator").get("/tiles/styles/nope.json").status_code == 404
