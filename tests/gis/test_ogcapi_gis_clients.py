"""What GIS clients need of the OGC API beyond Part 1: coordinates in CGCS2000 and the city's projected CRS (Part 2,
checked against pyproj), field types from a schema (Part 5 for QGIS, `describedBy` for GDAL), CQL2-JSON by POST, and
GDAL's OAPIF driver sending a `-where` clause to the server instead of paging through everything (GDAL 3.6, the
installed gdal-bin, against a real uvicorn)."""

import json
import os
import shutil
import subprocess
import uuid
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pyproj
import pytest
from django.db import connection
from django.utils import timezone

from core.models import CityProfile
from dispatch.models import Vehicle
from gis import ogcapi
from gis.models import Road
from pipelines_mgmt.models import Pipe

from .test_ogcapi import PASSWORD, ROADS, _ids, _path

pytestmark = pytest.mark.django_db
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG = "http://www.opengis.net/def/crs/EPSG/0/"


def _positions(geometry) -> list[tuple[float, float]]:
    """Every position of a GeoJSON (Multi)Point/LineString/Polygon."""
    coords = geometry["coordinates"]
    while isinstance(coords[0][0], list):
        coords = [position for part in coords for position in part]
    return [tuple(position) for position in coords] if isinstance(coords[0], list) else [tuple(coords)]


def _flat(positions) -> list[float]:
    return [value for position in positions for value in position]


# ------------------------------------------------------------------------------------------ Part 2: CRS


@pytest.fixture
def projected(demo_city) -> int:
    """The city profile's projected CRS (the demo's CGCS2000 3° Gauss-Krüger zone)."""
    return CityProfile.objects.get().projected_srid


@pytest.mark.parametrize(("srid", "tolerance"), [(4490, 1e-7), (4326, 1e-7), ("profile", 1e-3), (4546, 1e-3)])
def test_crs_returns_what_pyproj_computes_in_the_crs_axis_order(api, projected, srid, tolerance):
    if srid == 4546:  # another city's zone (CM 111°E): the API follows the profile
        CityProfile.objects.update(projected_srid=srid)
    srid = projected if srid == "profile" else srid
    client = api("planner")
    uri = f"{EPSG}{srid}"
    response = client.get("/ogcapi/collections/roads/items", {"limit": 40, "crs": uri})
    assert response.status_code == 200, response.content
    assert response["Content-Crs"] == f"<{uri}>"
    # EPSG's own axis order: latitude first for 4326/4490, northing (X) first for the CGCS2000 Gauss-Krüger zone
    transformer = pyproj.Transformer.from_crs("OGC:CRS84", srid)
    stored = dict(Road.objects.values_list("id", "geom"))
    features = response.json()["features"]
    assert len(features) == 40
    for feature in features:
        expected = [transformer.transform(lon, lat) for lon, lat in stored[feature["id"]].coords]
        assert _flat(_positions(feature["geometry"])) == pytest.approx(_flat(expected), abs=tolerance)
    first = _positions(features[0]["geometry"])[0]
    assert (first[0] < first[1]) if srid in (4326, 4490) else (first[0] > first[1])  # lat < lon; northing > easting

    default = client.get("/ogcapi/collections/roads/items", {"limit": 1})
    assert default["Content-Crs"] == f"<{CRS84}>"
    lon, lat = _positions(default.json()["features"][0]["geometry"])[0]
    assert 113 < lon < 115 and 22 < lat < 23


def test_item_in_cgcs2000_and_collection_crs_metadata(api, projected):
    client = api("planner")
    pipe = Pipe.objects.filter(network__utility="water").order_by("id").first()
    cgcs2000 = f"{EPSG}4490"
    response = client.get(f"/ogcapi/collections/water-pipes/items/{pipe.id}", {"crs": cgcs2000})
    assert response.status_code == 200 and response["Content-Crs"] == f"<{cgcs2000}>"
    expected = [pyproj.Transformer.from_crs(4326, 4490).transform(lat, lon) for lon, lat in pipe.geom.coords]
    assert _flat(_positions(response.json()["geometry"])) == pytest.approx(_flat(expected), abs=1e-7)

    collection = client.get("/ogcapi/collections/water-pipes").json()
    assert collection["storageCrs"] == CRS84
    assert collection["crs"][0] == CRS84
    assert {cgcs2000, f"{EPSG}{projected}"} <= set(collection["crs"])
    conforms = client.get("/ogcapi/conformance").json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs" in conforms


