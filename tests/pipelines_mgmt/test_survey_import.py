"""Survey tables (管线探测成果表) into pipe networks: Excel and CSV written here, real PostGIS, the real upload gate."""

import csv
import io

import openpyxl
import pyproj
import pytest
from django.core.management import CommandError, call_command

from core import uploads
from core.models import Organisation
from pipelines_mgmt import services
from pipelines_mgmt.graph import network_graph
from pipelines_mgmt.importers import Georef
from pipelines_mgmt.models import Network, Node, Pipe, Valve
from pipelines_mgmt.survey_import import SurveyOptions

pytestmark = pytest.mark.django_db
ZONE = "EPSG:4547"  # CGCS2000 3° Gauss-Krüger, CM 114°E (the demo's metric CRS)
NORTH, EAST = 2_494_000.0, 500_000.0  # inside the demo city
TO_WGS84 = pyproj.Transformer.from_crs(ZONE, "EPSG:4326", always_xy=True)

POINT_HEADER = ["物探点号", "特征", "附属物", "X坐标\n(m)", "Y坐标\n(m)", "地面高程(m)"]
LINE_HEADER = ["起始点号", "终止点号", "起点埋深(m)", "终点埋深(m)", "起点高程", "终点高程", "材质", "管径(mm)"]
# A water main JS1 → JS4 with a valve at JS2 and a branch JS3 → JS5; X is the northing, as surveys write it.
POINTS = [
    ["JS1", "出地", "", NORTH + 0.0, EAST + 0.0, 5.20],
    ["JS2", "", "阀门", NORTH + 0.0, EAST + 60.0, 5.40],
    ["JS3", "三通", "", NORTH + 0.0, EAST + 120.0, 5.60],
    ["JS4", "", "消火栓", NORTH + 0.0, EAST + 180.0, 5.50],
    ["JS5", "弯头", "", NORTH + 45.0, EAST + 120.0, 6.10],
]
LINES = [
    ["JS1", "JS2", 1.20, 1.30, 4.00, 4.10, "球墨铸铁", "DN300"],
    ["JS2", "JS3", 1.30, 1.25, 4.10, 4.35, "球墨铸铁", "DN300"],
    ["JS3", "JS4", 1.25, 1.10, 4.35, 4.40, "球墨铸铁", "DN300"],
    ["JS3", "JS5", 1.25, 1.50, 4.35, 4.60, "PE", "de110"],
]


def workbook(sheets: dict[str, list[list]]) -> bytes:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def survey_book(points=POINTS, lines=LINES) -> bytes:
    title = ["XX市地下给水管线探测成果表"]  # a title row above the header, as delivered
    return workbook({"管线点": [title, POINT_HEADER, *points], "管线段": [title, LINE_HEADER, *lines]})


def table(header, rows, encoding="utf-8") -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows([header, *rows])
    return out.getvalue().encode(encoding)


def named(name: str, content: bytes) -> io.BytesIO:
    handle = io.BytesIO(content)
    handle.name = name
    return handle


def upload(client, files: list[tuple[str, bytes]], **fields):
    data = {"code": "surveyed", "utility": "water", "owner": "SZ-WATER-GROUP", "epsg": "4547", "sources": "JS1"}
    data |= {"file": [named(name, content) for name, content in files]} | fields
    return client.post("/api/pipelines/networks/import/survey/", data, format="multipart")


def counts():
    return (Network.objects.count(), Node.objects.count(), Pipe.objects.count(), Valve.objects.count())


