"""The planner's query builder on the server: S_DWITHIN in metres, statistics by district or unit grid (against
counts and lengths worked out by hand on features made here), zones, and saved queries (CRUD, validation,
organisation isolation, roles)."""

import itertools

import pytest
from django.contrib.auth.models import Group
from django.contrib.gis.geos import LineString, MultiPolygon, Point, Polygon
from django.db.models import Max
from pyproj import Geod

from core.models import AdminArea, Organisation, Role, User
from gis import cql, layers
from gis.models import Address, Road, SavedQuery
from grid.models import UnitGrid

pytestmark = pytest.mark.django_db
GEOD = Geod(ellps="GRS80")
# Two square districts side by side, north of the demo city and near the metric CRS's central meridian (114°E).
WEST, MIDDLE, EAST, SOUTH, NORTH = 114.00, 114.01, 114.02, 23.50, 23.51
LAT = 23.507  # the roads' latitude, north of the unit grid
AREA = f"POLYGON(({WEST} {SOUTH},{EAST} {SOUTH},{EAST} {NORTH},{WEST} {NORTH},{WEST} {SOUTH}))"


def _square(west, south, east, north) -> Polygon:
    return Polygon.from_bbox((west, south, east, north))


@pytest.fixture
def test_area(demo_city):
    """Districts A (west) and B (east), a unit grid in A's south-west quarter, five roads and four addresses."""
    city = AdminArea.objects.get(level=AdminArea.Level.CITY)
    a = AdminArea.objects.create(
        code="990001",
        name="甲区",
        level="district",
        parent=city,
        geom=MultiPolygon(_square(WEST, SOUTH, MIDDLE, NORTH)),
    )
    b = AdminArea.objects.create(
        code="990002",
        name="乙区",
        level="district",
        parent=city,
        geom=MultiPolygon(_square(MIDDLE, SOUTH, EAST, NORTH)),
    )
    street = AdminArea.objects.create(code="990001001", name="甲街道", level="street", parent=a, geom=a.geom)
    community = AdminArea.objects.create(
        code="990001001001", name="甲社区", level="community", parent=street, geom=a.geom
    )
    UnitGrid.objects.create(
        code="990001001001001",
        community=community,
        street=street,
        district=a,
        geom=_square(WEST, SOUTH, WEST + 0.005, SOUTH + 0.005),
        area_m2=1,
    )

    # The demo city inserts roads and addresses with explicit ids (the id sequences stay behind): ids past them.
    ids = itertools.count(
        max(Road.objects.aggregate(m=Max("id"))["m"] or 0, Address.objects.aggregate(m=Max("id"))["m"] or 0) + 1
    )

    def road(name, lanes, road_class, x0, x1, y=LAT):
        return Road.objects.create(
            id=next(ids), name=name, road_class=road_class, speed_kmh=40, lanes=lanes, geom=LineString((x0, y), (x1, y))
        )

    roads = {
        "a1": road("QB-a1", 2, "arterial", 114.001, 114.004),
        "b1": road("QB-b1", 4, "arterial", 114.012, 114.018),
        "ab": road("QB-ab", 6, "branch", 114.005, 114.015),  # crosses from A into B
        "a2": road("QB-a2", 3, "branch", 114.002, 114.003, y=23.502),  # inside the unit grid
        "out": road("QB-out", 8, "branch", 114.03, 114.04),  # in neither district
    }
    # Addresses due north of (114.005, 23.503) at 0, ~55, ~111 and ~221 m.
    addresses = [
        Address.objects.create(
            id=next(ids), road_name="QB路", number=i, label=f"QB路{i}号", district=a, geom=Point(114.005, 23.503 + dy)
        )
        for i, dy in enumerate([0, 0.0005, 0.001, 0.002], start=1)
    ]
    return {"a": a, "b": b, "roads": roads, "addresses": addresses}


def _metres(x0, x1, y=LAT) -> float:
    return GEOD.inv(x0, y, x1, y)[2]


def _stats(client, layer, **params):
    return client.get(f"/api/gis/layers/{layer}/stats/", params)


# ---------------------------------------------------------------------------------------- S_DWITHIN (cql)