def test_bbox_crs_in_the_projected_crs_equals_postgis(api, projected):
    client = api("planner")
    to_projected = pyproj.Transformer.from_crs("OGC:CRS84", projected, always_xy=True)
    (e0, n0), (e1, n1) = to_projected.transform(114.02, 22.51), to_projected.transform(114.06, 22.55)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id FROM {ROADS} WHERE ST_Intersects(ST_Transform(geom, %s), ST_MakeEnvelope(%s, %s, %s, %s, %s))",  # noqa: S608 (table name from the model)
            [projected, e0, n0, e1, n1, projected],
        )
        expected = sorted(row[0] for row in cursor.fetchall())
    assert 0 < len(expected) < Road.objects.count()
    # Part 2: the bbox is in the axis order of bbox-crs, for this CRS northing first
    bbox = ",".join(str(v) for v in (n0, e0, n1, e1))
    got = client.get(
        "/ogcapi/collections/roads/items", {"limit": 10000, "bbox": bbox, "bbox-crs": f"{EPSG}{projected}"}
    )
    assert sorted(_ids(got)) == expected

    # CGCS2000 is latitude first; at city scale it is the WGS84 box
    in_cgcs2000 = client.get(
        "/ogcapi/collections/roads/items",
        {"limit": 10000, "bbox": "22.51,114.02,22.55,114.06", "bbox-crs": f"{EPSG}4490"},
    )
    in_crs84 = client.get("/ogcapi/collections/roads/items", {"limit": 10000, "bbox": "114.02,22.51,114.06,22.55"})
    assert sorted(_ids(in_cgcs2000)) == sorted(_ids(in_crs84))


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("items", {"crs": f"{EPSG}3857"}, "crs"),
        ("items", {"crs": "EPSG:4490"}, "crs"),
        ("items", {"bbox": "0,0,1,1", "bbox-crs": f"{EPSG}32650"}, "bbox-crs"),
        ("items", {"bbox": "22.55,114.06,22.51,114.02", "bbox-crs": f"{EPSG}4490"}, "bbox"),
        ("items", {"filter": "lanes > 1", "filter-crs": f"{EPSG}4490"}, "filter-crs"),
        ("items/1", {"crs": "nonsense"}, "crs"),
    ],
)
def test_unknown_crs_is_a_400_naming_the_parameter(api, path, params, field):
    response = api("planner").get(f"/ogcapi/collections/roads/{path}", params)
    assert response.status_code == 400, response.content
    assert response.json()["field"] == field
    if field in ("crs", "bbox-crs"):
        assert CRS84 in response.json()["detail"]  # the answer lists what is supported


# ------------------------------------------------------------------------------------------ schemas


def test_part5_schema_and_the_feature_schema_gdal_reads(api):
    client = api("planner")
    links = {link["rel"]: link for link in client.get("/ogcapi/collections/water-pipes").json()["links"]}
    part5 = links["http://www.opengis.net/def/rel/ogc/1.0/schema"]
    described_by = links["describedBy"]
    assert part5["type"] == described_by["type"] == "application/schema+json"

    schema = client.get(_path(part5["href"]))
    assert schema["Content-Type"].startswith("application/schema+json")
    props = schema.json()["properties"]
    assert props["diameter_mm"]["type"] == "number" and props["install_year"]["type"] == "integer"
    assert props["material"]["type"] == "string"
    assert props["geometry"] == {
        "title": "geometry",
        "format": "geometry-linestring",
        "x-ogc-role": "primary-geometry",
    }
    assert props["id"]["x-ogc-role"] == "id"
    assert [name for name, p in props.items() if "x-ogc-propertySeq" in p] == list(
        ogcapi.layers.get("water-pipes").properties
    )

    feature = client.get(_path(described_by["href"])).json()
    nested = feature["properties"]["properties"]["properties"]
    assert {name: p["type"] for name, p in nested.items()} == {
        name: p["type"] for name, p in props.items() if name not in ("id", "geometry")
    }
    times = api("operator").get("/ogcapi/collections/vehicles/schema")
    last_fix = times.json()["properties"]["last_fix_at"]
    assert last_fix["format"] == "date-time" and last_fix["x-ogc-role"] == "primary-instant"

    conforms = client.get("/ogcapi/conformance").json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-5/1.0/conf/schemas" in conforms
    hidden = api("inspector").get("/ogcapi/collections/water-pipes/schema")
    assert hidden.status_code == 404


def test_openapi_names_each_readable_collections_queryables_and_cql_text(api):
    doc = api("planner").get("/ogcapi/api").json()
    roads = doc["paths"]["/collections/roads/items"]["get"]["parameters"]
    named = {p["name"] for p in roads if "name" in p}
    assert set(ogcapi.layers.get("roads").properties) <= named
    shared = doc["components"]["parameters"]
    assert {"cql-text", "cql2-text", "cql2-json"} <= set(shared["filter-lang"]["schema"]["enum"])
    assert f"{EPSG}4490" in shared["crs"]["schema"]["enum"]
    assert "/collections/water-pipes/items" in doc["paths"]
    inspector = api("inspector").get("/ogcapi/api").json()
    assert "/collections/water-pipes/items" not in inspector["paths"]  # a hidden collection is not revealed