def test_an_excel_survey_builds_a_checked_network_in_place(api, demo_city):
    response = upload(api("planner"), [("成果表.xlsx", survey_book())])
    assert response.status_code == 201, response.json()
    report = response.json()["report"]
    assert report["ok"] and (report["node_count"], report["pipe_count"], report["valve_count"]) == (5, 4, 1)
    assert {d["kind"] for d in report["defects"]} == {"dangling_end"}  # JS5 is a bend at the end of the branch

    network = Network.objects.get(code="surveyed")
    nodes = {n.code: n for n in Node.objects.filter(network=network)}
    for code, _, _, x, y, ground in POINTS:
        lon, lat = TO_WGS84.transform(y, x)  # X is the northing
        assert (nodes[code].geom.x, nodes[code].geom.y) == pytest.approx((lon, lat), abs=1e-9)
        assert nodes[code].elevation_m == ground
    assert (nodes["JS1"].kind, nodes["JS2"].kind, nodes["JS3"].kind, nodes["JS4"].kind) == (
        "source", "valve", "tee", "hydrant"
    )  # fmt: skip
    pipes = {p.code: p for p in Pipe.objects.filter(network=network)}
    assert set(pipes) == {"JS1-JS2", "JS2-JS3", "JS3-JS4", "JS3-JS5"}
    assert pipes["JS1-JS2"].length_m == 60.0 and pipes["JS3-JS5"].length_m == 45.0
    assert (pipes["JS1-JS2"].diameter_mm, pipes["JS1-JS2"].material) == (300, "ductile_iron")
    assert (pipes["JS3-JS5"].diameter_mm, pipes["JS3-JS5"].material) == (110, "pe")
    assert (pipes["JS2-JS3"].depth_start_m, pipes["JS2-JS3"].depth_end_m) == (1.30, 1.25)  # to the crown, as given
    valve = Valve.objects.get(pipe__network=network)
    assert valve.code == "JS2" and valve.node == nodes["JS2"] and valve.diameter_mm == 300

    plan = network_graph(network.pk).isolation.isolate_burst(pipes["JS3-JS4"].pk)
    assert [Valve.objects.get(pk=v).code for v in plan.valves_to_close] == ["JS2"]


def test_drainage_csv_in_gbk_on_a_local_grid_with_invert_depths(api, demo_city):
    """Two CSV files as Excel in China saves them; a local grid placed by an offset; 埋深 to the inner bottom."""
    points = [["YS1", "", "检查井", 100.0, 200.0, 4.0], ["YS2", "", "检查井", 100.0, 240.0, 3.8]]
    lines = [["YS1", "YS2", 2.5, 2.6, "", "", "钢筋混凝土", "800"]]
    files = [("点表.csv", table(POINT_HEADER, points, "gb18030")), ("线表.csv", table(LINE_HEADER, lines, "gb18030"))]
    offset = {"offset_x": str(NORTH - 100), "offset_y": str(EAST - 200), "epsg": "", "sources": ""}
    response = upload(api("admin"), files, utility="drainage", **offset)
    assert response.status_code == 201, response.json()
    pipe = Pipe.objects.get(network__code="surveyed")
    assert (pipe.depth_start_m, pipe.depth_end_m) == (pytest.approx(1.7), pytest.approx(1.8))  # invert − 0.8 m
    assert pipe.material == "concrete" and pipe.diameter_mm == 800 and pipe.length_m == 40.0
    start = Node.objects.get(network__code="surveyed", code="YS1")
    assert (start.geom.x, start.geom.y) == pytest.approx(TO_WGS84.transform(EAST, NORTH), abs=1e-9)


def test_a_point_table_with_connecting_points_is_its_own_line_table(api, demo_city):
    header = ["点号", "连接点号", "特征", "X", "Y", "地面高程", "埋深", "管径", "材质"]
    rows = [
        ["RQ1", "RQ2", "", NORTH, EAST, 5.0, 1.0, "DN200", "钢"],
        ["RQ2", "RQ3", "", NORTH, EAST + 50, 5.0, 1.1, "DN200", "钢"],
        ["RQ2", "RQ4", "", "", "", "", 1.1, "DN100", "PE"],  # a continuation row: the tee's second line
        ["RQ3", "", "", NORTH, EAST + 100, 5.0, 1.2, "", ""],
        ["RQ4", "", "", NORTH + 30, EAST + 50, 5.0, 0.9, "", ""],
    ]
    response = upload(api("admin"), [("rq.csv", table(header, rows))], utility="gas", sources="RQ1")
    assert response.status_code == 201, response.json()
    pipes = {p.code: p for p in Pipe.objects.filter(network__code="surveyed")}
    assert set(pipes) == {"RQ1-RQ2", "RQ2-RQ3", "RQ2-RQ4"}
    assert (pipes["RQ2-RQ4"].depth_start_m, pipes["RQ2-RQ4"].depth_end_m, pipes["RQ2-RQ4"].diameter_mm) == (
        1.1, 0.9, 100
    )  # fmt: skip
    assert Node.objects.filter(network__code="surveyed").count() == 4


