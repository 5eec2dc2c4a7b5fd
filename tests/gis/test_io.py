"""Import and export: round trips in every format, CRS conversion against known coordinates, validation reports,
and bad uploads refused with nothing imported."""

import io as stdio
import json
import zipfile

import geopandas as gpd
import prcoords
import pyproj
import pytest
import shapely
from django.core.management import call_command

from core.models import AuditEntry
from gis import io
from gis.models import Dataset, DatasetFeature, Road

from .mvt import decode

pytestmark = pytest.mark.django_db
FORMATS = list(io.FORMATS)
EXTENSION = {"geojson": "geojson", "gpkg": "gpkg", "shp": "zip", "csv": "csv", "kml": "kml"}


@pytest.fixture(autouse=True)
def private_var_dir(settings, tmp_path):
    settings.VAR_DIR = tmp_path / "var"


def upload(client, name: str, content: bytes, **fields):
    return client.post("/api/gis/imports/", {"file": _named(name, content), **fields}, format="multipart")


def _named(name, content):
    buffer = stdio.BytesIO(content)
    buffer.name = name
    return buffer


def commit(client, preview_id, slug, title="测试图层", **extra):
    return client.post(f"/api/gis/imports/{preview_id}/commit/", {"slug": slug, "title": title, **extra}, format="json")


def geojson_bytes(frame: gpd.GeoDataFrame) -> bytes:
    return frame.to_json(ensure_ascii=False, drop_id=True).encode()


def imported(slug):
    dataset = Dataset.objects.get(slug=slug)
    features = DatasetFeature.objects.filter(dataset=dataset).order_by("id")
    return dataset, [(f.properties, shapely.from_wkb(bytes(f.geom.wkb))) for f in features]


@pytest.mark.parametrize("fmt", FORMATS)
def test_export_a_filtered_layer_and_import_it_back(api, fmt):
    client = api("planner")
    cql = "road_class = 'arterial' AND lanes >= 4"
    response = client.get("/api/gis/layers/roads/export/", {"f": fmt, "filter": cql})
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith(io.CONTENT_TYPES[fmt].split(";")[0])
    content = b"".join(response.streaming_content)
    expected = {r.id: r for r in Road.objects.filter(road_class="arterial", lanes__gte=4)}
    assert expected

    preview = upload(client, f"roads.{EXTENSION[fmt]}", content)
    assert preview.status_code == 201, preview.content
    report = preview.json()
    assert report["features_read"] == report["features_kept"] == len(expected)
    assert report["features_skipped"] == 0 and report["geometry_type"] in ("LineString", "MultiLineString")
    assert len(report["sample"]) == min(10, len(expected))
    assert not Dataset.objects.filter(slug=f"roads-{fmt}").exists()  # a preview imports nothing

    done = commit(client, report["id"], f"roads-{fmt}")
    assert done.status_code == 201, done.content
    assert done.json()["layer"] == f"ds-roads-{fmt}" and done.json()["features"] == len(expected)
    _, features = imported(f"roads-{fmt}")
    by_name = {}
    for props, geom in features:
        by_name.setdefault(props["name"], []).append(geom)
    for road in expected.values():
        original = shapely.from_wkb(bytes(road.geom.wkb))
        assert any(shapely.equals_exact(shapely.line_merge(g), original, 1e-7) for g in by_name[road.name])
    lanes = sorted(int(p["lanes"]) for p, _ in features)  # KML keeps values as text
    assert lanes == sorted(r.lanes for r in expected.values())


