"""Coordinate input without a database: GeoJSON validation and the Chinese CRSs."""

import prcoords
import pytest
from pyproj import Transformer

from core.geo import GeometryInputError, from_wgs84, parse_crs, parse_geometry, parse_point

FUTIAN = (114.0579, 22.5431)


def test_wgs84_point_passes_through():
    geom = parse_point(*FUTIAN)
    assert geom.srid == 4326
    assert geom.coords == pytest.approx(FUTIAN)


@pytest.mark.parametrize("crs", ["gcj02", "bd09"])
def test_offset_systems_are_converted_back_to_wgs84(crs):
    shifted = from_wgs84(*FUTIAN, crs)
    # The offset is hundreds of metres (≈0.003–0.013°), so a missed conversion cannot pass.
    assert abs(shifted[0] - FUTIAN[0]) + abs(shifted[1] - FUTIAN[1]) > 0.003
    geom = parse_point(*shifted, crs=crs)
    assert geom.coords == pytest.approx(FUTIAN, abs=1e-6)


def test_gcj02_matches_the_reference_library_forward_transform():
    ref = prcoords.wgs_gcj(prcoords.Coords(FUTIAN[1], FUTIAN[0]))
    assert from_wgs84(*FUTIAN, "gcj02") == pytest.approx((ref.lon, ref.lat))


def test_projected_cgcs2000_zone_input():
    x, y = Transformer.from_crs(4326, 4547, always_xy=True).transform(*FUTIAN)
    line = parse_geometry({"type": "LineString", "coordinates": [[x, y], [x + 1000, y]]}, "EPSG:4547")
    assert line.coords[0] == pytest.approx(FUTIAN, abs=1e-7)
    assert line.coords[1][0] > FUTIAN[0] + 0.009  # 1 km east is ≈ 0.0097° at this latitude


@pytest.mark.parametrize(
    ("value", "crs", "field", "fragment"),
    [
        ("{not json", "wgs84", "geometry", "not valid JSON"),
        ([1, 2], "wgs84", "geometry", "GeoJSON geometry object"),
        ({"type": "Pointy", "coordinates": [1, 2]}, "wgs84", "geometry", "type must be one of"),
        ({"type": "Point", "coordinates": "x"}, "wgs84", "geometry", "invalid GeoJSON"),
        ({"type": "Point", "coordinates": [200, 22]}, "wgs84", "geometry", "outside longitude"),
        ({"type": "Point", "coordinates": [114, 95]}, "gcj02", "geometry", "outside longitude"),
        ({"type": "Point", "coordinates": [114, 22]}, "mars", "crs", "unknown CRS"),
        ({"type": "Point", "coordinates": [114, 22]}, "EPSG:999999", "crs", "unknown CRS"),
        ({"type": "Polygon", "coordinates": []}, "wgs84", "geometry", "empty"),
    ],
)
def test_bad_input_names_the_problem(value, crs, field, fragment):
    with pytest.raises(GeometryInputError) as err:
        parse_geometry(value, crs)
    assert err.value.field == field
    assert fragment in err.value.detail


def test_crs_names_are_normalised():
    assert parse_crs(None) == "wgs84"
    assert parse_crs(" GCJ02 ") == "gcj02"
    assert parse_crs("epsg:4547") == "epsg:4547"
