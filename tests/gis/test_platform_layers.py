"""The layers of the other apps' spatial tables (unit grids, components, valves, service connections, incidents,
cases): who may read each, their items through OGC API - Features and their vector tiles."""

import pytest

from dispatch import services as dispatch_services
from dispatch.models import Incident, IncidentType
from gis.models import Address
from grid.models import Case, Component, UnitGrid
from pipelines_mgmt.models import ServiceConnection, Valve

from .mvt import decode
from .test_tiles import tile_of

pytestmark = pytest.mark.django_db
LAYERS = {
    "unit-grids": UnitGrid,
    "components": Component,
    "valves": Valve,
    "customers": ServiceConnection,
    "incidents": Incident,
    "cases": Case,
}


@pytest.mark.parametrize(
    ("username", "readable"),
    [
        ("planner", {"unit-grids", "components", "valves", "customers"}),
        ("operator", {"unit-grids", "components", "valves", "customers", "incidents"}),
        ("griddispatcher", {"unit-grids", "components", "cases"}),
        ("inspector", {"unit-grids", "components"}),
    ],
)
def test_roles_decide_which_platform_layers_a_user_reads(api, username, readable):
    client = api(username)
    listed = {c["id"] for c in client.get("/ogcapi/collections").json()["collections"]}
    assert listed & set(LAYERS) == readable
    for layer in set(LAYERS) - readable:
        assert client.get(f"/ogcapi/collections/{layer}/items?limit=1").status_code == 404
        assert client.get(f"/tiles/{layer}/12/0/0.pbf").status_code == 404


@pytest.mark.parametrize(
    ("username", "layer"),
    [
        ("planner", "unit-grids"),
        ("planner", "components"),
        ("planner", "valves"),
        ("planner", "customers"),
        ("operator", "incidents"),
        ("griddispatcher", "cases"),
    ],
)
def test_every_row_is_an_item_with_the_allow_listed_properties(api, user_for, username, layer):
    client = api(username)
    model = LAYERS[layer]
    if layer == "incidents":  # the demo city starts without any
        where = Address.objects.order_by("pk").first().geom
        fire = IncidentType.objects.get(code="119-FIRE-BUILDING")
        dispatch_services.create_incident(user_for("calltaker"), incident_type=fire, point=where, confirm_new=True)
    total = model.objects.count()
    assert total > 0, f"the demo city has no {layer}"
    page = client.get(f"/ogcapi/collections/{layer}/items?limit=3")
    assert page.status_code == 200, page.content
    body = page.json()
    assert body["numberMatched"] == total and len(body["features"]) == min(3, total)
    queryables = client.get(f"/ogcapi/collections/{layer}/queryables").json()["properties"]
    for feature in body["features"]:
        assert set(feature["properties"]) <= set(queryables)
        assert feature["geometry"]["type"] in ("Point", "Polygon")


def test_components_filter_by_class_and_draw_on_their_tile(api):
    client = api("planner")
    component = Component.objects.select_related("component_class").order_by("pk").first()
    code = component.component_class.code
    expected = Component.objects.filter(component_class__code=code).count()
    found = client.get(f"/ogcapi/collections/components/items?filter=class_code='{code}'&limit=1").json()
    assert found["numberMatched"] == expected

    x, y = tile_of(component.geom.x, component.geom.y, 16)
    tile = client.get(f"/tiles/components/16/{x}/{y}.pbf")
    assert tile.status_code == 200
    features = decode(tile.content)["components"]["features"]
    assert component.ident in {f["properties"]["ident"] for f in features}
    drawn = next(f for f in features if f["properties"]["ident"] == component.ident)
    assert drawn["properties"]["class_code"] == code and drawn["type"] == "Point"
    assert client.get(f"/tiles/components/12/{x >> 4}/{y >> 4}.pbf").status_code == 204  # below its min zoom


def test_a_reported_case_is_in_the_cases_layer_at_once(api):
    """Cases are a live layer (never cached): a case reported a moment ago is on the next tile."""
    client = api("griddispatcher")
    grid = UnitGrid.objects.order_by("code").first()
    spot = grid.geom.point_on_surface
    x, y = tile_of(spot.x, spot.y, 15)
    before = decode(client.get(f"/tiles/cases/15/{x}/{y}.pbf").content).get("cases", {"features": []})["features"]
    report = {"category_code": "06010", "location": {"type": "Point", "coordinates": [spot.x, spot.y]}}
    batch = api("inspector").post(
        "/api/grid/cases/batch/", {"reports": [{**report, "idempotency_key": "layer-1"}]}, format="json"
    )
    number = batch.json()["results"][0]["number"]
    after = decode(client.get(f"/tiles/cases/15/{x}/{y}.pbf").content)["cases"]["features"]
    assert len(after) == len(before) + 1
    assert number in {f["properties"]["number"] for f in after}
