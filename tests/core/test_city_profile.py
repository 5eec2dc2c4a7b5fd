"""The city profile: a city from data (boundary files, OSM boundary relations), its CRS and home view, the demo
city as one profile, and the places that must start from it (map pages, the boundary check, the CSP)."""

import html
import json
import math
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyproj
import pytest
import shapely
from django.contrib.gis.geos import MultiPolygon, Point, Polygon
from django.core.management import CommandError, call_command
from django.utils import translation

from core import city
from core.errors import InputError
from core.management.commands.load_demo_city import demo_modules
from core.models import AdminArea, CityProfile
from data import democity
from dispatch import services as dispatch_services
from dispatch.models import IncidentType

ROOT = Path(__file__).resolve().parents[2]
MAP_PAGES = ["/", "/wall/", "/dispatch/", "/planner/", "/leader/"]


# -- without a database --------------------------------------------------------------------------------------


@pytest.mark.parametrize("lon, srid", [(114.05, 4547), (116.40, 4548), (121.47, 4549), (75.0, 4534), (135.0, 4554)])
def test_a_chinese_city_gets_the_cgcs2000_zone_of_its_meridian(lon, srid):
    crs = pyproj.CRS.from_epsg(srid)
    meridian = next(p.value for p in crs.coordinate_operation.params if p.name == "Longitude of natural origin")
    assert crs.geodetic_crs.name == "China Geodetic Coordinate System 2000"
    assert city.cgcs2000_zone_srid(lon) == srid and abs(meridian - lon) <= 1.5


def test_no_cgcs2000_zone_outside_china():
    with pytest.raises(InputError, match="give the CRS"):
        city.cgcs2000_zone_srid(24.94)  # Helsinki


@pytest.mark.parametrize(
    "bounds", [(113.9, 22.45, 114.2, 22.65), (24.93, 60.16, 24.96, 60.18), (116.0, 39.6, 116.8, 40.2)]
)
def test_home_view_shows_the_whole_boundary_and_no_more_than_needed(bounds):
    lon, lat, zoom = city.home_view(bounds)
    to_mercator = pyproj.Transformer.from_crs(4326, 3857, always_xy=True)
    (x0, x1), (y0, y1) = to_mercator.transform([bounds[0], bounds[2]], [bounds[1], bounds[3]])
    metres_per_px = city.WEB_MERCATOR_WORLD_M / (512 * 2**zoom)
    width_px, height_px = (x1 - x0) / metres_per_px, (y1 - y0) / metres_per_px
    assert width_px <= city.VIEW_WIDTH_PX + 1 and height_px <= city.VIEW_HEIGHT_PX + 1
    assert max(width_px / city.VIEW_WIDTH_PX, height_px / city.VIEW_HEIGHT_PX) > 0.98  # one side fills the view
    assert (lon, lat) == pytest.approx(to_mercator.transform((x0 + x1) / 2, (y0 + y1) / 2, direction="INVERSE"))


def _square(lon, lat, half):
    return shapely.box(lon - half, lat - half, lon + half, lat + half)


def test_areas_from_a_projected_boundary_file_nest_by_containment_and_get_codes(tmp_path):
    """Districts in CGCS2000 / 3° zone 117°E with upper-case attribute names, as desktop GIS writes them; a street
    file with no codes; one street beyond the city is left out."""
    to_zone = pyproj.Transformer.from_crs(4326, 4548, always_xy=True)
    west, east = _square(116.30, 39.90, 0.05), _square(116.40, 39.90, 0.05)
    districts = gpd.GeoDataFrame(
        {"NAME": ["西区", "东区"], "CODE": ["110102", "110101"]},
        geometry=[shapely.transform(s, lambda xy: np.column_stack(to_zone.transform(*xy.T))) for s in (west, east)],
        crs=4548,
    )
    districts.to_file(tmp_path / "districts.gpkg")
    streets = gpd.GeoDataFrame(
        {"name": ["甲街道", "乙街道", "丙街道", "城外街道"]},
        geometry=[
            _square(116.28, 39.90, 0.01),
            _square(116.32, 39.92, 0.01),
            _square(116.41, 39.88, 0.01),
            _square(118.0, 39.9, 0.01),
        ],
        crs=4326,
    )
    streets.to_file(tmp_path / "streets.geojson")

    read = city.read_areas(tmp_path / "districts.gpkg", "district") + city.read_areas(
        tmp_path / "streets.geojson", "street"
    )
    whole = city.Area("某市", "city", shapely.union(west, east), code="110100")
    nested, outside = city.nest(whole, read)

    by_name = {a.name: a for a in nested}
    assert [a.name for a in outside] == ["城外街道"]
    assert [a.level for a in nested] == ["city", "district", "district", "street", "street", "street"]
    assert by_name["西区"].geometry.bounds == pytest.approx(west.bounds, abs=1e-6)  # read back to WGS84
    assert (by_name["东区"].code, by_name["东区"].parent_code) == ("110101", "110100")  # the file's codes kept
    assert by_name["甲街道"].parent_code == by_name["乙街道"].parent_code == "110102"
    assert by_name["丙街道"].parent_code == "110101"
    assert sorted(a.code for a in nested if a.level == "street") == ["110101001", "110102001", "110102002"]