def test_s_dwithin_parses_in_metres_and_kilometres_and_refuses_other_units():
    node = cql.parse("S_DWITHIN(geometry, POINT(114 22), 1.5, kilometers) AND name = 'x'")
    assert node.lhs.distance == 1.5 and node.lhs.units == "kilometers"
    roads = layers.get("roads")
    with pytest.raises(cql.FilterError, match="invalid cql2-text"):
        cql.to_q("S_DWITHIN(geometry, POINT(114 22), 100, feet)", "cql2-text", roads)
    with pytest.raises(cql.FilterError, match="0…100000 m"):
        cql.to_q("S_DWITHIN(geometry, POINT(114 22), 500, kilometers)", "cql2-text", roads)
    with pytest.raises(cql.FilterError, match="spatial predicates take 'geometry'"):
        cql.to_q("S_DWITHIN(name, POINT(114 22), 5, meters)", "cql2-text", roads)
    # An attribute may still be called like a unit.
    assert cql.parse("meters = 3").lhs.name == "meters"


def test_a_quote_inside_a_string_is_written_doubled_as_cql2_says():
    """The query builder writes O'Brien as 'O''Brien'; pygeofilter's own grammar ended the string at the second
    quote and refused the rest."""
    assert cql.parse("name = 'O''Brien' AND road_class = 'a'").lhs.rhs == "O'Brien"
    assert cql.parse("name LIKE '%''s%'").pattern == "%'s%"
    assert cql.parse("name = ''''").rhs == "'"
    assert cql.parse("name = 'a' OR name = 'b'").rhs.rhs == "b"
    q = cql.to_q("name = '老''街'", "cql2-text", layers.get("roads"))
    assert [(lookup, value.value) for lookup, value in q.children] == [("name__exact", "老'街")]


def test_items_within_a_distance_in_metres(api, test_area):
    client = api("planner")
    ids = {a.pk for a in test_area["addresses"]}

    def within(metres):
        response = client.get(
            "/ogcapi/collections/addresses/items",
            {"filter": f"S_DWITHIN(geometry, POINT(114.005 23.503), {metres}, meters)", "limit": 1000},
        )
        assert response.status_code == 200, response.content
        return sorted(f["properties"]["number"] for f in response.json()["features"] if f["id"] in ids)

    assert within(30) == [1]
    assert within(100) == [1, 2]  # ~55 m in, ~111 m out
    assert within(150) == [1, 2, 3]
    assert within(250) == [1, 2, 3, 4]
    near_line = client.get(
        "/ogcapi/collections/roads/items",
        {"filter": "name LIKE 'QB-%' AND S_DWITHIN(geometry, POINT(114.0025 23.5015), 60, meters)"},
    )
    assert [f["properties"]["name"] for f in near_line.json()["features"]] == ["QB-a2"]  # 0.0005° lat ≈ 55 m


# --------------------------------------------------------------------------------------------- statistics


def test_stats_by_district_count_sum_mean_and_length_split_at_the_boundary(api, test_area):
    response = _stats(api("planner"), "roads", by="district", field="lanes", filter="name LIKE 'QB-%'")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["matched"] == 5 and body["measure"] == "length_m" and body["field"] == "lanes"
    zones = {z["code"]: z for z in body["zones"]}
    assert set(zones) == {"990001", "990002"}  # the demo city's districts hold no QB road; QB-out is in neither
    a, b = zones["990001"], zones["990002"]
    assert (a["name"], a["count"], a["sum"]) == ("甲区", 3, 2 + 6 + 3)
    assert a["avg"] == pytest.approx(11 / 3, abs=1e-3)
    assert (b["count"], b["sum"], b["avg"]) == (2, 4 + 6, 5)
    # QB-ab is split at 114.01: each district gets its own part of the length.
    expected_a = _metres(114.001, 114.004) + _metres(114.005, MIDDLE) + _metres(114.002, 114.003, 23.502)
    expected_b = _metres(114.012, 114.018) + _metres(MIDDLE, 114.015)
    assert a["length_m"] == pytest.approx(expected_a, rel=0.002)
    assert b["length_m"] == pytest.approx(expected_b, rel=0.002)