def test_an_imported_dataset_is_a_layer_in_ogc_api_tiles_and_export(api):
    client = api("planner")
    frame = gpd.GeoDataFrame(
        {"名称": ["甲站", "乙站", "丙站"], "容量": [10, 25, 40]},
        geometry=shapely.points([(114.02, 22.50), (114.05, 22.54), (114.08, 22.58)]),
        crs=4326,
    )
    report = upload(client, "stations.geojson", geojson_bytes(frame)).json()
    assert report["fields"] == {"名称": "string", "容量": "integer"}
    assert commit(client, report["id"], "pump-stations", "泵站").status_code == 201

    items = client.get("/ogcapi/collections/ds-pump-stations/items", {"filter": '"容量" > 20', "sortby": "-容量"})
    assert items.status_code == 200, items.content
    assert [f["properties"]["名称"] for f in items.json()["features"]] == ["丙站", "乙站"]
    bad = client.get("/ogcapi/collections/ds-pump-stations/items", {"filter": "owner__password = 'x'"})
    assert bad.status_code == 400 and "owner__password" in bad.json()["detail"]

    tile = client.get("/tiles/ds-pump-stations/14/13382/7138.pbf")
    assert tile.status_code == 200
    features = decode(tile.content)["ds-pump-stations"]["features"]
    assert {f["properties"]["名称"]: f["properties"]["容量"] for f in features} == {"乙站": 25}

    csv = client.get("/api/gis/layers/ds-pump-stations/export/", {"f": "csv", "filter": '"容量" >= 25'})
    lines = b"".join(csv.streaming_content).decode("utf-8-sig").splitlines()
    assert lines[0] == "wkt,名称,容量" and len(lines) == 3
    assert api("inspector").get("/ogcapi/collections/ds-pump-stations").status_code == 404  # default roles


# ------------------------------------------------------------------------------------------------ CRS


def test_gcj02_and_bd09_are_converted_to_wgs84_within_a_centimetre(api):
    client = api("planner")
    wgs = [(114.0412, 22.5301), (114.0587, 22.5466), (114.0655, 22.5399)]
    for crs, forward in (("gcj02", prcoords.wgs_gcj), ("bd09", prcoords.wgs_bd)):
        shifted = [forward(prcoords.Coords(lat, lon)) for lon, lat in wgs]
        frame = gpd.GeoDataFrame({"n": [1, 2, 3]}, geometry=[shapely.Point(p.lon, p.lat) for p in shifted], crs=4326)
        # The file says WGS84 (as files from AMap/Baidu do); the user's crs wins.
        report = upload(client, f"{crs}.geojson", geojson_bytes(frame), crs=crs).json()
        assert report["source_crs"] == crs
        commit(client, report["id"], f"points-{crs}")
        geod = pyproj.Geod(ellps="WGS84")
        for (lon, lat), moved, (_, geom) in zip(wgs, shifted, imported(f"points-{crs}")[1], strict=True):
            assert geod.inv(lon, lat, moved.lon, moved.lat)[2] > 200  # the shift is real (hundreds of metres)…
            assert geod.inv(lon, lat, geom.x, geom.y)[2] < 0.01  # …and is undone to better than 1 cm


def test_cgcs2000_gauss_kruger_shapefile_lands_on_known_coordinates(api, tmp_path):
    """EPSG:4547 (CGCS2000 3° zone, CM 114°E): easting 500 000 is the central meridian, exactly 114°E."""
    client = api("planner")
    to_gk = pyproj.Transformer.from_crs(4326, 4547, always_xy=True)
    x, y = to_gk.transform(114.05, 22.54)
    frame = gpd.GeoDataFrame(
        {"name": ["中央子午线", "测点"]}, geometry=[shapely.Point(500_000, 2_493_000), shapely.Point(x, y)], crs=4547
    )
    folder = tmp_path / "gk"
    folder.mkdir()
    frame.to_file(folder / "gk.shp", encoding="UTF-8")
    archive = _zip(folder)
    report = upload(client, "gk.zip", archive).json()
    assert report["source_crs"] == "epsg:4547"
    commit(client, report["id"], "gk-points")
    (_, meridian), (_, point) = imported("gk-points")[1]
    assert meridian.x == pytest.approx(114.0, abs=1e-9)
    assert (point.x, point.y) == pytest.approx((114.05, 22.54), abs=1e-9)

    (folder / "gk.prj").unlink()
    no_prj = upload(client, "gk.zip", _zip(folder))
    assert no_prj.status_code == 400 and no_prj.json()["field"] == "crs"  # asks instead of guessing
    assert "prj" in no_prj.json()["detail"]
    given = upload(client, "gk.zip", _zip(folder), crs="EPSG:4547")
    assert given.status_code == 201 and given.json()["bbox"][0] == pytest.approx(114.0, abs=1e-9)


def _zip(folder) -> bytes:
    buffer = stdio.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for part in sorted(folder.iterdir()):
            archive.write(part, part.name)
    return buffer.getvalue()


