"""Real road networks: the OSM extract pyrosm ships (a corner of Finland), read into our road layer."""

import io as stdio
from collections import Counter

import networkx as nx
import pyrosm
import pytest
import shapely
from django.core.management import CommandError, call_command

from gis import osm
from gis.models import Road

PBF = pyrosm.get_data("test_pbf")  # shipped inside the pyrosm package: no download


def test_tags_become_speeds_lanes_and_directions():
    assert osm.speed_kmh("60", "arterial") == 60
    assert osm.speed_kmh("30 mph", "branch") == pytest.approx(48.28032)
    assert osm.speed_kmh("signals", "secondary") == 40 and osm.speed_kmh("", "expressway") == 80
    assert osm.lanes_of("3;2", "branch") == 3 and osm.lanes_of("", "arterial") == 4
    assert osm.oneway_of("-1", "residential") == (True, True)
    assert osm.oneway_of("", "motorway") == (True, False) and osm.oneway_of("no", "motorway") == (False, False)


@pytest.fixture(scope="module")
def roads():
    return osm.read_roads(PBF)


def test_segments_run_between_intersections_and_keep_every_piece(roads):
    _, edges = pyrosm.OSM(PBF).get_network(network_type="driving", nodes=True)
    assert 0 < len(roads) < len(edges)
    assert sum(r.geometry.length for r in roads) == pytest.approx(edges.geometry.length.sum(), rel=1e-12)
    assert {r.way_id for r in roads} == set(edges["id"])
    ends = Counter()
    for r in roads:
        ends[r.geometry.coords[0]] += 1
        ends[r.geometry.coords[-1]] += 1
    interior = Counter(c for r in roads for c in r.geometry.coords[1:-1])
    # No intersection hides inside a segment: an interior vertex is never another segment's end.
    assert not set(interior) & set(ends)
    assert {r.road_class for r in roads} == {"expressway", "secondary", "branch"}
    assert all(r.oneway for r in roads if r.road_class == "expressway")  # motorways are one-way by definition


@pytest.mark.django_db
def test_import_osm_replaces_the_road_layer_and_builds_a_routable_network(roads):
    out = stdio.StringIO()
    call_command("import_osm", PBF, "--replace", stdout=out)
    assert f"'segments': {len(roads)}" in out.getvalue()
    assert Road.objects.count() == len(roads) and not Road.objects.filter(osm_way_id=None).exists()
    named = Road.objects.get(osm_way_id=4732994, geom__intersects=shapely.Point(26.9436, 60.5257).buffer(1e-3).wkt)
    assert named.name == "Hurukselantie" and named.road_class == "secondary" and named.speed_kmh == 80

    graph = nx.Graph()
    for geom in Road.objects.values_list("geom", flat=True):
        graph.add_edge(geom.coords[0], geom.coords[-1])
    largest = max(nx.connected_components(graph), key=len)
    assert len(largest) > 0.9 * graph.number_of_nodes()

    call_command("import_osm", PBF, stdout=stdio.StringIO())  # again, without --replace: same ways replaced
    assert Road.objects.count() == len(roads)
    Road.objects.create(name="新路", road_class="branch", speed_kmh=30, geom=named.geom)  # the id sequence moved on


@pytest.mark.django_db
def test_import_osm_refuses_what_is_not_a_road_file(tmp_path):
    with pytest.raises(CommandError, match="no file"):
        call_command("import_osm", str(tmp_path / "missing.pbf"))
    with pytest.raises(CommandError, match="bbox"):
        call_command("import_osm", PBF, "--bbox", "1,2,3")