def test_areas_without_codes_get_gb_t_2260_style_ones():
    whole = city.Area("某市", "city", _square(100, 30, 1), code="510100")
    areas = [
        city.Area("一区", "district", _square(99.5, 30, 0.4)),
        city.Area("一社区", "community", _square(99.5, 30, 0.1)),
    ]
    nested, _ = city.nest(whole, areas)
    assert [(a.code, a.parent_code) for a in nested] == [("510100", ""), ("510101", "510100"), ("510101001", "510101")]


def test_boundary_relations_of_an_osm_file_become_areas_at_their_admin_levels(tmp_path):
    """An OSM file (XML here; GDAL reads PBF the same way) with a city, a district and a ward relation, plus a
    closed way tagged as a boundary (not a relation) and a relation at a level not asked for."""

    def ring(first, lon0, lat0, lon1, lat1):
        corners = [(lon0, lat0), (lon1, lat0), (lon1, lat1), (lon0, lat1)]
        nodes = "".join(f'<node id="{first + i}" lat="{lat}" lon="{lon}"/>' for i, (lon, lat) in enumerate(corners))
        refs = "".join(f'<nd ref="{first + i}"/>' for i in [0, 1, 2, 3, 0])
        return nodes, f'<way id="{first}">{refs}</way>'

    def relation(rid, way, level, name):
        tags = {"type": "boundary", "boundary": "administrative", "admin_level": level, "name": name}
        body = "".join(f'<tag k="{k}" v="{v}"/>' for k, v in tags.items())
        return f'<relation id="{rid}"><member type="way" ref="{way}" role="outer"/>{body}</relation>'

    rings = [ring(10, 24.8, 60.1, 25.2, 60.3), ring(20, 24.85, 60.15, 25.0, 60.25), ring(30, 24.9, 60.2, 24.95, 60.22)]
    closed_way = ring(40, 24.81, 60.11, 24.82, 60.12)
    text = (
        '<?xml version="1.0" encoding="UTF-8"?><osm version="0.6">'
        + "".join(n for n, _ in [*rings, closed_way])
        + "".join(w for _, w in rings)
        + closed_way[1].replace("</way>", '<tag k="boundary" v="administrative"/><tag k="admin_level" v="9"/></way>')
        + relation(100, 10, 8, "Testby")
        + relation(200, 20, 9, "Keskusta")
        + relation(300, 30, 10, "Kamppi")
        + relation(400, 30, 11, "Block")
        + "</osm>"
    )
    (tmp_path / "city.osm").write_text(text)

    areas = city.read_osm_areas(tmp_path / "city.osm", {8: "city", 9: "district", 10: "street"})

    assert sorted((a.level, a.name) for a in areas) == [
        ("city", "Testby"),
        ("district", "Keskusta"),
        ("street", "Kamppi"),
    ]
    outline = next(a for a in areas if a.level == "city").geometry
    assert outline.bounds == pytest.approx((24.8, 60.1, 25.2, 60.3))
    nested, outside = city.nest(next(a for a in areas if a.level == "city"), [a for a in areas if a.level != "city"])
    assert [(a.name, a.parent_code) for a in nested[1:]] == [("Keskusta", "000000"), ("Kamppi", "000001")]
    assert outside == []


