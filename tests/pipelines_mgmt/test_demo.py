"""The demo water and gas networks: laid under the roads, valved like a utility would, customers attached."""

import numpy as np
import pyproj
import pytest
import shapely
from django.conf import settings

from core.models import AdminArea
from data import democity
from dispatch.models import Station
from gis.models import Address, Road
from pipelines_mgmt import demo
from pipelines_mgmt.graph import network_graph
from pipelines_mgmt.models import Network, Node, Pipe, ServiceConnection, Valve

pytestmark = pytest.mark.django_db


def test_networks_owners_and_sources_outside_the_city(demo_city):
    city = AdminArea.objects.get(level="city")
    expected = {
        "sz-water": ("SZ-WATER-GROUP", {"treatment_plant", "reservoir"}),
        "sz-gas": ("SZ-GAS", {"gas_gate"}),
    }
    for code, (owner, source_kinds) in expected.items():
        network = Network.objects.get(code=code)
        assert network.owner.code == owner
        sources = Node.objects.filter(network=network, kind="source")
        assert set(sources.values_list("source_kind", flat=True)) == source_kinds
        assert all(not city.geom.contains(source.geom) for source in sources)
        assert all(source.name for source in sources)


def test_pipes_follow_the_roads(demo_city):
    """Every distribution pipe runs within a few metres of a road segment for its whole length."""
    to_metric = pyproj.Transformer.from_crs(4326, settings.CITYOPS_METRIC_SRID, always_xy=True)

    def metric(geom):
        return shapely.LineString(np.column_stack(to_metric.transform(*np.array(geom.coords).T)))

    roads = shapely.STRtree([metric(geom) for geom in Road.objects.values_list("geom", flat=True)])
    pipes = [metric(geom) for geom in Pipe.objects.exclude(start_node__kind="source").values_list("geom", flat=True)]
    samples = shapely.line_interpolate_point(
        np.repeat(pipes, 5), np.tile([0, 0.25, 0.5, 0.75, 1], len(pipes)), normalized=True
    )
    near, _ = roads.query(samples, predicate="dwithin", distance=5)
    assert len(pipes) > 400 and set(near.tolist()) == set(range(len(samples)))
    assert Pipe.objects.filter(material="").count() == 0
    assert not Pipe.objects.filter(install_year__isnull=True).exists()


@pytest.mark.parametrize("code", ["sz-water", "sz-gas"])
def test_valves_keep_segments_small_and_have_realistic_states(demo_city, code):
    network = Network.objects.get(code=code)
    _, pipe_segment = network_graph(network.pk).isolation.valve_segments()
    pipes_per_segment = np.bincount(list(pipe_segment.values()))
    pipes_per_segment = pipes_per_segment[pipes_per_segment > 0]
    assert pipes_per_segment.max() <= 8 and pipes_per_segment.mean() <= 3

    valves = Valve.objects.filter(pipe__network=network)
    total = valves.count()
    inoperable = valves.filter(operability="inoperable").count() / total
    unknown = valves.filter(operability="unknown").count() / total
    assert 0.005 < inoperable < 0.07 and 0.05 < unknown < 0.2
    closed = valves.filter(normal_state="closed")
    if code == "sz-water":  # two pressure zones, each fed by its own source
        assert 3 <= closed.count() <= 0.1 * total
        assert not closed.exclude(operability="working").exists()
    else:
        assert not closed.exists()
    assert Node.objects.filter(network=network, kind="valve").exists()  # line valves on long blocks


def test_every_address_is_a_water_customer_and_sensitive_ones_are_flagged(demo_city):
    water = ServiceConnection.objects.filter(pipe__network__code="sz-water")
    gas = ServiceConnection.objects.filter(pipe__network__code="sz-gas")
    addresses = Address.objects.count()
    assert water.count() == addresses
    assert 0.6 * addresses < gas.count() < addresses
    hospital_addresses = set(Station.objects.filter(kind="hospital").values_list("address", flat=True))
    hospitals = water.filter(customer_type="hospital")
    assert set(hospitals.values_list("address__label", flat=True)) == hospital_addresses
    assert not hospitals.filter(customer_name__endswith="急救站").exists()
    for kind in ("hospital", "school", "care_home"):
        assert water.filter(customer_type=kind, sensitive=True).exists()
    assert not water.filter(sensitive=True).exclude(customer_type__in=["hospital", "school", "care_home"]).exists()
    assert not water.exclude(meter_id__startswith="WM").exists()


def test_layout_is_deterministic():
    city = democity.generate("small")
    roads = [(road.road_class, line) for road, line in zip(city.roads, demo._roads_in_metres(city), strict=True)]
    for spec in demo.SPECS:
        first = demo._Layout(spec, roads, np.random.default_rng(1))
        second = demo._Layout(spec, roads, np.random.default_rng(1))
        assert first.node_xy == second.node_xy and first.valves == second.valves
        assert [(s, e, line.wkb) for s, e, line, _ in first.edges] == [
            (s, e, line.wkb) for s, e, line, _ in second.edges
        ]