def test_stats_follow_the_filter_and_group_by_unit_grid(api, test_area):
    client = api("planner")
    arterial = _stats(client, "roads", by="district", filter="name LIKE 'QB-%' AND road_class = 'arterial'").json()
    assert [(z["code"], z["count"]) for z in arterial["zones"]] == [("990001", 1), ("990002", 1)]
    assert "sum" not in arterial["zones"][0]

    inside = _stats(client, "roads", by="grid", filter=f"name LIKE 'QB-%' AND S_WITHIN(geometry, {AREA})").json()
    assert inside["matched"] == 4  # all but QB-out
    assert inside["zones"] == [
        {
            "code": "990001001001001",
            "name": "甲社区",
            "count": 1,  # QB-a2; the other roads pass north of the grid
            "length_m": pytest.approx(_metres(114.002, 114.003, 23.502), rel=0.002),
        }
    ]
    points = _stats(client, "addresses", by="district", filter="label LIKE 'QB路%'").json()
    assert points["measure"] is None and points["zones"] == [{"code": "990001", "name": "甲区", "count": 4}]


def test_stats_refuse_bad_input_naming_it(api, test_area):
    client = api("planner")
    cases = [
        (_stats(client, "no-such-layer", by="district"), "layer"),
        (_stats(client, "roads", by="street"), "by"),
        (_stats(client, "roads"), "by"),
        (_stats(client, "roads", by="district", field="name"), "field"),
        (_stats(client, "roads", by="district", field="owner__password"), "field"),
        (_stats(client, "roads", by="district", filter="owner__password = 'x'"), "filter"),
        (_stats(client, "roads", by="district", filter="name LIKE"), "filter"),
        (_stats(client, "roads", by="district", filter="lanes = 'many'"), "filter"),
        (_stats(client, "roads", by="district", colour="red"), "colour"),
    ]
    for response, field in cases:
        assert response.status_code == 400, response.content
        assert response.json()["field"] == field
    assert "owner__password" in cases[5][0].json()["detail"]


def test_stats_check_the_layer_roles_like_items(api, test_area):
    refused = _stats(api("inspector"), "water-pipes", by="district")
    unknown = _stats(api("inspector"), "no-such-layer", by="district")
    assert refused.status_code == unknown.status_code == 400
    assert refused.json()["detail"] == "no layer 'water-pipes'"  # no hint that the layer exists
    assert _stats(api("planner"), "water-pipes", by="district").status_code == 200


def test_zones_lists_districts_and_searches_unit_grids(api, test_area):
    client = api("inspector")
    districts = client.get("/api/gis/zones/", {"by": "district"}).json()["features"]
    assert {"990001", "990002"} <= {d["properties"]["code"] for d in districts}
    assert districts[0]["geometry"]["type"] == "MultiPolygon"
    grids = client.get("/api/gis/zones/", {"by": "grid", "q": "9900010"}).json()["features"]
    assert [(g["properties"]["code"], g["properties"]["name"]) for g in grids] == [("990001001001001", "甲社区")]
    assert client.get("/api/gis/zones/", {"by": "grid", "q": "甲社"}).json()["features"] == grids
    assert client.get("/api/gis/zones/", {"by": "planet"}).json()["field"] == "by"


# ------------------------------------------------------------------------------------------ saved queries


def _user(username, organisation_code, role=Role.PLANNER) -> User:
    user = User.objects.create(username=username, organisation=Organisation.objects.get(code=organisation_code))
    user.groups.add(Group.objects.get_or_create(name=role)[0])
    return user


def _client_for(user):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_login(user)
    return client


