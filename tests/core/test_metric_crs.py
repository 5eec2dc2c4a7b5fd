"""The city's metric CRS comes from its profile: a city set up in Helsinki (ETRS-TM35FIN, EPSG:3067) gets pipe
lengths, burst distances, lengths and areas per zone and unit-grid areas worked out in that CRS, equal to pyproj
and shapely on the same coordinates (in the demo's CGCS2000 zone at 114°E, Helsinki would be thousands of km
off its central meridian and every figure wrong)."""

import io
import json

import numpy as np
import pyproj
import pytest
import shapely
from django.conf import settings
from django.contrib.gis.geos import GEOSGeometry, MultiPolygon, Point
from django.db.models import Max
from shapely.geometry import mapping
from shapely.ops import split

from core.models import AdminArea, CityProfile
from core.selectors import metric_srid
from gis.models import Road
from grid import importers as grid_importers
from grid.models import UnitGrid
from pipelines_mgmt import selectors as pipeline_selectors
from pipelines_mgmt.models import Network, Pipe

pytestmark = pytest.mark.django_db
HELSINKI_SRID = 3067
TO_METRIC = pyproj.Transformer.from_crs(4326, HELSINKI_SRID, always_xy=True)
TO_WGS84 = pyproj.Transformer.from_crs(HELSINKI_SRID, 4326, always_xy=True)
ORIGIN = (385_000.0, 6_672_000.0)  # central Helsinki in EPSG:3067


def lonlat(x: float, y: float) -> tuple[float, float]:
    """A point given in metres east and north of ORIGIN, in WGS84."""
    return TO_WGS84.transform(ORIGIN[0] + x, ORIGIN[1] + y)


def metric(geometry: shapely.Geometry) -> shapely.Geometry:
    """A WGS84 shapely geometry in EPSG:3067, converted by pyproj (what the server must agree with)."""
    return shapely.transform(geometry, lambda xy: np.column_stack(TO_METRIC.transform(xy[:, 0], xy[:, 1])))


def square(west: float, south: float, east: float, north: float) -> shapely.Polygon:
    """A square drawn in metres around ORIGIN, in WGS84 (its sides curve slightly in degrees: kept as corners)."""
    return shapely.Polygon([lonlat(west, south), lonlat(east, south), lonlat(east, north), lonlat(west, north)])


def geos(geometry: shapely.Geometry) -> GEOSGeometry:
    return GEOSGeometry(geometry.wkt, srid=4326)


@pytest.fixture
def helsinki(demo_city):
    """The demo database's profile moved to Helsinki's projected CRS (rolled back after the test)."""
    profile = CityProfile.objects.get()
    profile.projected_srid = HELSINKI_SRID
    profile.save()
    return profile


def test_the_metric_crs_is_the_profiles_kept_until_the_profile_changes(client, demo_city):
    assert metric_srid() == 4547  # the demo city's CGCS2000 zone
    CityProfile.objects.update(projected_srid=HELSINKI_SRID)  # no save signal, as from another process
    assert metric_srid() == 4547  # kept in this process …
    client.get("/livez")
    assert metric_srid() == HELSINKI_SRID  # … until its next request
    profile = CityProfile.objects.get()
    profile.projected_srid = 3857
    profile.save()
    assert metric_srid() == 3857  # a save in this process: at once
    profile.delete()
    assert metric_srid() == settings.CITYOPS_METRIC_SRID  # no city yet: the deployment's setting


def test_pipe_lengths_and_burst_distances_are_measured_in_the_citys_crs(api, helsinki):
    lines = [[(0, 0), (120, 0)], [(120, 0), (120, 80), (200, 80)]]
    features = [
        {
            "type": "Feature",
            "properties": {"code": f"H{i}"},
            "geometry": mapping(shapely.LineString([lonlat(x, y) for x, y in c])),
        }
        for i, c in enumerate(lines)
    ]
    source = {"type": "Feature", "properties": {"kind": "source"}, "geometry": mapping(shapely.Point(lonlat(0, 0)))}
    features.append(source)
    upload = io.BytesIO(json.dumps({"type": "FeatureCollection", "features": features}).encode())
    upload.name = "helsinki.geojson"
    response = api("admin").post(
        "/api/pipelines/networks/import/",
        {"code": "hki", "utility": "water", "owner": "SZ-WATER-GROUP", "file": upload},
        format="multipart",
    )
    assert response.status_code == 201, response.json()
    network = Network.objects.get(code="hki")
    lengths = dict(Pipe.objects.filter(network=network).values_list("code", "length_m"))
    assert lengths == {"H0": pytest.approx(120, abs=0.01), "H1": pytest.approx(160, abs=0.01)}

    burst = pipeline_selectors.locate_burst(network, point=Point(*lonlat(60, 7.5), srid=4326), tolerance_m=10)
    assert burst.pipe.code == "H0" and burst.distance_m == pytest.approx(7.5, abs=0.001)
    on_pipe = TO_METRIC.transform(burst.point.x, burst.point.y)
    assert on_pipe == pytest.approx((ORIGIN[0] + 60, ORIGIN[1]), abs=0.001)


@pytest.fixture
def districts(helsinki):
    """Two 1 km districts side by side in Helsinki, and a community (one unit grid to cut) in the western one."""
    city = helsinki.boundary
    west = AdminArea.objects.create(
        code="990001", name="W", level="district", parent=city, geom=MultiPolygon(geos(square(0, 0, 1000, 1000)))
    )
    AdminArea.objects.create(
        code="990002", name="E", level="district", parent=city, geom=MultiPolygon(geos(square(1000, 0, 2000, 1000)))
    )
    street = AdminArea.objects.create(code="990001001", name="WS", level="street", parent=west, geom=west.geom)
    community = geos(square(100, 100, 400, 300))
    AdminArea.objects.create(
        code="990001001001", name="WC", level="community", parent=street, geom=MultiPolygon(community)
    )
    return west


def test_lengths_per_district_are_measured_in_the_citys_crs(api, districts):
    next_id = (Road.objects.aggregate(m=Max("id"))["m"] or 0) + 1  # the demo inserts explicit ids
    line = shapely.LineString([lonlat(200, 500), lonlat(1500, 520)])
    Road.objects.create(id=next_id, name="HKI-1", road_class="arterial", speed_kmh=40, lanes=2, geom=geos(line))
    response = api("planner").get("/api/gis/layers/roads/stats/", {"by": "district", "filter": "name = 'HKI-1'"})
    assert response.status_code == 200, response.content
    by_code = {zone["code"]: zone["length_m"] for zone in response.json()["zones"]}
    middle = shapely.LineString([lonlat(1000, -10), lonlat(1000, 1010)])
    west_part, east_part = split(line, middle).geoms
    assert by_code == {  # the API gives tenths of a metre
        "990001": pytest.approx(metric(west_part).length, abs=0.1),
        "990002": pytest.approx(metric(east_part).length, abs=0.1),
    }


def test_unit_grid_areas_are_measured_in_the_citys_crs(districts):
    assert grid_importers.build_unit_grids(target_m2=20_000, community_codes=["990001001001"]) > 1
    areas = list(UnitGrid.objects.filter(community__code="990001001001").values_list("area_m2", "geom"))
    for area, geom in areas:
        assert area == pytest.approx(metric(shapely.from_wkt(geom.wkt)).area, rel=1e-6)
    assert sum(area for area, _ in areas) == pytest.approx(300 * 200, rel=1e-6)
