"""The coordinate service: one API between WGS84, CGCS2000, GCJ-02, BD-09 and projected CRSs."""

import prcoords
import pyproj
import pytest

pytestmark = pytest.mark.django_db
GEOD = pyproj.Geod(ellps="WGS84")


def convert(client, geometry, source, target):
    response = client.post(
        "/api/gis/transform/", {"geometry": geometry, "source_crs": source, "target_crs": target}, format="json"
    )
    assert response.status_code == 200, response.content
    return response.json()["geometry"]


def test_gauss_kruger_zone_has_its_central_meridian_at_easting_500000(api):
    client = api("planner")
    point = convert(client, {"type": "Point", "coordinates": [114.0, 22.54]}, "wgs84", "EPSG:4547")
    assert point["coordinates"][0] == pytest.approx(500_000.0, abs=1e-6)
    back = convert(client, point, "EPSG:4547", "cgcs2000")
    assert back["coordinates"] == pytest.approx([114.0, 22.54], abs=1e-9)


@pytest.mark.parametrize(("crs", "forward"), [("gcj02", prcoords.wgs_gcj), ("bd09", prcoords.wgs_bd)])
def test_offset_systems_match_the_published_formula_and_round_trip_to_a_centimetre(api, crs, forward):
    client = api("planner")
    lon, lat = 114.0578, 22.5431  # Futian, Shenzhen
    shifted = convert(client, {"type": "Point", "coordinates": [lon, lat]}, "wgs84", crs)["coordinates"]
    expected = forward(prcoords.Coords(lat, lon))
    assert shifted == pytest.approx([expected.lon, expected.lat], abs=1e-12)
    assert 200 < GEOD.inv(lon, lat, *shifted)[2] < 1500  # hundreds of metres, as published
    back = convert(client, {"type": "Point", "coordinates": shifted}, crs, "wgs84")["coordinates"]
    assert GEOD.inv(lon, lat, *back)[2] < 0.01


def test_polygons_keep_their_shape_and_bad_crs_is_a_400(api):
    client = api("planner")
    ring = [[114.0, 22.5], [114.1, 22.5], [114.1, 22.6], [114.0, 22.5]]
    polygon = convert(client, {"type": "Polygon", "coordinates": [ring]}, "wgs84", "gcj02")
    assert polygon["type"] == "Polygon" and len(polygon["coordinates"][0]) == 4
    bad = client.post(
        "/api/gis/transform/",
        {"geometry": {"type": "Point", "coordinates": [114, 22]}, "target_crs": "mars"},
        format="json",
    )
    assert bad.status_code == 400 and bad.json()["field"] == "crs"