def test_saved_queries_create_list_load_and_delete(api, demo_city):
    client = api("planner")
    created = client.post(
        "/api/gis/saved-queries/",
        {"name": "  主干道  双向 ", "layer": "roads", "cql2": "road_class = 'arterial' AND lanes >= 4"},
        format="json",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["name"] == "主干道 双向" and body["mine"] is True and body["shared"] is False
    assert body["owner"] == "planner" and body["layer"] == "roads"
    listed = client.get("/api/gis/saved-queries/").json()
    assert [q["id"] for q in listed] == [body["id"]]
    # The saved text runs as it was saved.
    items = client.get("/ogcapi/collections/roads/items", {"filter": listed[0]["cql2"], "filter-lang": "cql2-text"})
    assert items.status_code == 200
    assert client.delete(f"/api/gis/saved-queries/{body['id']}/").status_code == 204
    assert client.get("/api/gis/saved-queries/").json() == []


def test_saved_queries_refuse_bad_input_and_change_nothing(api, demo_city):
    client = api("planner")
    client.post("/api/gis/saved-queries/", {"name": "已有", "layer": "roads", "cql2": ""}, format="json")
    before = SavedQuery.objects.count()
    cases = [
        ({"name": "a", "layer": "roads", "cql2": "name LIKE"}, "filter", "invalid cql2-text"),
        ({"name": "b", "layer": "roads", "cql2": "owner__password = 'x'"}, "filter", "owner__password"),
        ({"name": "c", "layer": "roads", "cql2": "lanes = 'two'"}, "filter", "lanes"),
        ({"name": "d", "layer": "no-such-layer", "cql2": ""}, "layer", "no layer"),
        ({"name": "e", "layer": "roads", "cql2": "S_DWITHIN(geometry, POINT(114 22), 3, feet)"}, "filter", "feet"),
        ({"name": "   ", "layer": "roads", "cql2": ""}, "name", "name"),
        ({"name": "x" * 101, "layer": "roads", "cql2": ""}, "name", "longer than 100"),
        ({"name": "bell\u0007", "layer": "roads", "cql2": ""}, "name", "control"),
        ({"name": "已有", "layer": "roads", "cql2": ""}, "name", "already"),
        ({"layer": "roads"}, "name", ""),  # (DRF says so in the interface language)
    ]
    for data, field, detail in cases:
        response = client.post("/api/gis/saved-queries/", data, format="json")
        assert response.status_code == 400, (data, response.content)
        assert response.json()["field"] == field and detail in response.json()["detail"], response.json()
    assert SavedQuery.objects.count() == before


def test_saved_queries_are_shared_only_within_the_organisation(api, demo_city):
    owner = api("planner")  # 深圳市规划和自然资源局
    shared = owner.post(
        "/api/gis/saved-queries/",
        {"name": "共享", "layer": "roads", "cql2": "lanes > 2", "shared": True},
        format="json",
    ).json()
    private = owner.post("/api/gis/saved-queries/", {"name": "私有", "layer": "roads"}, format="json").json()
    colleague = _client_for(_user("planner-colleague", "SZ-PLAN"))
    stranger = _client_for(_user("planner-water", "SZ-WATER"))

    seen = colleague.get("/api/gis/saved-queries/").json()
    assert [(q["id"], q["mine"], q["owner"]) for q in seen] == [(shared["id"], False, "planner")]
    assert stranger.get("/api/gis/saved-queries/").json() == []
    # Only the owner deletes; outside the organisation the query does not exist.
    assert colleague.delete(f"/api/gis/saved-queries/{shared['id']}/").status_code == 403
    assert colleague.delete(f"/api/gis/saved-queries/{private['id']}/").status_code == 404
    assert stranger.delete(f"/api/gis/saved-queries/{shared['id']}/").status_code == 404
    assert SavedQuery.objects.filter(pk__in=[shared["id"], private["id"]]).count() == 2


def test_saved_queries_need_a_workbench_role_and_a_readable_layer(api, demo_city):
    inspector = api("inspector")
    assert inspector.get("/api/gis/saved-queries/").status_code == 403
    refused = inspector.post("/api/gis/saved-queries/", {"name": "管线", "layer": "roads"}, format="json")
    assert refused.status_code == 403
    # The operator reads vehicles, the planner does not: a planner cannot save (nor list) a query on them.
    planner = api("planner")
    vehicles = planner.post("/api/gis/saved-queries/", {"name": "车辆", "layer": "vehicles"}, format="json")
    assert vehicles.status_code == 400 and vehicles.json()["field"] == "layer"
    operator = api("operator")
    saved = operator.post(
        "/api/gis/saved-queries/", {"name": "车辆", "layer": "vehicles", "shared": True}, format="json"
    )
    assert saved.status_code == 201
    assert SavedQuery.objects.filter(name="车辆").count() == 1
