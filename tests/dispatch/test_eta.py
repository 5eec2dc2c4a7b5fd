"""Road-network ETA and unit ranking (dispatch/eta.py): pure tests, no database.

Oracles are independent of the module: hand-made networks laid out in EPSG:4547 metres (the demo CRS,
scale error < 1e-6 here) with answers worked out by hand, and networkx Dijkstra on graphs whose edge
weights come from pyproj.Geod geodesic lengths (the module uses its own local projection, so equality
within 1e-4 also checks the metric work).  Mid-segment points are checked against networkx graphs in
which the segment is split at the point.
"""

import itertools
import math

import networkx as nx
import numpy as np
import pyproj
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from data.democity import generate
from dispatch.eta import NETWORK, STRAIGHT_LINE, RoadGraph, UnitETA, rank_units

GEOD = pyproj.Geod(ellps="WGS84")
TO_LONLAT = pyproj.Transformer.from_crs("EPSG:4547", "EPSG:4326", always_xy=True)
ORIGIN = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:4547", always_xy=True).transform(114.05, 22.54)
FALLBACK_MPS = 30 / 3.6
REL = 1e-4


def ll(x: float, y: float) -> tuple[float, float]:
    """(lon, lat) of a point x metres east and y metres north of the test origin."""
    return TO_LONLAT.transform(ORIGIN[0] + x, ORIGIN[1] + y)


def seg(seg_id, *xy, kmh=36.0, oneway=False):
    """A segment through metric points (x, y), digitised in the given order."""
    return (seg_id, [ll(x, y) for x, y in xy], kmh, oneway)


def geod_length(coords) -> float:
    lon, lat = zip(*coords, strict=True)
    return GEOD.line_length(lon, lat)


def by_id(results: list[UnitETA]) -> dict:
    return {r.unit_id: r for r in results}


# -- hand-made networks with known answers --------------------------------------------------------------

# A 1 km square A(0,0) B(1000,0) C(1000,1000) D(0,1000) at 36 km/h = 10 m/s; A->B is one-way.
SQUARE = [
    seg("AB", (0, 0), (1000, 0), oneway=True),
    seg("BC", (1000, 0), (1000, 1000)),
    seg("CD", (1000, 1000), (0, 1000)),
    seg("DA", (0, 1000), (0, 0)),
]


def test_one_way_street_forces_the_detour():
    graph = RoadGraph.from_segments(SQUARE)
    assert (graph.n_nodes, graph.n_segments) == (4, 4)
    result = by_id(rank_units(graph, ll(0, 0), [("at_B", *ll(1000, 0)), ("at_D", *ll(0, 1000))]))
    # B cannot drive back along A->B: B-C-D-A is 3 km at 10 m/s.
    assert result["at_B"].eta_seconds == pytest.approx(300.0, rel=REL)
    assert result["at_B"].distance_m == pytest.approx(3000.0, rel=REL)
    assert result["at_D"].eta_seconds == pytest.approx(100.0, rel=REL)
    assert {r.method for r in result.values()} == {NETWORK}
    # Against the arrow the other way round it is the short way.
    forward = rank_units(graph, ll(1000, 0), [("at_A", *ll(0, 0))])
    assert forward[0].eta_seconds == pytest.approx(100.0, rel=REL)


def test_one_way_mid_segment_unit_behind_the_incident_goes_round():
    graph = RoadGraph.from_segments(SQUARE)
    ahead = rank_units(graph, ll(750, 0), [("u", *ll(250, 0))])[0]
    assert ahead.eta_seconds == pytest.approx(50.0, rel=REL)  # straight along the one-way
    behind = rank_units(graph, ll(250, 0), [("u", *ll(750, 0))])[0]
    # 250 m on to B, 3 km round the square back to A, 250 m to the incident.
    assert behind.eta_seconds == pytest.approx(350.0, rel=REL)
    assert behind.distance_m == pytest.approx(3500.0, rel=REL)


def test_the_faster_longer_route_wins():
    graph = RoadGraph.from_segments(
        [
            seg("slow", (0, 0), (1000, 0), kmh=20.0),  # 1 km at 20 km/h: 180 s
            seg("fast1", (0, 0), (500, 600), kmh=60.0),  # 2 x 781 m at 60 km/h: 93.7 s
            seg("fast2", (500, 600), (1000, 0), kmh=60.0),
        ]
    )
    detour = 2 * math.hypot(500, 600)
    result = rank_units(graph, ll(1000, 0), [("u", *ll(0, 0))])[0]
    assert result.eta_seconds == pytest.approx(detour / (60 / 3.6), rel=REL)
    assert result.distance_m == pytest.approx(detour, rel=REL)
    assert result.eta_seconds < 1000 / (20 / 3.6)