def test_topology_defects_are_reported_with_their_rows_and_nothing_is_written(api, demo_city):
    points = [
        *POINTS,
        ["JS2", "", "", NORTH + 5.0, EAST + 60.0, 5.40],  # row 8: a second JS2 elsewhere
        ["JS6", "", "", NORTH + 0.01, EAST + 180.0, 5.50],  # row 9: on top of JS4
    ]
    lines = [
        *LINES,
        ["JS2", "JS1", 1.30, 1.20, 4.10, 4.00, "球墨铸铁", "DN300"],  # row 7: JS1-JS2 again, reversed
        ["JS4", "JS9", 1.10, 1.00, "", "", "球墨铸铁", "DN300"],  # row 8: JS9 is not surveyed
        ["JS4", "JS6", 1.10, 1.10, "", "", "球墨铸铁", "DN300"],  # row 9: no length
        ["JS5", "JS4", 1.50, 1.10, 3.00, 4.40, "PE", "de110"],  # row 10: 6.10 − 1.50 ≠ 3.00
    ]
    before = counts()
    response = upload(api("admin"), [("bad.xlsx", survey_book(points, lines))])
    assert response.status_code == 400
    body = response.json()
    assert "does not make a valid network" in body["detail"] and not body["report"]["ok"]
    found = {(d["kind"], tuple(d["point_rows"]), tuple(d["line_rows"])) for d in body["report"]["defects"]}
    assert ("duplicate_point", (4, 8), ()) in found
    assert ("duplicate_segment", (), (3, 7)) in found
    assert ("unknown_point", (), (8,)) in found
    assert ("zero_length", (6, 9), (9,)) in found
    assert ("depth_inconsistent", (7,), (10,)) in found
    message = next(d["message"] for d in body["report"]["defects"] if d["kind"] == "unknown_point")
    assert message == "line row 8: point JS9 is not in the point table"
    assert counts() == before


@pytest.mark.parametrize(
    ("row", "column", "value", "fragment"),
    [
        (3, 7, "DNabc", "row 3, column 管径(mm): 'DNabc' is not a diameter (DN300, 300) or a section (800×600)"),
        (4, 2, "1.2m", "row 4, column 起点埋深(m): '1.2m' is not a number"),
        (5, 3, "-0.5", "row 5, column 终点埋深(m): a depth of -0.5 m is negative"),
    ],
)
def test_a_cell_that_cannot_be_read_is_refused_by_row_and_column(api, demo_city, row, column, value, fragment):
    lines = [list(line) for line in LINES]
    lines[row - 3][column] = value
    before = counts()
    response = upload(api("admin"), [("成果表.xlsx", survey_book(lines=lines))])
    assert response.status_code == 400
    assert response.json()["detail"] == f"成果表.xlsx, sheet 管线段, {fragment}"
    assert counts() == before


def test_swapped_or_unplaced_coordinates_are_refused_by_the_zone(api, demo_city):
    swapped = [[code, f, a, y, x, g] for code, f, a, x, y, g in POINTS]
    response = upload(api("admin"), [("swapped.xlsx", survey_book(points=swapped))])
    assert response.status_code == 400 and "outside the area where EPSG:4547 is defined" in response.json()["detail"]
    local = [[code, f, a, x - NORTH, y - EAST, g] for code, f, a, x, y, g in POINTS]
    response = upload(api("admin"), [("local.xlsx", survey_book(points=local))], epsg="")
    assert response.status_code == 400 and "outside the area" in response.json()["detail"]


def test_the_command_prints_the_report_and_the_service_tells_its_progress(demo_city, tmp_path):
    path = tmp_path / "成果表.xlsx"
    path.write_bytes(survey_book())
    out, err = io.StringIO(), io.StringIO()
    call_command("import_survey", str(path), network="cli-survey", epsg=4547, source=["JS1"], stdout=out, stderr=err)
    assert "imported cli-survey" in out.getvalue() and "dangling_end" in err.getvalue()
    assert Pipe.objects.filter(network__code="cli-survey").count() == 4
    with pytest.raises(CommandError, match="no line table"):
        call_command("import_survey", str(path), network="cli-2", stdout=out, stderr=err, map="start=甲,end=乙")

    seen = []
    options = SurveyOptions("progress", "progress", "water", Organisation.objects.get(code="SZ-WATER-GROUP"),
                            Georef(4547), sources=("JS1",))  # fmt: skip
    with uploads.local_file(path) as file:
        services.import_survey(None, [file], options, progress=lambda done, total: seen.append((done, total)))
    assert seen[0] == (0, 10) and seen[-1] == (10, 10)  # 5 nodes, 4 pipes, 1 valve
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)