def test_nothing_outside_the_demo_knows_where_the_demo_city_is():
    """The demo city's place lives in its own generator and demo modules; every other file asks the profile."""
    demo_place = re.compile(r"114\.05|22\.54\b")
    folders = [
        "platform", "dispatch", "gis", "grid", "leader", "pipelines_mgmt", "notify", "resources", "duty", "emergency",
        "drills",
        "frontend/static/frontend",
    ]  # fmt: skip
    sources = [
        path
        for folder in [*folders, "frontend/templates"]
        for path in (ROOT / folder).rglob("*")
        if path.suffix in {".py", ".js", ".html"} and path.name != "demo.py" and "migrations" not in path.parts
    ]
    wrong = [str(p.relative_to(ROOT)) for p in sources if demo_place.search(p.read_text(encoding="utf-8"))]
    assert wrong == []


# -- on the database -----------------------------------------------------------------------------------------


@pytest.fixture
def no_city(demo_city):
    """The demo city cleared inside the test's transaction (rolled back afterwards): a fresh database's state."""
    for module in reversed(demo_modules()):
        module.clear_demo()
    assert not AdminArea.objects.exists()


@pytest.mark.django_db
def test_the_demo_city_is_one_profile(demo_city):
    profile = CityProfile.objects.get()
    assert profile.boundary == AdminArea.objects.get(level="city")
    assert (profile.country, profile.projected_srid) == ("CN", 4547)
    assert (profile.home_center.x, profile.home_center.y, profile.home_zoom) == (*democity.CENTRE_LONLAT, 12.0)


@pytest.mark.django_db
def test_setup_city_from_boundary_files_picks_the_cgcs2000_zone_and_a_home_view(no_city, tmp_path):
    outline = _square(116.40, 39.90, 0.1)
    gpd.GeoDataFrame({"name": ["某市"]}, geometry=[outline], crs=4326).to_file(tmp_path / "city.geojson")
    gpd.GeoDataFrame(
        {"名称": ["东城区", "西城区"]}, geometry=[_square(116.45, 39.9, 0.04), _square(116.35, 39.9, 0.04)], crs=4326
    ).to_file(tmp_path / "districts.geojson")

    call_command(
        "setup_city", "--name", "某市", "--code", "110100", "--boundary", str(tmp_path / "city.geojson"),
        "--areas", f"district={tmp_path / 'districts.geojson'}", "--name-field", "名称",
    )  # fmt: skip

    profile = CityProfile.objects.get()
    assert (profile.name, profile.country, profile.projected_srid) == ("某市", "CN", 4548)
    assert profile.boundary.code == "110100" and profile.boundary.geom.extent == pytest.approx(outline.bounds)
    assert sorted(profile.boundary.children.values_list("name", "code")) == [("东城区", "110101"), ("西城区", "110102")]
    lon, lat, zoom = city.home_view(outline.bounds)
    assert (profile.home_center.x, profile.home_center.y, profile.home_zoom) == pytest.approx((lon, lat, zoom))
    assert profile.base_layer_url == ""


@pytest.mark.django_db
def test_setup_city_refuses_a_second_city(demo_city, tmp_path):
    gpd.GeoDataFrame({"name": ["X"]}, geometry=[_square(100, 30, 0.1)], crs=4326).to_file(tmp_path / "x.geojson")
    with translation.override("en"), pytest.raises(CommandError, match="already set up"):
        call_command("setup_city", "--name", "X", "--boundary", str(tmp_path / "x.geojson"))
    assert CityProfile.objects.get().name == "深圳市"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "extra, says",
    [
        ([], "crs: give the projected CRS"),  # outside China, none given
        (["--crs", "EPSG:4326"], "not a projected CRS"),
        (["--crs", "EPSG:999999"], "not a known CRS"),
        (["--crs", "EPSG:3067", "--base-layer", "ftp://tiles/{z}/{x}/{y}.png"], "tile URL template"),
        (["--crs", "EPSG:3067", "--base-layer", "https://tiles.example/{z}/{x}.png"], "tile URL template"),
        (["--crs", "EPSG:3067", "--country", "FIN"], "ISO 3166-1"),
    ],
)
def test_setup_city_refuses_what_it_cannot_use_and_keeps_nothing(no_city, tmp_path, extra, says):
    gpd.GeoDataFrame({"name": ["Testby"]}, geometry=[_square(24.9, 60.2, 0.1)], crs=4326).to_file(tmp_path / "t.gpkg")
    with translation.override("en"), pytest.raises(CommandError, match=says):
        call_command(
            "setup_city", "--name", "Testby", "--boundary", str(tmp_path / "t.gpkg"), "--country", "FI", *extra
        )
    assert not AdminArea.objects.exists() and not CityProfile.objects.exists()


