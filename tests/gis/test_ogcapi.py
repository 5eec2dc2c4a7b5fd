"""OGC API - Features on the real PostGIS test database, checked by our own requests and by real clients
nobody here wrote: GDAL's OAPIF driver (ogrinfo / ogr2ogr) and OWSLib, both against a real uvicorn."""

import base64
import json
import os
import shutil
import subprocess
from urllib.parse import urlsplit

import pytest
from django.contrib.gis.geos import GEOSGeometry, Polygon
from django.db import connection
from rest_framework.test import APIClient

from core.models import AdminArea
from dispatch.models import Vehicle
from gis.models import Address, Road
from pipelines_mgmt.models import Pipe

pytestmark = pytest.mark.django_db
PASSWORD = "cityops-demo"
ROADS = connection.ops.quote_name(Road._meta.db_table)
POLYGON_WKT = "POLYGON((114.02 22.51,114.06 22.51,114.06 22.55,114.02 22.55,114.02 22.51))"


def _ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [feature["id"] for feature in response.json()["features"]]


def _path(href: str) -> str:
    parts = urlsplit(href)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


# ------------------------------------------------------------------------------------------ documents


def test_landing_conformance_and_collections(api):
    client = api("planner")
    landing = client.get("/ogcapi/")
    assert landing.status_code == 200 and landing["Content-Type"].startswith("application/json")
    rels = {link["rel"]: link["href"] for link in landing.json()["links"]}
    assert {"self", "conformance", "data", "service-desc"} <= set(rels)
    assert rels["data"].endswith("/ogcapi/collections")
    descs = [link["href"] for link in landing.json()["links"] if link["rel"] == "service-desc"]
    assert any("/api/schema/" in href for href in descs)
    openapi = client.get(_path(descs[0]))
    assert openapi.status_code == 200 and openapi.json()["openapi"].startswith("3.0")
    assert "/collections/{collectionId}/items" in openapi.json()["paths"]

    conforms = client.get("/ogcapi/conformance").json()["conformsTo"]
    for suffix in [
        "ogcapi-features-1/1.0/conf/core",
        "ogcapi-features-1/1.0/conf/geojson",
        "ogcapi-features-3/1.0/conf/filter",
        "ogcapi-features-3/1.0/conf/features-filter",
        "cql2/1.0/conf/cql2-text",
        "cql2/1.0/conf/cql2-json",
        "cql2/1.0/conf/basic-cql2",
        "cql2/1.0/conf/basic-spatial-functions",
    ]:
        assert f"http://www.opengis.net/spec/{suffix}" in conforms

    body = client.get("/ogcapi/collections").json()
    ids = [c["id"] for c in body["collections"]]
    assert ids == [  # the basemap's, then each app's own, in INSTALLED_APPS order
        "districts",
        "streets",
        "communities",
        "roads",
        "addresses",
        "water",
        "green",
        "unit-grids",
        "components",
        "water-pipes",
        "gas-pipes",
        "valves",
        "customers",
        "stations",
    ]
    roads = next(c for c in body["collections"] if c["id"] == "roads")
    assert roads["itemType"] == "feature" and roads["title"] == "道路"
    assert roads["extent"]["spatial"]["crs"].endswith("CRS84")
    west, south, east, north = roads["extent"]["spatial"]["bbox"][0]
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent(geom) e FROM {ROADS}) s"  # noqa: S608 (table name from the model)
        )
        expected = cursor.fetchone()
    assert [west, south, east, north] == pytest.approx(list(expected))
    assert {link["rel"] for link in roads["links"]} >= {"self", "items"}

    one = client.get("/ogcapi/collections/districts")
    assert one.status_code == 200 and one.json()["id"] == "districts"
    queryables = client.get("/ogcapi/collections/roads/queryables").json()
    assert queryables["properties"]["lanes"]["type"] == "integer"
    assert queryables["properties"]["oneway"]["type"] == "boolean"
    assert "geometry" in queryables["properties"] and queryables["additionalProperties"] is False