def test_csv_with_chinese_lon_lat_columns_in_gb18030_and_with_wkt(api):
    client = api("planner")
    text = "名称,经度,纬度\n甲,114.05,22.54\n乙,abc,22.5\n丙,114.06,22.55\n"
    report = upload(client, "points.csv", text.encode("gb18030")).json()
    assert report["features_kept"] == 2 and report["problems"] == [
        {"row": 2, "problem": "empty", "detail": "no geometry", "action": "skipped"}
    ]
    wkt = (
        "id,wkt\n"
        '1,"LINESTRING (114.04 22.53, 114.05 22.54)"\n'
        '2,"POINT (114 22.5)"\n'
        '3,"LINESTRING (114.05 22.54, 114.06 22.54)"\n'
    )
    lines = upload(client, "lines.csv", wkt.encode()).json()
    assert lines["geometry_type"] == "LineString" and lines["features_kept"] == 2
    assert lines["problems"][0]["problem"] == "mixed_type" and lines["problems"][0]["row"] == 2


def test_invalid_empty_and_out_of_area_features_are_reported(api):
    bowtie = shapely.Polygon([(114.04, 22.53), (114.05, 22.54), (114.05, 22.53), (114.04, 22.54)])
    square = shapely.box(114.05, 22.53, 114.06, 22.54)
    far = shapely.box(116.3, 39.9, 116.4, 40.0)  # Beijing: a wrong CRS or a wrong file
    collection = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "properties": {"n": 1}, "geometry": json.loads(shapely.to_geojson(square))},
            {"type": "Feature", "properties": {"n": 2}, "geometry": json.loads(shapely.to_geojson(bowtie))},
            {"type": "Feature", "properties": {"n": 3}, "geometry": None},
            {"type": "Feature", "properties": {"n": 4}, "geometry": json.loads(shapely.to_geojson(far))},
        ],
    }
    report = upload(api("planner"), "areas.geojson", json.dumps(collection).encode()).json()
    assert [(p["row"], p["problem"], p["action"]) for p in report["problems"]] == [
        (2, "invalid", "repaired"),
        (3, "empty", "skipped"),
        (4, "out_of_area", "skipped"),
    ]
    assert "Self-intersection" in report["problems"][0]["detail"]
    assert report["features_kept"] == 2 and report["geometry_type"] == "MultiPolygon"
    commit(api("planner"), report["id"], "areas")
    _, features = imported("areas")
    assert [p["n"] for p, _ in features] == [1, 2] and all(g.is_valid for _, g in features)
    # The bow-tie becomes its two triangles (make_valid), not the half that buffer(0) would keep.
    assert features[1][1].geom_type == "MultiPolygon" and len(features[1][1].geoms) == 2
    assert features[1][1].area == pytest.approx(2 * 0.5 * 0.01 * 0.005)


# ------------------------------------------------------------------------------------------ bad input


def test_a_zip_bomb_is_refused_before_it_is_unpacked(api, tmp_path):
    buffer = stdio.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("bomb.shp", b"\0" * (300 * 1024 * 1024))
        archive.writestr("bomb.dbf", b"")
    assert len(buffer.getvalue()) < 1024 * 1024
    response = upload(api("planner"), "bomb.zip", buffer.getvalue())
    assert response.status_code == 400 and "zip" in response.json()["detail"]
    assert not list((tmp_path / "var" / "imports").glob("*/*"))  # nothing kept


@pytest.mark.parametrize("path", ["/api/gis/imports/", "/api/pipelines/networks/import/"])
def test_a_2gb_upload_is_refused_from_its_declared_length(api, path):
    response = api("planner").generic(
        "POST",
        path,
        b"--x--\r\n",
        content_type="multipart/form-data; boundary=x",
        CONTENT_LENGTH=str(2 * 1024**3),
    )
    assert response.status_code == 400 and response.json()["field"] == "file"


def test_an_upload_over_the_size_limit_is_refused(api, settings):
    settings.CITYOPS_IMPORT_MAX_BYTES = 1000
    response = upload(api("planner"), "big.geojson", b"{" + b" " * 5000 + b"}")
    assert response.status_code == 400 and response.json()["field"] == "file"