def test_parallel_segments_keep_the_fastest():
    graph = RoadGraph.from_segments(
        [seg(1, (0, 0), (1000, 0), kmh=20.0), seg(2, (0, 0), (1000, 0), kmh=72.0), seg(3, (1000, 0), (0, 0))]
    )
    assert rank_units(graph, ll(1000, 0), [("u", *ll(0, 0))])[0].eta_seconds == pytest.approx(50.0, rel=REL)


def test_off_network_and_unreachable_units_use_the_straight_line():
    island = seg("island", (5000, 0), (5100, 0))  # its own strongly connected part, far from the square
    graph = RoadGraph.from_segments([*SQUARE, island])
    units = [("road", *ll(1000, 1000)), ("field", *ll(3000, 500)), ("island", *ll(5050, 0))]
    result = by_id(rank_units(graph, ll(0, 0), units))
    assert result["road"].method == NETWORK
    assert result["road"].eta_seconds == pytest.approx(200.0, rel=REL)
    for unit, (x, y) in (("field", (3000, 500)), ("island", (5050, 0))):
        straight = math.hypot(x, y)
        assert result[unit].method == STRAIGHT_LINE
        assert result[unit].distance_m == pytest.approx(straight * 1.3, rel=REL)
        assert result[unit].eta_seconds == pytest.approx(straight * 1.3 / FALLBACK_MPS, rel=REL)
    # Snap distance is a parameter: with 3 km allowed, the field unit joins the road network.
    near = by_id(rank_units(graph, ll(0, 0), units, max_snap_m=3000))
    assert near["field"].method == NETWORK
    # An incident off the network leaves every unit on the fallback.
    off = rank_units(graph, ll(-2000, -2000), units)
    assert {r.method for r in off} == {STRAIGHT_LINE}


def test_unit_at_the_incident_gets_zero_and_ranks_first():
    graph = RoadGraph.from_segments(SQUARE)
    for x, y in ((0, 0), (1000, 0), (400, 0), (1000, 321.5)):
        results = rank_units(graph, ll(x, y), [("far", *ll(0, 1000)), ("here", *ll(x, y))])
        assert results[0].unit_id == "here"
        # Exactly 0 up to the sub-millimetre bend of a lon/lat straight line in the metric projection.
        assert results[0].eta_seconds == pytest.approx(0.0, abs=1e-3)
        assert results[0].distance_m == pytest.approx(0.0, abs=1e-3)


def test_snapping_splits_the_segment_cost_by_length_along_it():
    # An L-shaped two-way segment of 1000 m, 100 s: 600 m east, then 400 m north.
    bend = seg("L", (0, 0), (600, 0), (600, 400))
    graph = RoadGraph.from_segments([bend])
    snap = graph.snap(*ll(600, 100))
    assert snap.segment == 0 and snap.fraction == pytest.approx(0.7, rel=REL)
    assert snap.distance_m == pytest.approx(0.0, abs=1e-3)
    to_start = rank_units(graph, ll(0, 0), [("u", *ll(600, 100))])[0]
    to_end = rank_units(graph, ll(600, 400), [("u", *ll(600, 100))])[0]
    assert to_start.eta_seconds == pytest.approx(70.0, rel=REL)
    assert to_end.eta_seconds == pytest.approx(30.0, rel=REL)
    assert to_start.distance_m == pytest.approx(700.0, rel=REL)
    # 20 m off the road: projected onto it, and the 20 m access is walked at the fallback speed.
    beside = graph.snap(*ll(300, 20))
    assert beside.fraction == pytest.approx(0.3, rel=REL) and beside.distance_m == pytest.approx(20.0, rel=REL)
    off = rank_units(graph, ll(0, 0), [("u", *ll(300, 20))])[0]
    assert off.eta_seconds == pytest.approx(30.0 + 20.0 / FALLBACK_MPS, rel=REL)
    assert off.distance_m == pytest.approx(320.0, rel=REL)
    # Beyond the maximum snap distance the point is off the network.
    assert graph.snap(*ll(300, -600)) is None
    assert graph.snap(*ll(300, -600), max_snap_m=1000).fraction == pytest.approx(0.3, rel=1e-3)


def test_one_way_segment_is_left_forwards_only():
    graph = RoadGraph.from_segments([seg("BA", (1000, 0), (0, 0), oneway=True)])
    # Drives 300 m forwards (B->A) to reach A.
    assert rank_units(graph, ll(0, 0), [("u", *ll(300, 0))])[0].eta_seconds == pytest.approx(30.0, rel=REL)
    # The reverse needs a route that does not exist.
    assert rank_units(graph, ll(1000, 0), [("u", *ll(300, 0))])[0].method == STRAIGHT_LINE


