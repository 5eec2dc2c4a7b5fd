"""A CAD drawing (DXF, written here by GDAL) into a pipe network through the same gate and topology build as any GIS
file: one CAD layer's lines are the pipes, its labels name the source and the valves."""

import io
import json

import geopandas as gpd
import pyogrio
import pytest
import shapely

from pipelines_mgmt.models import Network, Node, Pipe, Valve

pytestmark = pytest.mark.django_db
WEST, NORTH = 500_000.0, 2_494_000.0  # metres in EPSG:4547, inside the demo city


def drawing(tmp_path) -> bytes:
    """Layer JS (给水): a main drawn as two LINEs, a branch, labels 水厂 and 阀门; layer YS (雨水): one line."""

    def at(*xy):
        return [(WEST + x, NORTH + y) for x, y in xy]

    features = [
        ("JS", None, shapely.LineString(at((0, 0), (100, 0)))),
        ("JS", None, shapely.LineString(at((100, 0), (200, 0)))),
        ("JS", None, shapely.LineString(at((100, 0), (100, 80)))),
        ("JS", 'LABEL(t:"水厂")', shapely.Point(at((0, 0))[0])),
        ("JS", 'LABEL(t:"阀门")', shapely.Point(at((150, 0))[0])),
        ("YS", None, shapely.LineString(at((0, 50), (200, 50)))),
    ]
    frame = gpd.GeoDataFrame(
        {"Layer": [f[0] for f in features], "OGR_STYLE": [f[1] for f in features]},
        geometry=[f[2] for f in features],
    )
    path = tmp_path / "管网.dxf"
    pyogrio.write_dataframe(frame, path, driver="DXF")  # GDAL writes a label style as a TEXT entity
    return path.read_bytes()


def upload(client, content: bytes, **fields):
    handle = io.BytesIO(content)
    handle.name = "管网.dxf"
    data = {"code": "from-cad", "utility": "water", "owner": "SZ-WATER-GROUP", "file": handle} | fields
    return client.post("/api/pipelines/networks/import/", data, format="multipart")


def test_a_cad_layer_becomes_the_pipe_network(api, demo_city, tmp_path):
    content = drawing(tmp_path)
    assert content.lstrip().startswith(b"0\nSECTION")
    response = upload(
        api("planner"),
        content,
        crs="EPSG:4547",
        pipe_layer="JS",
        point_layer="JS",
        mapping=json.dumps({"kind": "Text"}),
    )
    assert response.status_code == 201, response.json()
    report = response.json()["report"]
    assert report["ok"] and (report["pipe_count"], report["valve_count"], report["split_count"]) == (4, 1, 1)
    network = Network.objects.get(code="from-cad")
    assert sum(Pipe.objects.filter(network=network).values_list("length_m", flat=True)) == pytest.approx(280)
    source = Node.objects.get(network=network, kind="source")
    assert (source.geom.x, source.geom.y) == pytest.approx((114.0, 22.54), abs=0.05)
    assert Valve.objects.filter(pipe__network=network).count() == 1  # 280 m above: nothing from layer YS


def test_a_drawing_needs_its_crs_and_an_existing_layer(api, demo_city, tmp_path):
    content = drawing(tmp_path)
    before = Network.objects.count()
    no_crs = upload(api("planner"), content, pipe_layer="JS")
    assert no_crs.status_code == 400 and "a DXF drawing declares no CRS" in no_crs.json()["detail"]
    no_layer = upload(api("planner"), content, crs="EPSG:4547", pipe_layer="RQ")
    assert no_layer.status_code == 400 and no_layer.json()["detail"] == "no layer 'RQ'; layers: JS, YS"
    assert Network.objects.count() == before