def test_item_and_feature_shape(api):
    client = api("planner")
    road = Road.objects.order_by("id").first()
    response = client.get(f"/ogcapi/collections/roads/items/{road.id}")
    assert response.status_code == 200 and response["Content-Type"].startswith("application/geo+json")
    feature = response.json()
    assert feature["type"] == "Feature" and feature["id"] == road.id
    assert feature["properties"] == {
        "name": road.name,
        "road_class": road.road_class,
        "speed_kmh": road.speed_kmh,
        "oneway": road.oneway,
        "lanes": road.lanes,
    }
    assert GEOSGeometry(json.dumps(feature["geometry"])).equals_exact(road.geom, 1e-6)
    assert client.get("/ogcapi/collections/roads/items/999999999").status_code == 404
    assert client.get("/ogcapi/collections/roads/items/abc").status_code == 404
    assert client.get("/ogcapi/collections/nope/items").status_code == 404


# ------------------------------------------------------------------------------------------ items


def test_paging_with_next_links_returns_every_row_once(api):
    client = api("planner")
    url = "/ogcapi/collections/roads/items?limit=150"
    seen: list[int] = []
    pages = 0
    while url:
        response = client.get(url)
        assert response["Content-Type"].startswith("application/geo+json")
        body = response.json()
        assert body["numberMatched"] == Road.objects.count()
        assert body["numberReturned"] == len(body["features"]) <= 150
        seen += _ids(response)
        links = {link["rel"]: link["href"] for link in body["links"]}
        assert ("prev" in links) == (pages > 0)
        url = _path(links["next"]) if "next" in links else None
        pages += 1
    assert len(seen) == len(set(seen)) == Road.objects.count()
    assert set(seen) == set(Road.objects.values_list("id", flat=True))
    assert pages == -(-Road.objects.count() // 150)


def test_geojson_accept_header_is_answered(api):
    """A client that asks only for application/geo+json (no application/json) gets the items, not a 406."""
    client = api("planner")
    for accept in ["application/geo+json", "application/geo+json, application/json;q=0.9", "*/*"]:
        response = client.get("/ogcapi/collections/roads/items?limit=3", HTTP_ACCEPT=accept)
        assert response.status_code == 200, (accept, response.content)
        assert response["Content-Type"].startswith("application/geo+json")
        assert response.json()["numberReturned"] == 3
    refused = APIClient().get("/ogcapi/collections/roads/items", HTTP_ACCEPT="application/geo+json")
    assert refused.status_code in (401, 403) and refused.json()["error"] == "not_authenticated"


def test_limit_bounds_and_default(api):
    client = api("planner")
    body = client.get("/ogcapi/collections/addresses/items").json()
    assert body["numberReturned"] == min(100, Address.objects.count())
    capped = client.get("/ogcapi/collections/addresses/items?limit=50000").json()
    assert capped["numberReturned"] == min(10000, Address.objects.count())
    for bad in ["limit=0", "limit=x", "offset=-1"]:
        response = client.get(f"/ogcapi/collections/roads/items?{bad}")
        assert response.status_code == 400 and response.json()["field"] == bad.split("=")[0]
    unknown = client.get("/ogcapi/collections/roads/items?colour=red")
    assert unknown.status_code == 400 and "colour" in unknown.json()["detail"]


def test_bbox_equals_postgis(api):
    client = api("planner")
    bbox = (114.02, 22.51, 114.06, 22.55)
    got = _ids(client.get("/ogcapi/collections/roads/items?limit=10000&bbox=" + ",".join(map(str, bbox))))
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id FROM {ROADS} WHERE ST_Intersects(geom, ST_MakeEnvelope(%s, %s, %s, %s, 4326))", bbox)  # noqa: S608
        expected = {row[0] for row in cursor.fetchall()}
    assert expected and len(expected) < Road.objects.count()
    assert sorted(got) == sorted(expected)
    bad = client.get("/ogcapi/collections/roads/items?bbox=1,2,3")
    assert bad.status_code == 400 and bad.json()["field"] == "bbox"


def test_properties_sortby_and_equality(api):
    client = api("planner")
    body = client.get("/ogcapi/collections/roads/items?limit=20&properties=name,lanes&sortby=-lanes,name").json()
    assert all(set(f["properties"]) == {"name", "lanes"} for f in body["features"])
    expected = list(Road.objects.order_by("-lanes", "name", "id").values_list("id", flat=True)[:20])
    assert [f["id"] for f in body["features"]] == expected
    arterial = _ids(client.get("/ogcapi/collections/roads/items?limit=10000&road_class=arterial&oneway=false"))
    assert sorted(arterial) == sorted(
        Road.objects.filter(road_class="arterial", oneway=False).values_list("id", flat=True)
    )


def test_datetime_on_a_layer_with_a_time_field(api):
    from django.utils import timezone

    vehicles = list(Vehicle.objects.order_by("id")[:3])
    base = timezone.now().replace(microsecond=0) - timezone.timedelta(days=3)
    for i, vehicle in enumerate(vehicles):
        Vehicle.objects.filter(pk=vehicle.pk).update(last_fix_at=base + timezone.timedelta(days=i))
    client = api("operator")
    start = (base + timezone.timedelta(hours=12)).isoformat().replace("+00:00", "Z")
    got = _ids(client.get(f"/ogcapi/collections/vehicles/items?limit=10000&datetime={start}/.."))
    expected = Vehicle.objects.filter(last_fix_at__gte=base + timezone.timedelta(hours=12))
    assert sorted(got) == sorted(expected.values_list("id", flat=True)) and len(got) >= 2
    bad = client.get("/ogcapi/collections/vehicles/items?datetime=yesterday")
    assert bad.status_code == 400 and bad.json()["field"] == "datetime"


# ------------------------------------------------------------------------------------------ CQL2

POLYGON = Polygon.from_bbox((114.02, 22.51, 114.06, 22.55))
POLYGON.srid = 4326

CQL2_CASES = [
    # (name, layer, cql2-text, cql2-json, expected queryset)
    (
        "comparison",
        "roads",
        "lanes >= 4 AND road_class <> 'branch'",
        {
            "op": "and",
            "args": [
                {"op": ">=", "args": [{"property": "lanes"}, 4]},
                {"op": "<>", "args": [{"property": "road_class"}, "branch"]},
            ],
        },
        lambda: Road.objects.filter(lanes__gte=4).exclude(road_class="branch"),
    ),
    (
        "like",
        "roads",
        "name LIKE '%路' AND NOT name LIKE '_乐%'",
        {
            "op": "and",
            "args": [
                {"op": "like", "args": [{"property": "name"}, "%路"]},
                {"op": "not", "args": [{"op": "like", "args": [{"property": "name"}, "_乐%"]}]},
            ],
        },
        lambda: Road.objects.filter(name__endswith="路").exclude(name__regex=r"^.乐"),
    ),
    (
        "in",
        "roads",
        "road_class IN ('arterial', 'expressway')",
        {"op": "in", "args": [{"property": "road_class"}, ["arterial", "expressway"]]},
        lambda: Road.objects.filter(road_class__in=["arterial", "expressway"]),
    ),
    (
        "s_intersects",
        "water-pipes",
        f"S_INTERSECTS(geometry, {POLYGON_WKT}) AND diameter_mm > 200",
        {
            "op": "and",
            "args": [
                {"op": "s_intersects", "args": [{"property": "geometry"}, json.loads(POLYGON.geojson)]},
                {"op": ">", "args": [{"property": "diameter_mm"}, 200]},
            ],
        },
        lambda: Pipe.objects.filter(network__utility="water", geom__intersects=POLYGON, diameter_mm__gt=200),
    ),
    (
        "district_code",
        "addresses",
        "district_code = '{district}' AND number < 50",
        {
            "op": "and",
            "args": [
                {"op": "=", "args": [{"property": "district_code"}, "{district}"]},
                {"op": "<", "args": [{"property": "number"}, 50]},
            ],
        },
        None,  # built in the test, once the district code is known
    ),
]


@pytest.mark.parametrize("lang", ["cql2-text", "cql2-json"])
@pytest.mark.parametrize("case", CQL2_CASES, ids=[c[0] for c in CQL2_CASES])
def test_cql2_filters_equal_orm(api, case, lang):
    name, layer, text, as_json, queryset = case
    district = AdminArea.objects.filter(level="district").order_by("code").first().code
    if name == "district_code":
        text = text.replace("{district}", district)
        as_json = json.loads(json.dumps(as_json).replace("{district}", district))
        expected_qs = Address.objects.filter(district__code=district, number__lt=50)
    else:
        expected_qs = queryset()
    expected = sorted(expected_qs.values_list("id", flat=True))
    assert 0 < len(expected) < expected_qs.model.objects.count()
    client = api("planner")
    response = client.get(
        f"/ogcapi/collections/{layer}/items",
        {"limit": 10000, "filter-lang": lang, "filter": text if lang == "cql2-text" else json.dumps(as_json)},
    )
    assert sorted(_ids(response)) == expected
    assert response.json()["numberMatched"] == len(expected)


@pytest.mark.parametrize(
    ("layer", "params", "field", "needle"),
    [
        ("roads", {"filter": "owner__password = 'x'"}, "filter", "owner__password"),
        ("roads", {"filter": "id__in = 1"}, "filter", "id__in"),
        ("roads", {"filter": "lanes > 2 OR speed_kmh__gt = 1"}, "filter", "speed_kmh__gt"),
        ("water-pipes", {"filter": "start_node = 1"}, "filter", "start_node"),
        ("water-pipes", {"filter": "owner__password LIKE 'p%'"}, "filter", "owner__password"),
        (
            "roads",
            {
                "filter-lang": "cql2-json",
                "filter": json.dumps({"op": "=", "args": [{"property": "owner__password"}, "x"]}),
            },
            "filter",
            "owner__password",
        ),
        ("roads", {"sortby": "-owner__password"}, "sortby", "owner__password"),
        ("roads", {"properties": "name,geom__srid"}, "properties", "geom__srid"),
        ("roads", {"owner__password": "x"}, "owner__password", "owner__password"),
        ("roads", {"filter": "lanes >"}, "filter", "invalid cql2-text"),
        ("roads", {"filter": "name = 'x' AND"}, "filter", "Unexpected"),
        ("roads", {"filter-lang": "cql2-json", "filter": "{nope"}, "filter", "invalid CQL2-JSON"),
        ("roads", {"filter-lang": "cql2-json", "filter": '{"op": "bogus", "args": []}'}, "filter", "invalid cql2-json"),
        ("roads", {"filter-lang": "ecql", "filter": "lanes > 1"}, "filter-lang", "unsupported filter-lang"),
        ("roads", {"filter": "lanes = 'many'"}, "filter", "lanes"),
        ("roads", {"filter": "S_INTERSECTS(name, POINT(1 2))"}, "filter", "name"),
        ("roads", {"filter": "CASEI(name) = 'x'"}, "filter", "not supported"),
        (
            "roads",
            {
                "filter-lang": "cql2-json",
                "filter": json.dumps(
                    {"op": "t_after", "args": [{"property": "name"}, {"timestamp": "2020-01-01T00:00:00Z"}]}
                ),
            },
            "filter",
            "datetime property",
        ),
        ("vehicles", {"datetime": "2024-02-30"}, "datetime", "2024-02-30"),
        ("vehicles", {"datetime": "2024-13-01T00:00:00Z/.."}, "datetime", "2024-13-01"),
    ],
)
def test_bad_filters_are_400_naming_the_problem(api, layer, params, field, needle):
    response = api("operator").get(f"/ogcapi/collections/{layer}/items", params)
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["error"] == "invalid_input" and body["field"] == field
    assert needle in body["detail"]
    assert "SELECT" not in body["detail"]


# ------------------------------------------------------------------------------------------ access


def test_roles_hide_layers(api):
    inspector = api("inspector")
    listed = [c["id"] for c in inspector.get("/ogcapi/collections").json()["collections"]]
    assert "water-pipes" not in listed and "gas-pipes" not in listed and "vehicles" not in listed
    assert "roads" in listed
    pipe = Pipe.objects.filter(network__utility="water").first()
    for path in ["", "/items", f"/items/{pipe.id}", "/queryables"]:
        response = inspector.get(f"/ogcapi/collections/water-pipes{path}")
        assert response.status_code == 404, path
        assert "water-pipes" in response.json()["detail"] or "no feature" in response.json()["detail"]
        # exactly what a collection that does not exist looks like
        assert response.json()["error"] == api("inspector").get(f"/ogcapi/collections/no-such{path}").json()["error"]
    planner = api("planner")
    assert planner.get("/ogcapi/collections/water-pipes").status_code == 200
    assert planner.get("/ogcapi/collections/vehicles").status_code == 404
    operator = api("operator")
    assert "vehicles" in [c["id"] for c in operator.get("/ogcapi/collections").json()["collections"]]


def test_anonymous_is_refused_and_basic_auth_works(user_for):
    anonymous = APIClient()
    for path in ["/ogcapi/", "/ogcapi/collections", "/ogcapi/collections/roads/items"]:
        response = anonymous.get(path)
        assert response.status_code in (401, 403) and response.json()["error"] == "not_authenticated"
    user_for("planner")
    token = base64.b64encode(f"planner:{PASSWORD}".encode()).decode()
    ok = APIClient().get("/ogcapi/collections", HTTP_AUTHORIZATION=f"Basic {token}")
    assert ok.status_code == 200 and "water-pipes" in [c["id"] for c in ok.json()["collections"]]
    again = APIClient().get("/ogcapi/collections", HTTP_AUTHORIZATION=f"Basic {token}")  # remembered pair
    assert again.status_code == 200
    wrong = base64.b64encode(b"planner:wrong").decode()
    assert APIClient().get("/ogcapi/collections", HTTP_AUTHORIZATION=f"Basic {wrong}").status_code in (401, 403)


# ------------------------------------------------------------------------------------------ real clients

needs_gdal = pytest.mark.skipif(not shutil.which("ogr2ogr"), reason="gdal-bin not installed")


def _gdal(*args, tmp_path):
    env = {**os.environ, "GDAL_HTTP_USERPWD": f"planner:{PASSWORD}", "CPL_DEBUG": "OFF", "GDAL_HTTP_TIMEOUT": "60"}
    result = subprocess.run(args, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "ERROR" not in result.stderr, result.stderr
    return result.stdout


@needs_gdal
@pytest.mark.django_db(transaction=True)
def test_gdal_ogrinfo_lists_collections_and_ogr2ogr_copies_a_filtered_layer(asgi_server, demo_city, tmp_path):
    source = f"OAPIF:{asgi_server}/ogcapi/"
    listing = _gdal("ogrinfo", "-ro", "-q", source, tmp_path=tmp_path)
    for layer in ["districts", "roads", "addresses", "stations", "water-pipes", "gas-pipes"]:
        assert f": {layer} " in listing, listing
    assert "vehicles" not in listing  # the planner may not read it

    summary = _gdal("ogrinfo", "-ro", "-so", source, "roads", tmp_path=tmp_path)
    assert f"Feature Count: {Road.objects.count()}" in summary

    west, south, east, north = 114.02, 22.51, 114.06, 22.55
    out = tmp_path / "roads.json"
    _gdal(
        "ogr2ogr",
        "-f",
        "GeoJSON",
        str(out),
        source,
        "roads",
        "-oo",
        "PAGE_SIZE=500",
        "-spat",
        str(west),
        str(south),
        str(east),
        str(north),
        "-where",
        "road_class = 'arterial' AND lanes >= 6",
        tmp_path=tmp_path,
    )
    features = json.loads(out.read_text())["features"]
    box = Polygon.from_bbox((west, south, east, north))
    box.srid = 4326
    expected = Road.objects.filter(geom__intersects=box, road_class="arterial", lanes__gte=6)
    assert expected.count() > 0
    assert len(features) == expected.count()
    assert sorted(f["properties"]["name"] for f in features) == sorted(expected.values_list("name", flat=True))


@pytest.mark.django_db(transaction=True)
def test_owslib_pages_through_items_with_a_cql2_filter(asgi_server, demo_city):
    from owslib.ogcapi.features import Features
    from owslib.util import Authentication

    client = Features(f"{asgi_server}/ogcapi/", auth=Authentication("planner", PASSWORD))
    assert "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text" in client.conformance()["conformsTo"]
    assert "water-pipes" in [c["id"] for c in client.collections()["collections"]]
    assert client.collection_queryables("water-pipes")["properties"]["diameter_mm"]["type"] == "number"

    cql = f"diameter_mm >= 300 AND S_INTERSECTS(geometry, {POLYGON_WKT})"
    expected = set(
        Pipe.objects.filter(network__utility="water", diameter_mm__gte=300, geom__intersects=POLYGON).values_list(
            "id", flat=True
        )
    )
    assert len(expected) > 25
    seen: list[int] = []
    offset = 0
    while True:
        page = client.collection_items("water-pipes", filter=cql, limit=25, offset=offset)
        assert page["numberMatched"] == len(expected)
        seen += [f["id"] for f in page["features"]]
        if not any(link["rel"] == "next" for link in page["links"]):
            break
        offset += page["numberReturned"]
    assert len(seen) == len(set(seen)) and set(seen) == expected
