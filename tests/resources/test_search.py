"""The search from an incident agrees with the road graph: its order and drive times are those of shortest paths
computed independently (networkx over the roads table, lengths on the ellipsoid) on the demo city; straight-line
ranking, off-network candidates, hazards within a radius and bad parameters."""

import networkx as nx
import pyproj
import pytest
from django.contrib.gis.geos import Point

from core.models import Organisation
from dispatch.models import Incident
from gis.models import Road, TurnRestriction
from resources.models import Depot, HazardSource, StockItem, SupplyItem

pytestmark = pytest.mark.django_db
PLENTY = 1_000_000  # only the depots made here hold this many


def road_network() -> nx.DiGraph:
    """Each road an edge (both ways unless one-way) weighted by its travel time (s) on the ellipsoid."""
    geod, graph = pyproj.Geod(ellps="WGS84"), nx.DiGraph()
    for geom, speed, oneway, back in Road.objects.values_list("geom", "speed_kmh", "oneway", "speed_backward_kmh"):
        lons, lats = zip(*geom.coords, strict=True)
        length = geod.line_length(lons, lats)
        a, b = geom.coords[0], geom.coords[-1]
        for tail, head, kmh in [(a, b, speed)] + ([] if oneway else [(b, a, back or speed)]):
            time = length / (kmh / 3.6)
            if not graph.has_edge(tail, head) or graph[tail][head]["time"] > time:
                graph.add_edge(tail, head, time=time)
    return graph


def depot_at(lonlat, name) -> Depot:
    depot = Depot.objects.create(name=name, organisation=Organisation.objects.get(code="SZ-ECC"),
                                 geom=Point(*lonlat, srid=4326))  # fmt: skip
    StockItem.objects.create(depot=depot, item=SupplyItem.objects.get(code="sandbags"), on_hand=PLENTY)
    return depot


def test_order_and_seconds_are_the_road_graphs_shortest_paths(api):
    assert not TurnRestriction.objects.exists()  # else networkx, which ignores them, would not be a fair judge
    graph = road_network()
    nodes = sorted(graph.nodes)
    origin = nodes[len(nodes) // 2]
    for n, node in enumerate(nodes[:: max(1, len(nodes) // 8)][:8]):
        depot_at(node, f"测试库{n}")
    times = nx.single_source_dijkstra_path_length(graph.reverse(copy=False), origin, weight="time")
    expected = sorted(
        (times[tuple(d.geom.coords)], d.name) for d in Depot.objects.filter(name__startswith="测试库")
         if tuple(d.geom.coords) in times
    )  # fmt: skip
    assert len(expected) >= 6

    answer = (
        api("operator")
        .get(
            f"/api/resources/search/?near={origin[0]},{origin[1]}&kind=depot&item=sandbags&min_quantity={PLENTY}"
            "&by=eta&limit=50"
        )
        .json()
    )
    road = [r for r in answer["results"] if r["method"] == "road"]
    assert [r["name"] for r in road] == [name for _, name in expected]
    for result, (seconds, _) in zip(road, expected, strict=True):
        assert result["eta_seconds"] == pytest.approx(seconds, rel=1e-3, abs=0.2)
        assert result["road_distance_m"] >= result["straight_m"] - 0.5
    assert answer["results"][0]["rank"] == 1


def test_the_three_nearest_depots_holding_sandbags_from_an_incident(api, demo_live):
    incident = Incident.objects.exclude(status="closed").first()
    answer = api("operator").get(f"/api/resources/search/?near={incident.pk}&kind=depot&item=sandbags&limit=3")
    assert answer.status_code == 200
    body = answer.json()
    assert body["origin"]["incident_number"] == incident.number and len(body["results"]) == 3
    etas = [r["eta_seconds"] for r in body["results"] if r["method"] == "road"]
    assert etas and etas == sorted(etas) and all(r["available"] >= 1 for r in body["results"])
    tiny = api("operator").get(f"/api/resources/search/?near={incident.pk}&kind=depot&item=sandbags&min_quantity=100")
    assert all(r["available"] >= 100 for r in tiny.json()["results"])


def test_by_distance_is_straight_line_and_far_candidates_say_so(api):
    depot_at((114.40, 22.90), "远郊库")  # ~50 km away, off the network
    near = "114.05,22.54"
    by_distance = (
        api("operator").get(f"/api/resources/search/?near={near}&kind=depot&item=sandbags&by=distance&limit=50").json()
    )
    straight = [r["straight_m"] for r in by_distance["results"]]
    assert straight == sorted(straight) and all(r["method"] == "straight_line" for r in by_distance["results"])
    by_eta = api("operator").get(f"/api/resources/search/?near={near}&kind=depot&item=sandbags&limit=50").json()
    far = next(r for r in by_eta["results"] if r["name"] == "远郊库")
    assert far["method"] == "straight_line" and far["reason"] == "off_network" and far["eta_seconds"] is None
    assert by_eta["results"][-1]["name"] == "远郊库"


def test_hazards_within_a_radius_and_whether_the_incident_is_inside_their_circle(api):
    hazard = HazardSource.objects.order_by("-radius_m").first()
    lon, lat = hazard.geom.coords
    answer = api("dispatcher119").get(f"/api/resources/search/?near={lon},{lat}&kind=hazard&radius=1500").json()
    assert answer["by"] == "distance"
    first = answer["results"][0]
    assert first["id"] == hazard.pk and first["straight_m"] < 1 and first["origin_inside_circle"]
    assert all(r["straight_m"] <= 1500 for r in answer["results"])


def test_shelters_with_free_places_and_teams_with_a_skill(api):
    shelters = api("operator").get("/api/resources/search/?near=114.05,22.54&kind=shelter&min_quantity=500").json()
    assert shelters["results"] and all(r["free"] >= 500 for r in shelters["results"])
    teams = api("operator").get("/api/resources/search/?near=114.05,22.54&kind=team&skill=flood_rescue").json()
    assert teams["results"] and all("flood_rescue" in r["skills"] for r in teams["results"])


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("kind=depot&item=sandbags", "near"),
        ("near=abc&kind=depot&item=sandbags", "near"),
        ("near=999,1&kind=depot&item=sandbags", "near"),
        ("near=99999999&kind=depot&item=sandbags", "near"),
        ("near=114,22.5&kind=boat", "kind"),
        ("near=114,22.5&kind=depot", "item"),
        ("near=114,22.5&kind=depot&item=gold", "item"),
        ("near=114,22.5&kind=depot&item=sandbags&by=air", "by"),
        ("near=114,22.5&kind=depot&item=sandbags&limit=0", "limit"),
        ("near=114,22.5&kind=depot&item=sandbags&min_quantity=-1", "min_quantity"),
        ("near=114,22.5&kind=hazard&radius=nan", "radius"),
        ("near=114,22.5&kind=team&skill=juggling", "skill"),
    ],
)
def test_bad_search_parameters_name_the_field(api, query, field):
    answer = api("operator").get(f"/api/resources/search/?{query}")
    assert answer.status_code == 400 and answer.json()["field"] == field