def test_results_are_sorted_and_ties_keep_input_order():
    graph = RoadGraph.from_segments(SQUARE)
    units = [("d2", *ll(0, 1000)), ("c", *ll(1000, 1000)), ("d1", *ll(0, 1000)), ("none", *ll(9000, 0))]
    results = rank_units(graph, ll(0, 0), units)
    assert [r.unit_id for r in results] == ["d2", "d1", "c", "none"]
    assert rank_units(graph, ll(0, 0), []) == []


def test_bad_input_is_refused():
    graph = RoadGraph.from_segments(SQUARE)
    with pytest.raises(ValueError, match="incident"):
        rank_units(graph, (float("nan"), 22.5), [("u", 114.0, 22.5)])
    with pytest.raises(ValueError, match="unit"):
        rank_units(graph, ll(0, 0), [("u", 114.0, 95.0)])
    with pytest.raises(ValueError, match="speed"):
        RoadGraph.from_segments([seg(1, (0, 0), (10, 0), kmh=0.0)])
    with pytest.raises(ValueError, match="two"):
        RoadGraph.from_segments([(1, [ll(0, 0)], 30.0, False)])
    with pytest.raises(ValueError, match="lon/lat"):
        RoadGraph.from_segments([(1, [(ORIGIN[0], ORIGIN[1]), (ORIGIN[0] + 10, ORIGIN[1])], 30.0, False)])
    with pytest.raises(ValueError):
        RoadGraph.from_segments([])


# -- networkx oracle ------------------------------------------------------------------------------------


def nx_graph(segments) -> nx.DiGraph:
    """Directed graph on endpoint coordinates, weights from geodesic length / speed (fastest parallel edge)."""
    graph = nx.DiGraph()
    for _, coords, kmh, oneway in segments:
        coords = [tuple(map(float, p)) for p in coords]
        a, b = coords[0], coords[-1]
        length = geod_length(coords)
        for u, v in [(a, b)] if oneway else [(a, b), (b, a)]:
            if u != v and (not graph.has_edge(u, v) or graph[u][v]["weight"] > length / (kmh / 3.6)):
                graph.add_edge(u, v, weight=length / (kmh / 3.6), length=length)
    return graph


@pytest.fixture(scope="module")
def small_city():
    segments = [(r.road_id, list(r.geometry.coords), r.speed_kmh, r.oneway) for r in generate("small").roads]
    return RoadGraph.from_segments(segments), nx_graph(segments)


def test_small_demo_city_matches_networkx(small_city):
    graph, oracle = small_city
    assert graph.n_nodes == oracle.number_of_nodes()
    nodes = sorted(oracle.nodes)
    rng = np.random.default_rng(7)
    checked = 0
    for _ in range(12):
        incident = nodes[rng.integers(len(nodes))]
        units = [(i, *nodes[k]) for i, k in enumerate(rng.integers(len(nodes), size=40))]
        times, paths = nx.single_source_dijkstra(oracle.reverse(copy=False), incident)
        for r in rank_units(graph, incident, units):
            unit = tuple(units[r.unit_id][1:])
            assert r.method == NETWORK  # the demo city is strongly connected
            expected = nx.dijkstra_path_length(oracle, unit, incident)
            assert expected == pytest.approx(times[unit], rel=1e-12)
            assert r.eta_seconds == pytest.approx(expected, rel=REL, abs=1e-6)
            path = paths[unit][::-1]
            length = sum(oracle[u][v]["length"] for u, v in itertools.pairwise(path))
            assert r.distance_m == pytest.approx(length, rel=REL, abs=1e-4)
            checked += 1
    assert checked == 12 * 40


def test_small_demo_city_uses_its_one_way_streets(small_city):
    graph, _ = small_city
    assert graph.seg_oneway.any() and (~graph.seg_oneway).any()
    assert len(graph.edge_tail) == 2 * graph.n_segments - graph.seg_oneway.sum()


@st.composite
def random_network(draw):
    """Random small directed road networks with two points on random segments (and the oracle's split)."""
    n = draw(st.integers(2, 7))
    seed = draw(st.integers(0, 2**32 - 1))
    xy = np.random.default_rng(seed).uniform(0, 3000, (n, 2))  # continuous: no three nodes collinear
    pairs = st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)).filter(lambda p: p[0] != p[1])
    edges = draw(
        st.lists(
            st.tuples(pairs, st.sampled_from([20.0, 30.0, 40.0, 60.0, 80.0]), st.booleans()), min_size=1, max_size=14
        )
    )
    segments = [seg(k, tuple(xy[a]), tuple(xy[b]), kmh=kmh, oneway=ow) for k, ((a, b), kmh, ow) in enumerate(edges)]
    where = st.tuples(st.integers(0, len(edges) - 1), st.sampled_from([0.0, 1.0]) | st.floats(0.02, 0.98))
    return segments, draw(where), draw(where)