@pytest.mark.django_db
def test_setup_city_takes_a_given_home_view_and_base_layer(no_city, tmp_path):
    gpd.GeoDataFrame({"name": ["Testby"]}, geometry=[_square(24.9, 60.2, 0.1)], crs=4326).to_file(tmp_path / "t.gpkg")
    url = "https://tiles.intranet.example/wmts?layer=img&TileMatrix={z}&TileCol={x}&TileRow={y}"
    call_command(
        "setup_city", "--name", "Testby", "--boundary", str(tmp_path / "t.gpkg"), "--country", "fi",
        "--crs", "EPSG:3067", "--center", "24.95,60.21", "--zoom", "13.5", "--base-layer", url,
        "--base-layer-attribution", "© Testby",
    )  # fmt: skip
    profile = CityProfile.objects.get()
    assert (profile.country, profile.projected_srid) == ("FI", 3067)
    assert (profile.home_center.x, profile.home_center.y, profile.home_zoom) == (24.95, 60.21, 13.5)
    assert (profile.base_layer_url, profile.base_layer_attribution) == (url, "© Testby")


def _home_of(response) -> dict:
    assert response.status_code == 200
    found = re.search(r'id="map-controls"[^>]*data-home="([^"]*)"', response.content.decode())
    return json.loads(html.unescape(found.group(1)))


@pytest.mark.django_db
@pytest.mark.parametrize("path", MAP_PAGES)
def test_every_map_page_is_served_the_profile_home_view(client, user_for, path):
    client.force_login(user_for("admin"))
    profile = CityProfile.objects.get()
    home = _home_of(client.get(path))
    assert home["center"] == [profile.home_center.x, profile.home_center.y] and home["zoom"] == profile.home_zoom
    assert home["bounds"] == pytest.approx(list(profile.boundary.geom.extent)) and home["baseLayer"] is None


@pytest.mark.django_db
def test_a_base_layer_is_served_and_its_origin_alone_added_to_the_map_pages_policy(client, user_for):
    client.force_login(user_for("admin"))
    before = client.get("/wall/")["Content-Security-Policy"]
    CityProfile.objects.update(
        base_layer_url="http://tianditu.intranet:8080/img_w/wmts?TILEMATRIX={z}&TILECOL={x}&TILEROW={y}",
        base_layer_attribution="天地图",
    )
    response = client.get("/wall/")
    assert _home_of(response)["baseLayer"] == {
        "url": "http://tianditu.intranet:8080/img_w/wmts?TILEMATRIX={z}&TILECOL={x}&TILEROW={y}",
        "attribution": "天地图",
    }
    policy, usual = _directives(response["Content-Security-Policy"]), _directives(before)
    assert policy["img-src"] == [*usual["img-src"], "http://tianditu.intranet:8080"]
    assert policy["connect-src"] == [*usual["connect-src"], "http://tianditu.intranet:8080"]
    assert {k: v for k, v in policy.items() if k not in ("img-src", "connect-src")} == {
        k: v for k, v in usual.items() if k not in ("img-src", "connect-src")
    }


def _directives(header: str) -> dict[str, list[str]]:
    return {name: values for name, *values in (part.split() for part in header.split(";") if part.strip())}


@pytest.mark.django_db
def test_the_incident_boundary_check_is_the_profiles(demo_city, user_for):
    """Point the profile at another city-level area: the check follows it, not the first city area it finds."""
    fire = IncidentType.objects.get(code="119-FIRE-BUILDING")
    elsewhere = AdminArea.objects.create(
        code="999900", name="Testby", level="city", geom=MultiPolygon(Polygon.from_bbox((24.8, 60.1, 25.0, 60.3)))
    )
    CityProfile.objects.update(boundary=elsewhere)
    calltaker = user_for("calltaker")
    with translation.override("en"), pytest.raises(InputError, match="outside the city of Testby"):
        dispatch_services.create_incident(
            calltaker, incident_type=fire, point=Point(*democity.CENTRE_LONLAT, srid=4326)
        )
    incident = dispatch_services.create_incident(calltaker, incident_type=fire, point=Point(24.9, 60.2, srid=4326))
    assert incident.pk and math.isclose(incident.geom.x, 24.9)
