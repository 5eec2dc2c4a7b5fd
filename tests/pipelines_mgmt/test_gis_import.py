"""GIS import and export (real files through GDAL, real PostGIS): GeoPackage round trip, attribute mapping,
and files that must be refused whole with a validation report."""

import io
import json

import pyproj
import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from core.models import AuditEntry
from pipelines_mgmt.graph import network_graph
from pipelines_mgmt.models import Network, Node, Pipe, Valve

pytestmark = pytest.mark.django_db
TO_WGS84 = pyproj.Transformer.from_crs(settings.CITYOPS_METRIC_SRID, 4326, always_xy=True)
ORIGIN = (500_000.0, 2_494_000.0)  # metres in the demo's metric CRS, inside the demo city


def lonlat(x, y):
    lon, lat = TO_WGS84.transform(ORIGIN[0] + x, ORIGIN[1] + y)
    return [round(lon, 9), round(lat, 9)]


def geojson(lines, points=()) -> bytes:
    """A FeatureCollection drawn in metres around ORIGIN: lines [(coords, props)], points [(xy, props)]."""
    features = [
        {
            "type": "Feature",
            "properties": props,
            "geometry": {"type": "LineString", "coordinates": [lonlat(*xy) for xy in coords]},
        }
        for coords, props in lines
    ] + [
        {"type": "Feature", "properties": props, "geometry": {"type": "Point", "coordinates": lonlat(*xy)}}
        for xy, props in points
    ]
    return json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False).encode()


def upload(client, name: str, content: bytes, **fields):
    handle = io.BytesIO(content)
    handle.name = name
    data = {"code": "imported", "utility": "water", "owner": "SZ-WATER-GROUP", "file": handle} | fields
    return client.post("/api/pipelines/networks/import/", data, format="multipart")


def counts():
    return (Network.objects.count(), Node.objects.count(), Pipe.objects.count(), Valve.objects.count())


def test_geojson_with_chinese_columns_builds_the_network(api, demo_city):
    lines = [
        ([(0, 0), (100, 0)], {"编号": "M1", "管径": "DN300", "材质": "球墨铸铁", "埋设年代": 1998}),
        ([(50, 0.2), (50, 80)], {"编号": "B1", "管径": 150, "材质": "PE", "埋设年代": 2012}),
        ([(100.2, 0), (200, 0)], {"编号": "M2", "管径": 300, "材质": "灰口铸铁", "埋设年代": 1988}),
    ]
    points = [((-0.1, 0), {"类型": "水厂", "名称": "测试水厂"}), ((150, 0), {"编号": "V9", "类型": "阀门"})]
    response = upload(api("admin"), "net.geojson", geojson(lines, points), mapping=json.dumps({"kind": "类型"}))
    assert response.status_code == 201, response.json()
    report = response.json()["report"]
    assert report["ok"] and report["split_count"] == 2 and report["valve_count"] == 1
    network = Network.objects.get(code="imported")
    pipes = {p.code: p for p in Pipe.objects.filter(network=network)}
    assert len(pipes) == 5 and {"M1", "B1", "M2"} <= set(pipes)
    assert pipes["M1"].diameter_mm == 300 and pipes["M1"].material == "ductile_iron"
    assert pipes["B1"].material == "pe" and pipes["B1"].install_year == 2012
    assert Node.objects.get(network=network, kind="source").name == "测试水厂"
    plan = network_graph(network.pk).isolation.isolate_burst(pipes["M1"].pk)
    assert [Valve.objects.get(pk=v).code for v in plan.valves_to_close] == ["V9"]


def test_lines_that_do_not_connect_are_refused_with_the_report(api, demo_city):
    before = counts()
    lines = [([(0, 0), (100, 0)], {}), ([(101.5, 0), (200, 0)], {}), ([(0, 300), (100, 300)], {})]
    response = upload(api("admin"), "broken.geojson", geojson(lines, [((0, 0), {"kind": "source"})]))
    assert response.status_code == 400
    body = response.json()
    assert body["field"] == "file" and "do not form one valid network" in body["detail"]
    kinds = {defect["kind"] for defect in body["report"]["defects"]}
    assert {"near_miss", "isolated_component"} <= kinds
    near = next(d for d in body["report"]["defects"] if d["kind"] == "near_miss")
    assert any(near["location"]["coordinates"] == pytest.approx(lonlat(*xy), abs=1e-6) for xy in ((100, 0), (101.5, 0)))
    assert counts() == before


@pytest.mark.parametrize(
    ("name", "content", "fragment"),
    [
        ("net.txt", b"{}", "give a .zip"),
        ("net.gpkg", b"{not sqlite}", "does not hold what"),
        ("net.geojson", b"{ this is not json", "not a readable"),
        ("net.zip", b"PK\x03\x04garbage", "not a readable"),
    ],
)
def test_files_that_are_not_gis_files_are_refused(api, demo_city, name, content, fragment):
    before = counts()
    response = upload(api("admin"), name, content)
    assert response.status_code == 400 and fragment in response.json()["detail"]
    assert counts() == before


