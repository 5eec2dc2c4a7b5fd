"""Unit-grid division (pure), the grid and component importers, identifier mapping between the schemes."""

import json

import pytest
import shapely
from django.core.management import CommandError, call_command
from shapely.geometry import LineString, box

from core.models import AdminArea, AuditEntry
from grid import gridding
from grid.importers import component_ident
from grid.models import Component, UnitGrid


def test_division_tiles_each_community_along_its_roads():
    west, east = box(0, 0, 300, 200), box(300, 0, 500, 200)  # 60,000 m² and 40,000 m²
    road = LineString([(150, -50), (150, 250)])  # crosses the west community only
    cells = gridding.divide([("440304001001", west), ("440304001002", east)], [road])
    for code, community in (("440304001001", west), ("440304001002", east)):
        mine = [c.polygon for c in cells if c.community_code == code]
        assert shapely.union_all(mine).symmetric_difference(community).area < 1  # no gaps
        assert abs(sum(p.area for p in mine) - community.area) < 1  # no overlaps
        assert all(community.buffer(0.01).contains(p) for p in mine)  # never crossing the community
        assert all(2_500 <= p.area <= 20_000 for p in mine)
    assert not any(c.polygon.crosses(road) for c in cells)  # the road is an edge, never cut through
    assert next(c.code for c in cells if c.community_code == "440304001002") == "440304001002001"
    assert all(len(c.code) == 15 for c in cells)
    first, *_ = [c for c in cells if c.community_code == "440304001001"]
    assert first.polygon.centroid.y > 100 and first.polygon.centroid.x < 150  # numbering starts north-west


def test_identifier_schemes():
    legacy = {"0102": "01002"}
    assert component_ident("44030401002000123", legacy).ident == "44030401002000123"
    mapped = component_ident("4403040102000123", legacy)
    assert (mapped.ident, mapped.legacy, mapped.class_code) == ("44030401002000123", "4403040102000123", "01002")
    with pytest.raises(ValueError, match="no GB/T 47678"):
        component_ident("4403040114000001", legacy)
    with pytest.raises(ValueError, match="neither"):
        component_ident("12345", legacy)


@pytest.mark.django_db
def test_build_and_import_layers(demo_city, tmp_path):
    community = AdminArea.objects.filter(level="community").order_by("code").first()
    before = UnitGrid.objects.filter(community=community).count()
    call_command("build_unit_grids", "--community", community.code, "--replace")
    grids = UnitGrid.objects.filter(community=community)
    assert grids.count() == before > 0
    assert abs(sum(g.area_m2 for g in grids) / before - 10_000) < 4_000

    spot = grids.first().geom.point_on_surface
    layer = tmp_path / "components.geojson"
    features = [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [spot.x, spot.y]},
         "properties": {"ObjID": "4403040102999001", "ObjName": "污水井盖", "ObjState": "破损"}},
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [spot.x, spot.y]},
         "properties": {"ObjID": "44030401037999001", "ObjName": "路灯", "ObjState": "完好"}},
    ]  # fmt: skip
    layer.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    call_command("import_components", str(layer))
    cover = Component.objects.get(legacy_ident="4403040102999001")
    assert cover.ident == "44030401002999001" and cover.status == "damaged" and cover.grid == grids.first()

    bad = tmp_path / "bad.geojson"
    features[0]["properties"]["ObjID"] = "4403040114999002"  # 无主井盖: no 2026 class
    bad.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    count = Component.objects.count()
    with pytest.raises(Exception, match="row 1:"):
        call_command("import_components", str(bad))
    assert Component.objects.count() == count


@pytest.mark.django_db
def test_import_grid_layer(demo_city, tmp_path):
    community = AdminArea.objects.filter(level="community").order_by("code").first()
    outline = shapely.from_wkb(bytes(community.geom.wkb))
    minx, miny, maxx, maxy = outline.bounds
    halves = [box(minx, miny, (minx + maxx) / 2, maxy), box((minx + maxx) / 2, miny, maxx, maxy)]
    pieces = [outline.intersection(h) for h in halves]
    features = [{"type": "Feature", "geometry": shapely.geometry.mapping(p), "properties": {}} for p in pieces]
    features[0]["properties"]["code"] = f"{community.code}900"
    layer = tmp_path / "grids.geojson"
    layer.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    call_command("build_unit_grids", "--from", str(layer), "--replace")
    assert sorted(UnitGrid.objects.values_list("code", flat=True)) == [f"{community.code}001", f"{community.code}900"]


@pytest.mark.django_db
def test_components_from_a_csv_are_imported_and_audited(demo_city, tmp_path):
    """Any importable type works for the grid's layers (here a CSV with 经度/纬度), and each import is audited."""
    spot = UnitGrid.objects.order_by("code").first().geom.point_on_surface
    layer = tmp_path / "components.csv"
    layer.write_text(f"ObjID,ObjName,ObjState,经度,纬度\n44030401037999002,路灯,完好,{spot.x},{spot.y}\n")
    call_command("import_components", str(layer))
    lamp = Component.objects.get(ident="44030401037999002")
    assert lamp.geom.equals_exact(spot, 1e-9) and lamp.status == "intact"
    audit = AuditEntry.objects.get(action="component.import")
    assert audit.target_type == "grid.component" and audit.summary == "1 components from components.csv"


@pytest.mark.django_db
def test_a_grid_layer_import_is_audited_and_a_bad_file_named(demo_city, tmp_path):
    community = AdminArea.objects.filter(level="community").order_by("code").first()
    feature = {"type": "Feature", "geometry": json.loads(community.geom.json), "properties": {}}
    layer = tmp_path / "grids.geojson"
    layer.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    call_command("build_unit_grids", "--from", str(layer), "--replace")
    audit = AuditEntry.objects.get(action="unit_grid.import")
    assert audit.summary == "1 unit grids from grids.geojson" and audit.changes == {"replace": True}

    fake = tmp_path / "grids.gpkg"
    fake.write_bytes(layer.read_bytes())
    with pytest.raises(CommandError, match=r"file: grids\.gpkg does not hold what it claims"):
        call_command("build_unit_grids", "--from", str(fake), "--replace")
