"""Planning analyses on the demo networks (real PostGIS): network layer, GB 50289 checks, connectivity, profile,
replacement warnings, and the workbench page's access rules."""

import numpy as np
import pyproj
import pytest
import shapely
from django.conf import settings

from gis import rasters
from pipelines_mgmt import clearance
from pipelines_mgmt.models import Network, Node, Pipe, RepairRecord, Valve

pytestmark = pytest.mark.django_db
TO_METRIC = pyproj.Transformer.from_crs(4326, settings.CITYOPS_METRIC_SRID, always_xy=True)


def metric(geom):
    return shapely.transform(
        shapely.from_wkb(bytes(geom.wkb)), lambda xy: np.column_stack(TO_METRIC.transform(xy[:, 0], xy[:, 1]))
    )


def test_network_layer_has_every_pipe_valve_and_source(api, demo_city):
    water = Network.objects.get(code="sz-water")
    body = api("planner").get("/api/pipelines/networks/sz-water/features/").json()
    kinds = [f["properties"]["kind"] for f in body["features"]]
    assert kinds.count("pipe") == Pipe.objects.filter(network=water).count()
    assert kinds.count("valve") == Valve.objects.filter(pipe__network=water).count()
    assert kinds.count("source") == Node.objects.filter(network=water, kind="source").count() == 2
    assert body["version"] == water.version
    assert api("inspector").get("/api/pipelines/networks/sz-water/features/").status_code == 403


def test_clearance_violations_are_real_and_located(api, demo_city):
    body = api("planner").get("/api/pipelines/clearances/").json()
    features = body["features"]
    checks = {f["properties"]["check"] for f in features}
    assert checks == {"horizontal", "vertical", "cover"}, body["counts"]
    book = clearance.RuleBook.of("horizontal")
    pipes = {p.pk: p for p in Pipe.objects.select_related("network")}
    for feature in [f for f in features if f["properties"]["check"] == "horizontal"][:10]:
        props = feature["properties"]
        a, b = pipes[props["pipe_a"]["id"]], pipes[props["pipe_b"]["id"]]
        assert a.network_id != b.network_id
        gap = metric(a.geom).distance(metric(b.geom)) - (a.diameter_mm + b.diameter_mm) / 2000
        rule = book.required(
            clearance.pipe_types(a.network.utility, a.diameter_mm, a.pressure_class),
            clearance.pipe_types(b.network.utility, b.diameter_mm, b.pressure_class),
        )
        assert gap <= props["measured_m"] + 0.01 and props["measured_m"] <= rule.min_m == props["required_m"]
        location = metric_point(feature["geometry"]["coordinates"])
        assert location.distance(metric(a.geom)) < props["measured_m"] + 2 and location.distance(metric(b.geom)) < 3
    for feature in [f for f in features if f["properties"]["check"] == "cover"]:
        pipe = pipes[feature["properties"]["pipe_a"]["id"]]
        assert min(pipe.depth_start_m, pipe.depth_end_m) == feature["properties"]["measured_m"] < 0.9
    vertical = [f for f in features if f["properties"]["check"] == "vertical"]
    assert vertical and all(f["properties"]["measured_m"] <= f["properties"]["required_m"] for f in vertical)


def metric_point(coordinates):
    return shapely.Point(TO_METRIC.transform(*coordinates))


def test_unknown_depth_is_reported_for_review_not_passed(api, demo_city):
    gas = Pipe.objects.filter(network__code="sz-gas", link_type="pipe").order_by("id")[5]
    Pipe.objects.filter(pk=gas.pk).update(depth_start_m=None, depth_end_m=None)
    body = api("planner").get("/api/pipelines/clearances/?networks=sz-gas").json()
    review = [f for f in body["features"] if f["properties"]["status"] == "review"]
    assert [f["properties"]["pipe_a"]["id"] for f in review] == [gas.pk]


def test_clearance_bad_input_is_400(api, demo_city):
    client = api("planner")
    response = client.get("/api/pipelines/clearances/?networks=nope")
    assert response.status_code == 400 and response.json()["field"] == "networks"
    response = client.get("/api/pipelines/clearances/?lane=roof")
    assert response.status_code == 400 and response.json()["field"] == "lane"


def midpoint(pipe):
    point = pipe.geom.interpolate_normalized(0.5)
    return {"type": "Point", "coordinates": [point.x, point.y]}