def split_oracle(segments, incident, unit) -> tuple[nx.DiGraph, tuple, tuple]:
    """networkx graph with the incident's and the unit's segments split at their points."""
    cuts: dict[int, list[tuple[float, str]]] = {}
    for name, (k, t) in (("INC", incident), ("UNIT", unit)):
        cuts.setdefault(k, []).append((t, name))
    pieces, named = [], {}
    for k, coords, kmh, oneway in segments:
        (x0, y0), (x1, y1) = coords
        if k not in cuts:
            pieces.append((coords[0], coords[1], geod_length(coords), kmh, oneway))
            continue
        stops = [(0.0, coords[0])]
        for t, name in sorted(cuts[k]):
            # Place the split node geodesically along the segment, then chain the pieces.
            azimuth, _, total = GEOD.inv(x0, y0, x1, y1)
            lon, lat, _ = GEOD.fwd(x0, y0, azimuth, t * total)
            point = coords[0] if t == 0 else coords[1] if t == 1 else (k, t, lon, lat)
            named[name] = point
            stops.append((t, point))
        stops.append((1.0, coords[1]))
        for (ta, a), (tb, b) in itertools.pairwise(stops):
            if a != b:
                pieces.append((a, b, (tb - ta) * geod_length(coords), kmh, oneway))
    graph = nx.DiGraph()
    for a, b, length, kmh, oneway in pieces:
        for u, v in [(a, b)] if oneway else [(a, b), (b, a)]:
            if not graph.has_edge(u, v) or graph[u][v]["weight"] > length / (kmh / 3.6):
                graph.add_edge(u, v, weight=length / (kmh / 3.6))
    return graph, named["INC"], named["UNIT"]


def point_on(segments, k, t) -> tuple[float, float]:
    (x0, y0), (x1, y1) = segments[k][1]
    if t in (0.0, 1.0):
        return segments[k][1][int(t)]
    azimuth, _, total = GEOD.inv(x0, y0, x1, y1)
    lon, lat, _ = GEOD.fwd(x0, y0, azimuth, t * total)
    return lon, lat


def on_snapped(graph, segments, point, where):
    """The drawn (segment, fraction), re-expressed on the segment the point snapped to.

    A point on a segment also lies on any parallel segment between the same nodes (a tie): the module
    may pick that one, so the oracle splits the same one.  Node points are the same place either way.
    """
    k, t = where
    snap = graph.snap(*point)
    assert snap.distance_m < 1e-3
    if snap.segment == k or t in (0.0, 1.0):
        return where
    ends, other = segments[k][1], segments[snap.segment][1]
    if [tuple(p) for p in other] == [tuple(p) for p in ends]:
        assert snap.fraction == pytest.approx(t, abs=1e-6)
        return snap.segment, t
    if [tuple(p) for p in other] == [tuple(p) for p in ends[::-1]]:
        assert snap.fraction == pytest.approx(1 - t, abs=1e-6)
        return snap.segment, 1 - t
    return None


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_network())
def test_random_networks_match_networkx(case):
    segments, incident, unit = case
    graph = RoadGraph.from_segments(segments)
    inc_point, unit_point = point_on(segments, *incident), point_on(segments, *unit)
    incident, unit = on_snapped(graph, segments, inc_point, incident), on_snapped(graph, segments, unit_point, unit)
    if incident is None or unit is None:
        return  # the point also lies on a crossing segment: a random exact hit of measure zero
    oracle, inc_node, unit_node = split_oracle(segments, incident, unit)
    result = rank_units(graph, inc_point, [("u", *unit_point)])[0]
    try:
        expected = nx.dijkstra_path_length(oracle, unit_node, inc_node) if unit_node != inc_node else 0.0
    except nx.NetworkXNoPath:
        expected = None
    if expected is None:
        assert result.method == STRAIGHT_LINE
        _, _, straight = GEOD.inv(*unit_point, *inc_point)
        assert result.eta_seconds == pytest.approx(straight * 1.3 / FALLBACK_MPS, rel=REL, abs=1e-3)
    else:
        assert result.method == NETWORK
        assert result.eta_seconds == pytest.approx(expected, rel=REL, abs=1e-3)