# ------------------------------------------------------------------------------------------ CQL2-JSON by POST


def test_cql2_json_by_post_equals_get(api):
    client = api("planner")
    cql = {
        "op": "and",
        "args": [
            {"op": ">=", "args": [{"property": "lanes"}, 4]},
            {"op": "=", "args": [{"property": "oneway"}, False]},
        ],
    }
    expected = sorted(Road.objects.filter(lanes__gte=4, oneway=False).values_list("id", flat=True))
    assert 10 < len(expected) < Road.objects.count()
    posted = client.post("/ogcapi/collections/roads/items?limit=10", cql, format="json")
    assert posted.status_code == 200, posted.content
    assert posted.json()["numberMatched"] == len(expected)
    seen = _ids(posted)
    next_href = next(link["href"] for link in posted.json()["links"] if link["rel"] == "next")
    assert parse_qs(urlsplit(next_href).query)["filter-lang"] == ["cql2-json"]
    while next_href:  # the next pages are plain GETs
        page = client.get(_path(next_href))
        seen += _ids(page)
        next_href = next((link["href"] for link in page.json()["links"] if link["rel"] == "next"), None)
    assert sorted(seen) == expected
    as_get = client.get(
        "/ogcapi/collections/roads/items", {"limit": 10000, "filter-lang": "cql2-json", "filter": json.dumps(cql)}
    )
    assert sorted(_ids(as_get)) == expected


@pytest.mark.parametrize(
    ("body", "query", "needle"),
    [
        ("{not json", "", "CQL2-JSON"),
        ('"lanes > 2"', "", "JSON object"),
        ('{"op": "=", "args": [{"property": "owner__password"}, "x"]}', "", "owner__password"),
        ('{"op": "=", "args": [{"property": "lanes"}, 2]}', "?filter=lanes%3E1", "not both"),
    ],
)
def test_bad_posted_filters_are_400(api, body, query, needle):
    response = api("planner").post(
        f"/ogcapi/collections/roads/items{query}", body, content_type="application/query-cql-json"
    )
    assert response.status_code == 400, response.content
    assert response.json()["field"] == "filter" and needle in response.json()["detail"]