@pytest.mark.parametrize(
    ("name", "content", "fields", "field"),
    [
        ("notes.txt", b"hello", {}, "file"),
        ("fake.zip", b"MZ\x90\x00 this is an exe", {}, "file"),
        ("fake.gpkg", b"<html></html>", {}, "file"),
        ("page.geojson", b"<html></html>", {}, "file"),
        ("broken.geojson", b'{"type": "FeatureCollection", "features": [', {}, "file"),
        ("empty.geojson", b"", {}, "file"),
        ("points.csv", b"a,b\n1,2\n", {}, "columns"),
        ("points.geojson", b'{"type":"FeatureCollection","features":[]}', {"crs": "mars"}, "crs"),
        ("x.geojson", b"{}", {"format": "dwg"}, "format"),
    ],
)
def test_bad_files_are_a_400_with_the_reason_and_leave_nothing(api, tmp_path, name, content, fields, field):
    response = upload(api("planner"), name, content, **fields)
    assert response.status_code == 400, response.content
    assert response.json()["field"] == field
    assert not list((tmp_path / "var" / "imports").glob("*/*"))


def test_commit_checks_and_is_all_or_nothing(api):
    planner = api("planner")
    frame = gpd.GeoDataFrame({"n": [1]}, geometry=[shapely.Point(114.05, 22.54)], crs=4326)
    preview_id = upload(planner, "p.geojson", geojson_bytes(frame)).json()["id"]
    assert commit(planner, preview_id, "Bad Slug!").json()["field"] == "slug"
    assert commit(planner, preview_id, "ok", read_roles=["emperor"]).json()["field"] == "read_roles"
    assert api("admin").post(f"/api/gis/imports/{preview_id}/commit/", {"slug": "x", "title": "x"}).status_code == 404
    assert not Dataset.objects.exists() and not DatasetFeature.objects.exists()
    assert commit(planner, preview_id, "ok").status_code == 201
    again = commit(planner, preview_id, "ok2")
    assert again.status_code == 400 and again.json()["field"] == "preview"
    assert Dataset.objects.count() == 1


def test_only_planners_and_admins_import(api):
    response = upload(api("inspector"), "p.geojson", b'{"type":"FeatureCollection","features":[]}')
    assert response.status_code == 403


def test_export_refuses_bad_filters_and_formats(api):
    client = api("planner")
    assert client.get("/api/gis/layers/roads/export/", {"f": "dwg"}).json()["field"] == "f"
    bad = client.get("/api/gis/layers/roads/export/", {"f": "csv", "filter": "name LIKE"})
    assert bad.status_code == 400 and bad.json()["field"] == "filter"
    sneaky = client.get("/api/gis/layers/roads/export/", {"f": "csv", "filter": "owner__password = 'x'"})
    assert sneaky.status_code == 400 and "owner__password" in sneaky.json()["detail"]
    in_a_crs = client.get("/api/gis/layers/roads/export/", {"f": "gpkg", "crs": "EPSG:4547"})  # files are WGS84
    assert in_a_crs.status_code == 400 and "unknown query parameter 'crs'" in in_a_crs.json()["detail"]
    assert api("inspector").get("/api/gis/layers/water-pipes/export/", {"f": "csv"}).status_code == 404


def test_import_layer_command(tmp_path, user_for):
    path = tmp_path / "parks.geojson"
    frame = gpd.GeoDataFrame({"名称": ["公园"]}, geometry=[shapely.box(114.05, 22.53, 114.06, 22.54)], crs=4326)
    path.write_bytes(geojson_bytes(frame))
    out = stdio.StringIO()
    call_command("import_layer", str(path), "--slug", "parks", "--title", "公园", "--user", "planner", stdout=out)
    assert "ds-parks" in out.getvalue()
    dataset = Dataset.objects.get(slug="parks")
    assert dataset.features.count() == 1
    audit = AuditEntry.objects.get(action="dataset.import", target_id=str(dataset.pk))
    assert audit.actor.username == "planner" and audit.changes["features"] == 1


def test_uncommitted_uploads_are_forgotten_after_a_day(api, tmp_path):
    from datetime import timedelta

    from django.utils import timezone

    from gis.models import ImportPreview

    planner = api("planner")
    frame = gpd.GeoDataFrame({"n": [1]}, geometry=[shapely.Point(114.05, 22.54)], crs=4326)
    old = upload(planner, "old.geojson", geojson_bytes(frame)).json()["id"]
    ImportPreview.objects.filter(pk=old).update(created_at=timezone.now() - timedelta(hours=25))
    assert commit(planner, old, "late").json()["field"] == "preview"  # too old to commit
    upload(planner, "new.geojson", geojson_bytes(frame))
    assert not ImportPreview.objects.filter(pk=old).exists()
    assert not (tmp_path / "var" / "imports" / old).exists()