def test_connectivity_and_the_profile_of_the_run(api, demo_city):
    water = Network.objects.get(code="sz-water")
    pipes = list(Pipe.objects.filter(network=water, link_type="pipe").order_by("id"))
    first, last = pipes[10], pipes[60]
    client = api("planner")
    body = client.post(
        "/api/pipelines/connectivity/",
        {"network": "sz-water", "start": midpoint(first), "end": midpoint(last)},
        format="json",
    ).json()
    assert body["physically"] and body["pipes"][0] == first.pk and body["pipes"][-1] == last.pk
    # A run: each pipe shares a node with the next.
    by_id = {p.pk: p for p in pipes}
    for a, b in zip(body["pipes"], body["pipes"][1:], strict=False):
        assert {by_id[a].start_node_id, by_id[a].end_node_id} & {by_id[b].start_node_id, by_id[b].end_node_id}
    assert body["length_m"] == pytest.approx(sum(by_id[p].length_m for p in body["pipes"]), abs=0.5)

    profile = client.post("/api/pipelines/profile/", {"network": "sz-water", "pipes": body["pipes"]}, format="json")
    assert profile.status_code == 200, profile.json()
    profile = profile.json()
    assert profile["length_m"] == pytest.approx(body["length_m"], rel=0.02)
    assert profile["ground_source"] == "dem"  # the demo city's elevation raster (gis app)
    ends = [rasters.value_at("dem", *xy) for xy in (first.geom.coords[0], first.geom.coords[-1])]
    assert min(abs(profile["samples"][0]["ground_m"] - value) for value in ends) < 0.05
    samples = profile["samples"]
    assert samples[0]["distance_m"] == 0 and samples[-1]["distance_m"] == pytest.approx(profile["length_m"], abs=1)
    for sample in samples:
        assert sample["crown_m"] == pytest.approx(sample["ground_m"] - sample["depth_m"], abs=0.02)
        assert sample["invert_m"] < sample["crown_m"]


def test_profile_refuses_a_broken_run_and_connectivity_a_far_point(api, demo_city):
    pipes = list(Pipe.objects.filter(network__code="sz-water", link_type="pipe").order_by("id"))
    a = pipes[0]
    b = next(p for p in pipes[5:] if {p.start_node_id, p.end_node_id}.isdisjoint({a.start_node_id, a.end_node_id}))
    client = api("planner")
    response = client.post("/api/pipelines/profile/", {"network": "sz-water", "pipes": [a.pk, b.pk]}, format="json")
    assert response.status_code == 400 and response.json()["field"] == "pipes"
    far = {"type": "Point", "coordinates": [114.5, 22.9]}
    response = client.post(
        "/api/pipelines/connectivity/", {"network": "sz-water", "start": midpoint(a), "end": far}, format="json"
    )
    assert response.status_code == 400 and response.json()["field"] == "end"
    assert "no pipe" in response.json()["detail"]


def test_replacement_warnings_follow_age_and_repair_history(api, demo_city):
    body = api("planner").get("/api/pipelines/maintenance-warnings/?networks=sz-water,sz-gas").json()
    features = body["features"]
    assert body["counts"]["replace"] > 0 and body["counts"]["inspect"] > 0
    levels = [f["properties"]["level"] for f in features]
    assert levels == sorted(levels, key=lambda level: level != "replace")  # the urgent ones first
    inoperable = set(Valve.objects.filter(operability="inoperable").values_list("pk", flat=True))
    listed_valves = {f["properties"]["id"] for f in features if f["properties"]["kind"] == "valve"}
    assert inoperable <= listed_valves
    assert all(f["properties"]["reasons"] for f in features)
    repaired = RepairRecord.objects.exclude(pipe=None).values_list("pipe_id", flat=True)
    assert set(repaired) & {f["properties"]["id"] for f in features if f["properties"]["kind"] == "pipe"}


def test_workbench_page_roles(client, user_for):
    for username, status, can_write in [("planner", 200, False), ("operator", 200, True), ("leader", 200, False)]:
        client.force_login(user_for(username))
        response = client.get("/planner/")
        assert response.status_code == status
        config = response.context["planner_config"]
        assert config["canOpenRepairOrders"] is can_write
        assert [n["code"] for n in config["networks"]] == ["sz-drainage", "sz-gas", "sz-water"]
        assert "maplibre-gl.mjs" in response.content.decode()
    client.force_login(user_for("inspector"))
    assert client.get("/planner/").status_code == 403
    client.logout()
    assert client.get("/planner/").status_code == 302