def test_bad_mapping_and_fields_are_named(api, demo_city):
    content = geojson([([(0, 0), (100, 0)], {})], [((0, 0), {"kind": "source"})])
    before = counts()
    for fields, field in [
        ({"mapping": '{"colour": "颜色"}'}, "mapping"),
        ({"mapping": "{not json"}, "mapping"),
        ({"utility": "lava"}, "utility"),
        ({"owner": "NOBODY"}, "owner"),
        ({"code": "bad code!"}, "code"),
        ({"tolerance_m": "-1"}, "tolerance_m"),
    ]:
        response = upload(api("admin"), "a.geojson", content, **fields)
        assert response.status_code == 400 and response.json()["field"] == field, (fields, response.json())
    assert counts() == before


def test_import_needs_a_planner_or_admin(api, demo_city):
    content = geojson([([(0, 0), (100, 0)], {})], [((0, 0), {"kind": "source"})])
    assert upload(api("operator"), "a.geojson", content).status_code == 403
    assert upload(api("planner"), "a.geojson", content).status_code == 201


def test_geopackage_round_trip_keeps_the_isolation_answers(api, demo_city, tmp_path):
    response = api("planner").get("/api/pipelines/networks/sz-gas/export.gpkg")
    assert response.status_code == 200 and response.content.startswith(b"SQLite format 3\x00")
    path = tmp_path / "gas.gpkg"
    path.write_bytes(response.content)
    call_command("import_gis", str(path), network="gas-copy", utility="gas", stdout=io.StringIO())

    original, copy = Network.objects.get(code="sz-gas"), Network.objects.get(code="gas-copy")
    assert Valve.objects.filter(pipe__network=copy).count() == Valve.objects.filter(pipe__network=original).count()
    length = sum(Pipe.objects.filter(network=original).values_list("length_m", flat=True))
    assert sum(Pipe.objects.filter(network=copy).values_list("length_m", flat=True)) == pytest.approx(length, rel=1e-3)
    first, second = network_graph(original.pk).isolation, network_graph(copy.pk).isolation
    code = dict(Valve.objects.values_list("pk", "code"))
    for pipe in Pipe.objects.filter(network=original, length_m__gt=60).order_by("id")[:25]:
        middle = pipe.geom.interpolate_normalized(0.5)
        twin = Pipe.objects.filter(network=copy, geom__dwithin=(middle, 1e-6)).first()
        expected = sorted(code[v] for v in first.isolate_burst(pipe.pk).valves_to_close)
        assert sorted(code[v] for v in second.isolate_burst(twin.pk).valves_to_close) == expected, pipe.code


def test_command_refuses_a_broken_file_and_writes_nothing(demo_city, tmp_path):
    path = tmp_path / "broken.geojson"
    path.write_bytes(geojson([([(0, 0), (100, 0)], {}), ([(0, 300), (100, 300)], {})], [((0, 0), {"kind": "source"})]))
    before = counts()
    errors = io.StringIO()
    with pytest.raises(CommandError, match="nothing was imported"):
        call_command("import_gis", str(path), network="broken", stderr=errors)
    assert "isolated_component" in errors.getvalue()
    assert counts() == before


def test_the_api_and_the_command_import_the_same_rows_each_with_an_audit_row(api, demo_city, tmp_path):
    lines = [
        ([(0, 0), (100, 0)], {"编号": "M1", "管径": 300, "材质": "球墨铸铁"}),
        ([(100, 0), (200, 0)], {"编号": "M2", "管径": 200, "材质": "PE"}),
    ]
    content = geojson(lines, [((0, 0), {"kind": "source"}), ((150, 0), {"编号": "V1", "kind": "valve"})])
    assert upload(api("admin"), "net.geojson", content, code="via-api").status_code == 201
    path = tmp_path / "net.geojson"
    path.write_bytes(content)
    call_command("import_gis", str(path), network="via-cli", stdout=io.StringIO())

    def rows(code):
        pipes = Pipe.objects.filter(network__code=code).order_by("code")
        valves = Valve.objects.filter(pipe__network__code=code).order_by("code")
        return (
            [(p.code, p.diameter_mm, p.material, p.length_m, p.geom.wkt) for p in pipes],
            [(v.code, v.pipe.code, v.geom.wkt) for v in valves],
        )

    assert rows("via-api") == rows("via-cli") and len(rows("via-api")[0]) == 3
    audits = {a.summary: a for a in AuditEntry.objects.filter(action="network.import")}
    assert audits["via-api from net.geojson"].actor.username == "admin"
    assert audits["via-cli from net.geojson"].actor is None  # the command line: no signed-in user
    assert audits["via-cli from net.geojson"].changes == audits["via-api from net.geojson"].changes


def test_a_file_over_the_limit_is_refused_on_the_command_line_too(demo_city, tmp_path, settings):
    settings.CITYOPS_IMPORT_MAX_BYTES = 100
    path = tmp_path / "net.geojson"
    path.write_bytes(geojson([([(0, 0), (100, 0)], {})], [((0, 0), {"kind": "source"})]))
    before = counts()
    with pytest.raises(CommandError, match="at most 100; nothing was imported"):
        call_command("import_gis", str(path), network="too-big")
    assert counts() == before