def test_cql_text_takes_gdal_literals(api):
    client = api("operator")
    vehicles = list(Vehicle.objects.order_by("id")[:4])
    base = timezone.now().replace(microsecond=0) - timezone.timedelta(days=2)
    for i, vehicle in enumerate(vehicles):
        Vehicle.objects.filter(pk=vehicle.pk).update(last_fix_at=base + timezone.timedelta(hours=i))
    since = (base + timezone.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    response = client.get(
        "/ogcapi/collections/vehicles/items",
        {"limit": 10000, "filter-lang": "cql-text", "filter": f"(last_fix_at >= '{since}') AND (crew >= 0)"},
    )
    expected = Vehicle.objects.filter(last_fix_at__gte=base + timezone.timedelta(hours=2), crew__gte=0)
    assert sorted(_ids(response)) == sorted(expected.values_list("id", flat=True)) and len(_ids(response)) >= 2
    oneway = api("planner").get(
        "/ogcapi/collections/roads/items", {"limit": 10000, "filter-lang": "cql-text", "filter": "oneway = 1"}
    )
    assert sorted(_ids(oneway)) == sorted(Road.objects.filter(oneway=True).values_list("id", flat=True))
    # in CQL2 proper a string is not a timestamp
    strict = client.get(
        "/ogcapi/collections/vehicles/items", {"filter-lang": "cql2-text", "filter": f"last_fix_at >= '{since}'"}
    )
    assert strict.status_code == 400 and "last_fix_at" in strict.json()["detail"]


# ------------------------------------------------------------------------------------------ GDAL

needs_gdal = pytest.mark.skipif(not shutil.which("ogr2ogr"), reason="gdal-bin not installed")
SERVER_LOG = Path(__file__).resolve().parents[2] / "var" / "log" / "test-asgi.log"  # the asgi_server fixture's


def _gdal(*args, tmp_path, user="planner", debug=False):
    env = {
        **os.environ,
        "GDAL_HTTP_USERPWD": f"{user}:{PASSWORD}",
        "CPL_DEBUG": "ON" if debug else "OFF",
        "GDAL_HTTP_TIMEOUT": "60",
    }
    result = subprocess.run(args, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "ERROR" not in result.stderr, result.stderr
    return result


def _field_types(summary: str) -> dict[str, str]:
    """`name: Type (w.p)` lines of `ogrinfo -so` → {name: Type}."""
    fields = {}
    for line in summary.splitlines():
        name, sep, rest = line.partition(": ")
        if sep and rest.endswith(")") and " (" in rest and not name.startswith(("Layer", "Geometry", "Extent")):
            fields[name.strip()] = rest.rsplit(" (", 1)[0]
    return fields


@needs_gdal
@pytest.mark.django_db(transaction=True)
def test_ogr2ogr_keeps_decimal_integer_and_datetime_types(asgi_server, demo_city, tmp_path):
    # Whole numbers on the first page, a decimal further on: guessing from the first page makes an Integer field.
    Road.objects.update(speed_kmh=40)
    last = Road.objects.order_by("-id").first()
    Road.objects.filter(pk=last.pk).update(speed_kmh=37.5)
    source = f"OAPIF:{asgi_server}/ogcapi/"

    summary = _gdal("ogrinfo", "-ro", "-so", source, "roads", tmp_path=tmp_path).stdout
    types = _field_types(summary)
    assert types["speed_kmh"] == "Real" and types["lanes"] == "Integer", summary
    assert types["oneway"] == "Integer(Boolean)" and types["name"] == "String", summary

    for ignore_schema, expected in [("NO", 37.5), ("YES", 37)]:  # YES: what GDAL did before there was a schema
        out = tmp_path / f"roads-{ignore_schema}.gpkg"
        _gdal(
            "ogr2ogr", "-f", "GPKG", str(out), source, "roads", "-oo", "PAGE_SIZE=100",
            "-oo", f"IGNORE_SCHEMA={ignore_schema}", tmp_path=tmp_path,
        )  # fmt: skip
        copied = _gdal("ogrinfo", "-ro", "-q", str(out), "roads", "-fid", str(Road.objects.count()), tmp_path=tmp_path)
        kind = "Real" if ignore_schema == "NO" else "Integer"
        assert f"speed_kmh ({kind}) = {expected}\n" in copied.stdout, copied.stdout

    vehicle = Vehicle.objects.order_by("id").first()
    Vehicle.objects.filter(pk=vehicle.pk).update(last_fix_at=timezone.now())
    vehicles = _gdal("ogrinfo", "-ro", "-so", source, "vehicles", tmp_path=tmp_path, user="operator").stdout
    assert _field_types(vehicles)["last_fix_at"] == "DateTime", vehicles


@needs_gdal
@pytest.mark.django_db(transaction=True)
def test_ogr2ogr_sends_the_where_clause_to_the_server(asgi_server, demo_city, tmp_path):
    marker = f"gdal-{uuid.uuid4().hex[:12]}"  # a name no road has: it shows this run's filter in the server's log
    where = f"road_class = 'arterial' AND lanes >= 6 AND name <> '{marker}'"
    out = tmp_path / "arterials.json"
    result = _gdal(
        "ogr2ogr", "-f", "GeoJSON", str(out), f"OAPIF:{asgi_server}/ogcapi/", "roads",
        "-oo", "PAGE_SIZE=50", "-where", where, tmp_path=tmp_path, debug=True,
    )  # fmt: skip
    expected = Road.objects.filter(road_class="arterial", lanes__gte=6)
    assert 0 < expected.count() <= 50 < Road.objects.count()
    assert sorted(f["properties"]["name"] for f in json.loads(out.read_text())["features"]) == sorted(
        expected.values_list("name", flat=True)
    )

    assert "client side" not in result.stderr, result.stderr  # GDAL says so when it filters locally
    fetched = [line.split("Fetch(", 1)[1].rstrip(")") for line in result.stderr.splitlines() if "HTTP: Fetch(" in line]
    items = [url for url in fetched if "/collections/roads/items" in url]
    filtered = [url for url in items if marker in parse_qs(urlsplit(url).query).get("filter", [""])[0]]
    assert filtered and all(parse_qs(urlsplit(url).query)["filter-lang"] == ["cql-text"] for url in filtered)
    # one first page to learn the layer, then the filtered page: no paging through all the roads
    assert len(items) - len(filtered) <= 1 and len(filtered) == 1, fetched

    log = SERVER_LOG.read_text(errors="replace")
    served = [line for line in log.splitlines() if marker in line and "/collections/roads/items" in line]
    assert served and all('" 200' in line for line in served), served


@pytest.mark.django_db(transaction=True)
def test_owslib_posts_cql2_json(asgi_server, demo_city):
    from owslib.ogcapi.features import Features
    from owslib.util import Authentication

    client = Features(f"{asgi_server}/ogcapi/", auth=Authentication("planner", PASSWORD))
    cql = {"op": ">=", "args": [{"property": "diameter_mm"}, 300]}  # OWSLib POSTs `cql=` as the body
    page = client.collection_items("water-pipes", cql=cql, limit=10000)
    expected = Pipe.objects.filter(network__utility="water", diameter_mm__gte=300)
    assert 0 < expected.count() < Pipe.objects.filter(network__utility="water").count()
    assert sorted(f["id"] for f in page["features"]) == sorted(expected.values_list("id", flat=True))
