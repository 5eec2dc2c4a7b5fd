"""The pipelines HTTP API on the demo networks (real PostGIS): isolation, repair orders, valves, topology."""

import re

import pyproj
import pytest
import shapely
from django.conf import settings
from django.utils import timezone

from core.geo import from_wgs84
from core.models import AuditEntry, Event
from pipelines_mgmt.isolation import IsolationGraph
from pipelines_mgmt.isolation import Pipe as GraphPipe
from pipelines_mgmt.isolation import Valve as GraphValve
from pipelines_mgmt.models import Network, Node, Pipe, RepairOrder, ServiceConnection, Valve

pytestmark = pytest.mark.django_db
TO_METRIC = pyproj.Transformer.from_crs(4326, settings.CITYOPS_METRIC_SRID, always_xy=True)
TO_WGS84 = pyproj.Transformer.from_crs(settings.CITYOPS_METRIC_SRID, 4326, always_xy=True)


@pytest.fixture
def water(demo_city):
    return Network.objects.get(code="sz-water")


def independent_graph(network):
    """The isolation graph built here from the rows, not through pipelines_mgmt.graph."""
    nodes = Node.objects.filter(network=network)
    pipes = Pipe.objects.filter(network=network).values_list("id", "start_node_id", "end_node_id", "length_m")
    valves = (
        Valve.objects.filter(pipe__network=network)
        .order_by("id")
        .values_list("id", "pipe_id", "node_id", "normal_state", "operability")
    )
    return IsolationGraph(
        list(nodes.values_list("id", flat=True)),
        list(nodes.filter(kind="source").values_list("id", flat=True)),
        [GraphPipe(*row) for row in pipes],
        [GraphValve(pk, pipe, node, state == "closed", op) for pk, pipe, node, state, op in valves],
    )


def point_beside(pipe, metres):
    """A WGS84 point `metres` to the side of the middle of a pipe."""
    line = shapely.LineString(list(zip(*TO_METRIC.transform(*zip(*pipe.geom.coords, strict=True)), strict=True)))
    middle = line.interpolate(0.5, normalized=True)
    ahead = line.interpolate(min(line.length, line.project(middle) + 1))
    dx, dy = ahead.x - middle.x, ahead.y - middle.y
    norm = (dx**2 + dy**2) ** 0.5
    return TO_WGS84.transform(middle.x - dy / norm * metres, middle.y + dx / norm * metres)


def long_pipe(network):
    return (
        Pipe.objects.filter(network=network, link_type="pipe", length_m__gt=150)
        .exclude(start_node__kind="source")
        .order_by("id")[3]
    )


def plan_ids(body):
    return (
        {v["id"] for v in body["valves_to_close"]},
        {f["id"] for f in body["isolated"]["pipes"]["features"]},
        {f["id"] for f in body["outage"]["pipes"]["features"]},
    )


def test_burst_by_point_matches_an_independent_isolation_graph(api, water):
    pipe = long_pipe(water)
    lon, lat = point_beside(pipe, 5)
    response = api("operator").post(
        "/api/pipelines/isolation/",
        {"network": "sz-water", "point": {"type": "Point", "coordinates": [lon, lat]}},
        format="json",
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["burst"]["pipe"]["id"] == pipe.pk
    assert body["burst"]["distance_m"] == pytest.approx(5, abs=0.2)
    expected = independent_graph(water).isolate_burst(pipe.pk)
    valves, isolated, outage = plan_ids(body)
    assert valves == set(expected.valves_to_close) and valves
    assert isolated == set(expected.isolated_pipe_ids) and pipe.pk in isolated
    assert outage == set(expected.outage_pipe_ids)
    assert body["isolated"]["length_m"] == pytest.approx(expected.isolated_length, abs=0.1)
    assert [v["order"] for v in body["valves_to_close"]] == list(range(1, len(valves) + 1))
    first = body["valves_to_close"][0]
    assert first["geometry"]["type"] == "Point" and first["code"].startswith("WV-")
    on_pipe = shapely.Point(body["burst"]["point"]["coordinates"])
    assert shapely.distance(on_pipe, shapely.LineString(pipe.geom.coords)) < 1e-6


def test_burst_by_pipe_id_and_by_gcj02_point_agree(api, water):
    pipe = long_pipe(water)
    by_id = api("planner").post("/api/pipelines/isolation/", {"network": water.pk, "pipe": pipe.pk}, format="json")
    assert by_id.status_code == 200
    lon, lat = from_wgs84(*point_beside(pipe, 3), "gcj02")
    by_point = api("planner").post(
        "/api/pipelines/isolation/", {"utility": "water", "lon": lon, "lat": lat, "crs": "gcj02"}, format="json"
    )
    assert by_point.status_code == 200
    assert plan_ids(by_id.json()) == plan_ids(by_point.json())
    expected = independent_graph(water).isolate_burst(pipe.pk)
    assert {v["id"] for v in by_id.json()["valves_to_close"]} == set(expected.valves_to_close)


def test_every_demo_pipe_gives_the_independent_answer(api, water):
    """All water pipes through the service layer (cached graph) against a graph built in the test."""
    from pipelines_mgmt.selectors import isolation_result, locate_burst

    expected_graph = independent_graph(water)
    outages = 0
    for pipe_id in Pipe.objects.filter(network=water).values_list("id", flat=True):
        body = isolation_result(locate_burst(water, pipe_id=pipe_id))
        expected = expected_graph.isolate_burst(pipe_id)
        assert plan_ids(body) == (
            set(expected.valves_to_close),
            set(expected.isolated_pipe_ids),
            set(expected.outage_pipe_ids),
        ), pipe_id
        outages += bool(expected.outage_pipe_ids)
    assert outages > 0  # the demo network has bursts that cut off more than their own segment


def test_failed_valve_replan_extends_the_shut_in_area(api, water):
    pipe = long_pipe(water)
    first = api("operator").post("/api/pipelines/isolation/", {"network": "sz-water", "pipe": pipe.pk}, format="json")
    stuck = first.json()["valves_to_close"][0]["id"]
    replan = api("operator").post(
        "/api/pipelines/isolation/", {"network": "sz-water", "pipe": pipe.pk, "failed_valves": [stuck]}, format="json"
    )
    assert replan.status_code == 200
    body = replan.json()
    valves, isolated, _ = plan_ids(body)
    assert stuck not in valves and body["extended_past_valves"] == [stuck] and body["failed_valves"] == [stuck]
    assert isolated > plan_ids(first.json())[1]
    assert body["isolated"]["length_m"] > first.json()["isolated"]["length_m"]
    expected = independent_graph(water).isolate_burst(pipe.pk, [stuck])
    assert (valves, isolated) == (set(expected.valves_to_close), set(expected.isolated_pipe_ids))


def test_sensitive_customers_come_first(api, water):
    hospital = ServiceConnection.objects.filter(pipe__network=water, customer_type="hospital").first()
    response = api("calltaker").post(
        "/api/pipelines/isolation/", {"network": "sz-water", "pipe": hospital.pipe_id}, format="json"
    )
    customers = response.json()["customers"]
    flags = [c["sensitive"] for c in customers["items"]]
    assert hospital.pk in {c["id"] for c in customers["items"]}
    assert True in flags and False in flags  # both kinds, so the order is tested
    assert flags == sorted(flags, reverse=True)
    assert customers["sensitive_count"] == sum(flags) and customers["count"] == len(flags)
    assert customers["items"][0]["type"] in ("hospital", "school", "care_home")
    isolated = {f["id"] for f in response.json()["isolated"]["pipes"]["features"]}
    expected = set(ServiceConnection.objects.filter(pipe_id__in=isolated).values_list("id", flat=True))
    assert {c["id"] for c in customers["items"] if c["cause"] == "isolated"} == expected


def nearest_pipe_distance(network, lon, lat):
    x, y = TO_METRIC.transform(lon, lat)
    best = float("inf")
    for geom in Pipe.objects.filter(network=network).values_list("geom", flat=True):
        line = shapely.LineString(list(zip(*TO_METRIC.transform(*zip(*geom.coords, strict=True)), strict=True)))
        best = min(best, line.distance(shapely.Point(x, y)))
    return best


def counts():
    """What a refused request must not change (the sign-in of the client that sends it is logged, and may be)."""
    data_audit = AuditEntry.objects.exclude(action__startswith="auth.")
    return RepairOrder.objects.count(), data_audit.count(), Event.objects.count()


@pytest.mark.parametrize("endpoint", ["/api/pipelines/isolation/", "/api/pipelines/repair-orders/"])
def test_point_far_from_any_pipe_is_a_400_naming_the_distance(api, water, endpoint):
    lon, lat = 114.20, 22.60  # well outside the small demo city
    before = counts()
    response = api("operator").post(endpoint, {"network": "sz-water", "lon": lon, "lat": lat}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "invalid_input" and body["field"] == "point"
    metres = float(re.search(r"is (\d+) m away", body["detail"]).group(1))
    assert metres == pytest.approx(nearest_pipe_distance(water, lon, lat), abs=1)
    assert "within 50 m" in body["detail"]
    assert counts() == before


@pytest.mark.parametrize(
    ("payload", "field", "fragment"),
    [
        ({"network": "no-such-net", "pipe": 1}, "network", "unknown network"),
        ({"network": "²", "pipe": 1}, "network", "unknown network"),
        ({"utility": "heat", "pipe": 1}, "utility", "no network"),
        ({"network": "sz-water", "lon": 114.03, "lat": 22.53, "crs": "baidu-mercator"}, "crs", "unknown CRS"),
        (
            {"network": "sz-water", "point": {"type": "LineString", "coordinates": [[114, 22], [114.1, 22]]}},
            "point",
            "Point",
        ),
        ({"network": "sz-water"}, "point", "exactly one"),
        ({"network": "sz-water", "pipe": 999999999}, "pipe", "not in network"),
        ({"network": "sz-water", "pipe": "PIPE", "lon": 1}, "pipe", "整数"),
        ({"network": "sz-water", "failed_valves": ["x"], "pipe": 1}, "failed_valves[0]", "整数"),
    ],
)
def test_bad_input_is_a_400_naming_the_problem_and_writes_nothing(api, water, payload, field, fragment):
    before = counts()
    for endpoint in ("/api/pipelines/isolation/", "/api/pipelines/repair-orders/"):
        response = api("operator").post(endpoint, payload, format="json")
        assert response.status_code == 400, response.json()
        body = response.json()
        assert (body["error"], body["field"]) == ("invalid_input", field)
        assert fragment in body["detail"]
    assert counts() == before


def test_failed_valve_of_another_network_or_unknown_is_refused(api, water):
    pipe = long_pipe(water)
    gas_valve = Valve.objects.filter(pipe__network__code="sz-gas").first()
    before = counts()
    for bad in (gas_valve.pk, 987654321):
        response = api("operator").post(
            "/api/pipelines/repair-orders/",
            {"network": "sz-water", "pipe": pipe.pk, "failed_valves": [bad]},
            format="json",
        )
        assert response.status_code == 400
        assert response.json()["field"] == "failed_valves" and str(bad) in response.json()["detail"]
    assert counts() == before


def test_roles(api, water, client):
    pipe = long_pipe(water)
    payload = {"network": "sz-water", "pipe": pipe.pk}
    anonymous = client.post("/api/pipelines/isolation/", payload, content_type="application/json")
    assert anonymous.status_code == 403 and anonymous.json()["error"] == "not_authenticated"
    for username in ("inspector", "griddispatcher", "depthandler"):
        assert api(username).post("/api/pipelines/isolation/", payload, format="json").status_code == 403
        assert api(username).get("/api/pipelines/networks/").status_code == 403
    for username in ("planner", "operator", "calltaker", "leader", "admin"):
        assert api(username).post("/api/pipelines/isolation/", payload, format="json").status_code == 200
    before = counts()
    for username in ("planner", "leader", "inspector"):
        assert api(username).post("/api/pipelines/repair-orders/", payload, format="json").status_code == 403
    assert counts() == before


def test_repair_orders_are_numbered_audited_and_published(api, water):
    pipe = long_pipe(water)
    events_before = Event.objects.filter(topic="pipeline").count()
    created = []
    for _ in range(2):
        response = api("operator").post(
            "/api/pipelines/repair-orders/",
            {"network": "sz-water", "pipe": pipe.pk, "incident_ref": "119-2026-0042", "notes": "路面塌陷"},
            format="json",
        )
        assert response.status_code == 201, response.json()
        created.append(response.json())
    year = timezone.localdate().year
    numbers = [order["number"] for order in created]
    serials = []
    for number in numbers:
        match = re.fullmatch(rf"抢修-{year}-(\d{{6}})", number)
        assert match, number
        serials.append(int(match.group(1)))
    assert serials[1] == serials[0] + 1

    order = RepairOrder.objects.get(number=numbers[0])
    assert (
        order.burst_pipe == pipe and order.incident_ref == "119-2026-0042" and order.created_by.username == "operator"
    )
    assert [v["id"] for v in order.valves_to_close] == [v["id"] for v in order.isolation["valves_to_close"]]
    audit = AuditEntry.objects.get(action="repair_order.create", target_id=str(order.pk))
    assert audit.actor.username == "operator" and order.number in audit.summary
    events = Event.objects.filter(topic="pipeline", type="repair_order.created").order_by("seq")
    assert Event.objects.filter(topic="pipeline").count() == events_before + 2
    event = events.last()
    assert event.data["properties"]["number"] == numbers[1]
    assert event.geom.equals_exact(order.burst_point, tolerance=1e-9)

    detail = api("leader").get(created[0]["print_url"].removesuffix("print/"))
    assert detail.status_code == 200
    assert detail.json()["number"] == numbers[0] and detail.json()["isolation"]["burst"]["pipe"]["id"] == pipe.pk
    assert api("leader").get("/api/pipelines/repair-orders/抢修-1999-000001/").status_code == 404


def test_repair_order_print_page_renders_offline(api, water, user_for):
    hospital = ServiceConnection.objects.filter(pipe__network=water, customer_type="hospital").first()
    created = api("operator").post(
        "/api/pipelines/repair-orders/", {"network": "sz-water", "pipe": hospital.pipe_id}, format="json"
    )
    page = api("operator").get(created.json()["print_url"])
    assert page.status_code == 200 and page["Content-Type"].startswith("text/html")
    html = page.content.decode()
    assert created.json()["number"] in html and "抢修单" in html and "@media print" in html
    assert "<svg" in html and "<polyline" in html
    assert hospital.customer_name in html
    for valve in created.json()["valves_to_close"]:
        assert valve["code"] in html
    # Nothing may load from outside: no external URL at all (the SVG namespace is a name, not a request).
    assert not re.search(r"(https?:)?//", html.replace('xmlns="http://www.w3.org/2000/svg"', ""))
    assert "<script src" not in html and "<link" not in html
    assert api("inspector").get(created.json()["print_url"]).status_code == 403


def test_valve_report_changes_the_next_plan(api, water):
    pipe = long_pipe(water)
    first = api("operator").post("/api/pipelines/isolation/", {"network": "sz-water", "pipe": pipe.pk}, format="json")
    valve_id = first.json()["valves_to_close"][0]["id"]
    version = Network.objects.get(pk=water.pk).version
    assert api("planner").patch(f"/api/pipelines/valves/{valve_id}/", {"operability": "inoperable"}).status_code == 403
    response = api("operator").patch(f"/api/pipelines/valves/{valve_id}/", {"operability": "inoperable"}, format="json")
    assert response.status_code == 200 and response.json()["properties"]["operability"] == "inoperable"
    assert Network.objects.get(pk=water.pk).version != version
    assert AuditEntry.objects.filter(action="valve.update", target_id=str(valve_id)).exists()
    assert Event.objects.filter(topic="pipeline", type="valve.updated").order_by("seq").last().data["id"] == valve_id
    second = api("operator").post("/api/pipelines/isolation/", {"network": "sz-water", "pipe": pipe.pk}, format="json")
    assert valve_id not in {v["id"] for v in second.json()["valves_to_close"]}
    assert second.json()["isolated"]["length_m"] > first.json()["isolated"]["length_m"]
    bad = api("operator").patch(f"/api/pipelines/valves/{valve_id}/", {"operability": "rusty"}, format="json")
    assert bad.status_code == 400 and bad.json()["field"] == "operability"


def test_network_list_and_topology_report(api, water):
    networks = api("leader").get("/api/pipelines/networks/").json()
    assert {n["code"] for n in networks} >= {"sz-water", "sz-gas"}
    report = api("planner").get("/api/pipelines/networks/sz-water/topology/")
    assert report.status_code == 200 and report.json()["ok"] is True
    assert api("planner").get("/api/pipelines/networks/sz-water/topology/", {"tolerance_m": "wide"}).status_code == 400
    assert api("planner").get("/api/pipelines/networks/nope/topology/").status_code == 404


def test_schema_lists_the_pipeline_endpoints(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    paths = schema.json()["paths"]
    assert {"/api/pipelines/isolation/", "/api/pipelines/repair-orders/", "/api/pipelines/networks/"} <= set(paths)
