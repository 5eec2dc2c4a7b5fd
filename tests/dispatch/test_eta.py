"""Road-network ETA and unit ranking (dispatch/eta.py): pure tests, no database.

Oracles are independent of the module: hand-made networks laid out in EPSG:4547 metres (the demo CRS,
scale error < 1e-6 here) with answers worked out by hand, and networkx Dijkstra on an edge-based graph
(one node per driven segment direction, turn restrictions as missing transitions — not the module's node
splitting) whose weights come from pyproj.Geod geodesic lengths (the module uses its own local projection,
so equality within 1e-4 also checks the metric work).  The oracle takes the module's snap candidates;
snapping itself is checked against a brute-force search in another projection.
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
from dispatch.eta import (
    ACCESS_SPEED_KMH,
    NO_ROUTE,
    SNAP_CANDIDATES,
    SNAP_SPREAD_M,
    RoadGraph,
    Segment,
    rank_units,
)

GEOD = pyproj.Geod(ellps="WGS84")
TO_LONLAT = pyproj.Transformer.from_crs("EPSG:4547", "EPSG:4326", always_xy=True)
ORIGIN = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:4547", always_xy=True).transform(114.05, 22.54)
ACCESS_MPS = ACCESS_SPEED_KMH / 3.6
OFF_NETWORK_M = 100.0
REL = 1e-4


def ll(x: float, y: float) -> tuple[float, float]:
    """(lon, lat) of a point x metres east and y metres north of the test origin."""
    return TO_LONLAT.transform(ORIGIN[0] + x, ORIGIN[1] + y)


def seg(seg_id, *xy, kmh=36.0, oneway=False, back_kmh=None):
    """A segment through metric points (x, y), digitised in the given order."""
    return Segment(seg_id, [ll(x, y) for x, y in xy], kmh, oneway, back_kmh)


def rank(graph, incident, units, **kwargs):
    return rank_units(graph, incident, units, off_network_m=OFF_NETWORK_M, **kwargs)


def by_id(ranking) -> dict:
    return {r.unit_id: r for r in [*ranking.routable, *ranking.unroutable]}


def geod_length(coords) -> float:
    lon, lat = zip(*coords, strict=True)
    return GEOD.line_length(lon, lat)


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
    result = by_id(rank(graph, ll(0, 0), [("at_B", *ll(1000, 0)), ("at_D", *ll(0, 1000))]))
    # B cannot drive back along A->B: B-C-D-A is 3 km at 10 m/s.
    assert result["at_B"].eta_seconds == pytest.approx(300.0, rel=REL)
    assert result["at_B"].distance_m == pytest.approx(3000.0, rel=REL)
    assert result["at_D"].eta_seconds == pytest.approx(100.0, rel=REL)
    # Against the arrow the other way round it is the short way.
    assert rank(graph, ll(1000, 0), [("at_A", *ll(0, 0))]).routable[0].eta_seconds == pytest.approx(100.0, rel=REL)


def test_one_way_mid_segment_unit_behind_the_incident_goes_round():
    graph = RoadGraph.from_segments(SQUARE)
    ahead = rank(graph, ll(750, 0), [("u", *ll(250, 0))]).routable[0]
    assert ahead.eta_seconds == pytest.approx(50.0, rel=REL)  # straight along the one-way
    behind = rank(graph, ll(250, 0), [("u", *ll(750, 0))]).routable[0]
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
    result = rank(graph, ll(1000, 0), [("u", *ll(0, 0))]).routable[0]
    assert result.eta_seconds == pytest.approx(detour / (60 / 3.6), rel=REL)
    assert result.distance_m == pytest.approx(detour, rel=REL)


def test_parallel_segments_keep_the_fastest():
    graph = RoadGraph.from_segments(
        [seg(1, (0, 0), (1000, 0), kmh=20.0), seg(2, (0, 0), (1000, 0), kmh=72.0), seg(3, (1000, 0), (0, 0))]
    )
    assert rank(graph, ll(1000, 0), [("u", *ll(0, 0))]).routable[0].eta_seconds == pytest.approx(50.0, rel=REL)


def test_a_two_way_road_may_have_another_speed_backwards():
    graph = RoadGraph.from_segments([seg("AB", (0, 0), (1000, 0), kmh=36.0, back_kmh=72.0)])
    assert rank(graph, ll(1000, 0), [("u", *ll(0, 0))]).routable[0].eta_seconds == pytest.approx(100.0, rel=REL)
    assert rank(graph, ll(0, 0), [("u", *ll(1000, 0))]).routable[0].eta_seconds == pytest.approx(50.0, rel=REL)


def test_unreachable_units_are_listed_apart_with_the_reason_never_ranked():
    island = seg("island", (5000, 0), (5100, 0))  # its own strongly connected part, far from the square
    dead_end = seg("trap", (1000, 1000), (1500, 1500), oneway=True)  # in, but never out again
    graph = RoadGraph.from_segments([*SQUARE, island, dead_end])
    units = [("island", *ll(5050, 0)), ("road", *ll(1000, 1000)), ("trap", *ll(1400, 1400)), ("far", *ll(0, 990))]
    ranking = rank(graph, ll(0, 0), units)
    assert [r.unit_id for r in ranking.routable] == ["far", "road"]
    assert ranking.routable[1].eta_seconds == pytest.approx(200.0, rel=REL)
    # Apart, nearest first, with the straight-line distance for the dispatcher to judge.
    assert [(r.unit_id, r.reason) for r in ranking.unroutable] == [("trap", NO_ROUTE), ("island", NO_ROUTE)]
    assert ranking.unroutable[1].straight_m == pytest.approx(5050.0, rel=REL)
    assert all(not hasattr(r, "eta_seconds") for r in ranking.unroutable)


def test_off_network_points_are_flagged_with_their_snap_distance_and_still_routed():
    graph = RoadGraph.from_segments(SQUARE)
    # 2 km east of B-C: snapped to (1000, 500), the 2 km covered at the access speed.
    field = by_id(rank(graph, ll(0, 1000), [("field", *ll(3000, 500)), ("near", *ll(500, 1040))]))
    assert field["field"].off_network and field["field"].snap_m == pytest.approx(2000.0, rel=REL)
    assert field["field"].eta_seconds == pytest.approx(2000 / ACCESS_MPS + 50 + 100, rel=REL)
    assert not field["near"].off_network and field["near"].snap_m == pytest.approx(40.0, rel=REL)
    # An incident 180 m out on the water: flagged, its distance given, routes end at the nearest road.
    ranking = rank(graph, ll(-180, 500), [("d", *ll(0, 1000))])
    assert ranking.incident_off_network and ranking.incident_snap_m == pytest.approx(180.0, rel=REL)
    assert ranking.routable[0].eta_seconds == pytest.approx(50 + 180 / ACCESS_MPS, rel=REL)
    assert not rank(graph, ll(-60, 500), []).incident_off_network


def test_both_carriageways_are_candidates():
    # A dual carriageway: eastbound at y=0, westbound at y=30, joined at both ends (2 km long, 10 m/s).
    graph = RoadGraph.from_segments(
        [
            seg("east", (0, 0), (2000, 0), oneway=True),
            seg("turn_e", (2000, 0), (2000, 30), oneway=True),
            seg("west", (2000, 30), (0, 30), oneway=True),
            seg("turn_w", (0, 30), (0, 0), oneway=True),
        ]
    )
    # The call is 5 m from the eastbound side; a unit on the westbound side 100 m upstream reaches the point
    # opposite (25 m across) in 10 s; snapped to the eastbound side only it would drive 2.1 km round.
    unit = rank(graph, ll(1000, 5), [("u", *ll(1100, 30))]).routable[0]
    assert unit.eta_seconds == pytest.approx(10 + 25 / ACCESS_MPS, rel=REL)
    # A unit is tried on both sides too: 5 m off the eastbound side, the westbound one takes it there.
    unit = rank(graph, ll(1000, 30), [("u", *ll(1100, 5))]).routable[0]
    assert unit.eta_seconds == pytest.approx(25 / ACCESS_MPS + 10, rel=REL)


def test_turn_restrictions_are_honoured():
    # A plus-shaped junction X at (0, 0) with arms to W, E, S, N, all two-way, 500 m each (50 s).
    arms = {"W": (-500, 0), "E": (500, 0), "S": (0, -500), "N": (0, 500)}
    segments = [seg(name, xy, (0, 0)) for name, xy in arms.items()]
    ring = [seg("ring", (-500, 0), (-500, 500), (0, 500), kmh=30.0)]  # W to N the long way: 1000 m, 120 s
    free = RoadGraph.from_segments(segments + ring)
    banned = RoadGraph.from_segments(segments + ring, [("no", "W", ll(0, 0), "N")])
    only = RoadGraph.from_segments(segments + ring, [("only", "W", ll(0, 0), "E")])
    unit, north = [("u", *ll(-250, 0))], ll(0, 500)
    assert rank(free, north, unit).routable[0].eta_seconds == pytest.approx(75.0, rel=REL)
    # No left turn W→N: back to W's end (25 s) and round the ring (120 s).
    assert rank(banned, north, unit).routable[0].eta_seconds == pytest.approx(145.0, rel=REL)
    assert rank(banned, north, unit).routable[0].distance_m == pytest.approx(1250.0, rel=REL)
    # Only straight on from W: to reach S, on to E's end, turn there, back through X to S (25+50+50+50 s).
    assert rank(only, ll(0, -500), unit).routable[0].eta_seconds == pytest.approx(175.0, rel=REL)
    assert rank(only, ll(0, -500), unit).routable[0].distance_m == pytest.approx(1750.0, rel=REL)
    # A unit standing on the junction itself may leave it any way.
    assert rank(only, ll(0, -500), [("x", *ll(0, 0))]).routable[0].eta_seconds == pytest.approx(50.0, rel=REL)
    # A restriction whose roads do not meet at its node is ignored (the roads changed since).
    stale = RoadGraph.from_segments(segments, [("no", "W", ll(500, 0), "N")])
    assert stale.n_restricted_turns == 0


def test_unit_at_the_incident_gets_zero_and_ranks_first():
    graph = RoadGraph.from_segments(SQUARE)
    for x, y in ((0, 0), (1000, 0), (400, 0), (1000, 321.5)):
        routable = rank(graph, ll(x, y), [("far", *ll(0, 1000)), ("here", *ll(x, y))]).routable
        assert routable[0].unit_id == "here"
        assert routable[0].eta_seconds == pytest.approx(0.0, abs=1e-3)
        assert routable[0].distance_m == pytest.approx(0.0, abs=1e-3)


def test_snapping_splits_the_segment_cost_by_length_along_it():
    # An L-shaped two-way segment of 1000 m, 100 s: 600 m east, then 400 m north.
    graph = RoadGraph.from_segments([seg("L", (0, 0), (600, 0), (600, 400))])
    snap = graph.snap(*ll(600, 100))
    assert snap.segment == 0 and snap.fraction == pytest.approx(0.7, rel=REL)
    assert snap.distance_m == pytest.approx(0.0, abs=1e-3)
    to_start = rank(graph, ll(0, 0), [("u", *ll(600, 100))]).routable[0]
    to_end = rank(graph, ll(600, 400), [("u", *ll(600, 100))]).routable[0]
    assert to_start.eta_seconds == pytest.approx(70.0, rel=REL)
    assert to_end.eta_seconds == pytest.approx(30.0, rel=REL)
    assert to_start.distance_m == pytest.approx(700.0, rel=REL)
    beside = rank(graph, ll(0, 0), [("u", *ll(300, 20))]).routable[0]
    assert beside.eta_seconds == pytest.approx(30.0 + 20.0 / ACCESS_MPS, rel=REL)
    assert beside.distance_m == pytest.approx(320.0, rel=REL) and beside.snap_m == pytest.approx(20.0, rel=REL)


def test_one_way_segment_is_left_forwards_only():
    graph = RoadGraph.from_segments([seg("BA", (1000, 0), (0, 0), oneway=True)])
    assert rank(graph, ll(0, 0), [("u", *ll(300, 0))]).routable[0].eta_seconds == pytest.approx(30.0, rel=REL)
    assert rank(graph, ll(1000, 0), [("u", *ll(300, 0))]).unroutable[0].reason == NO_ROUTE


def test_results_are_sorted_and_ties_keep_input_order():
    graph = RoadGraph.from_segments(SQUARE)
    units = [("d2", *ll(0, 1000)), ("c", *ll(1000, 1000)), ("d1", *ll(0, 1000))]
    assert [r.unit_id for r in rank(graph, ll(0, 0), units).routable] == ["d2", "d1", "c"]
    assert rank(graph, ll(0, 0), []).routable == []


def test_bad_input_is_refused():
    graph = RoadGraph.from_segments(SQUARE)
    with pytest.raises(ValueError, match="incident"):
        rank(graph, (float("nan"), 22.5), [("u", 114.0, 22.5)])
    with pytest.raises(ValueError, match="unit"):
        rank(graph, ll(0, 0), [("u", 114.0, 95.0)])
    with pytest.raises(ValueError, match="speed"):
        RoadGraph.from_segments([seg(1, (0, 0), (10, 0), kmh=0.0)])
    with pytest.raises(ValueError, match="speed"):
        RoadGraph.from_segments([seg(1, (0, 0), (10, 0), back_kmh=-5.0)])
    with pytest.raises(ValueError, match="two"):
        RoadGraph.from_segments([(1, [ll(0, 0)], 30.0, False)])
    with pytest.raises(ValueError, match="lon/lat"):
        RoadGraph.from_segments([(1, [(ORIGIN[0], ORIGIN[1]), (ORIGIN[0] + 10, ORIGIN[1])], 30.0, False)])
    with pytest.raises(ValueError):
        RoadGraph.from_segments([])


# -- networkx oracle ------------------------------------------------------------------------------------


class EdgeOracle:
    """Shortest times to an incident on an edge-based networkx graph: a node per driven segment direction
    ("arrived at its end"), a transition per allowed turn; points join through their snap candidates."""

    def __init__(self, segments, restrictions=()):
        self.segments = [Segment(*s) for s in segments]
        self.ends, self.drives = [], []
        for k, s in enumerate(self.segments):
            coords = [tuple(map(float, p)) for p in s.geometry]
            a, b, length = coords[0], coords[-1], geod_length(coords)
            back = s.speed_backward_kmh or s.speed_kmh
            self.ends.append((a, b, length, length / (s.speed_kmh / 3.6), length / (back / 3.6)))
            if a != b:
                self.drives.append((k, True))
                if not s.oneway:
                    self.drives.append((k, False))
        index = {s.segment_id: k for k, s in enumerate(self.segments)}
        self.only, self.banned = {}, set()
        for kind, a, via, b in restrictions:
            if kind == "only":
                self.only.setdefault((index[a], tuple(via)), set()).add(index[b])
            else:
                self.banned.add((index[a], tuple(via), index[b]))
        self.graph = nx.MultiDiGraph()
        starting = {}
        for d in self.drives:
            starting.setdefault(self.tail(d), []).append(d)
        for e in self.drives:
            for f in starting.get(self.head(e), []):
                if self.allowed(e, f):
                    self.graph.add_edge(e, f, weight=self.time(f), length=self.ends[f[0]][2])
        self.starting = starting

    def tail(self, d):
        a, b, *_ = self.ends[d[0]]
        return a if d[1] else b

    def head(self, d):
        a, b, *_ = self.ends[d[0]]
        return b if d[1] else a

    def time(self, d):
        return self.ends[d[0]][3] if d[1] else self.ends[d[0]][4]

    def allowed(self, e, f):
        via = self.head(e)
        only = self.only.get((e[0], via))
        return (only is None or f[0] in only) and (e[0], via, f[0]) not in self.banned

    def arrivals(self, node):
        return [e for e in self.drives if self.head(e) == node]

    def times(self, graph: RoadGraph, incident, units) -> dict:
        """unit id → (time, length) of its best route, or absent when there is none."""
        g = self.graph.copy()
        _, i_seg, i_frac, i_dist = graph.snap_candidates(np.array([incident]))
        for k, frac, dist in zip(i_seg.tolist(), i_frac.tolist(), i_dist.tolist(), strict=True):
            access = dist / ACCESS_MPS
            length = self.ends[k][2]
            for forwards in (True, False):
                d = (k, forwards)
                if d not in self.drives:
                    continue
                part = frac if forwards else 1 - frac
                for e in self.arrivals(self.tail(d)):
                    if self.allowed(e, d):
                        g.add_edge(e, "SINK", weight=part * self.time(d) + access, length=part * length + dist)
                g.add_edge(
                    ("at", self.tail(d)), "SINK", weight=part * self.time(d) + access, length=part * length + dist
                )
            for end, at in ((0.0, self.ends[k][0]), (1.0, self.ends[k][1])):
                if frac == end:
                    for e in self.arrivals(at):
                        g.add_edge(e, "SINK", weight=access, length=dist)
                    g.add_edge(("at", at), "SINK", weight=access, length=dist)
        which, u_seg, u_frac, u_dist = graph.snap_candidates(np.array([u[1:] for u in units]).reshape(-1, 2))
        for i, s, frac, dist in zip(which.tolist(), u_seg.tolist(), u_frac.tolist(), u_dist.tolist(), strict=True):
            start, access = ("unit", units[i][0]), dist / ACCESS_MPS
            length = self.ends[s][2]
            for node, end in ((self.ends[s][0], 0.0), (self.ends[s][1], 1.0)):
                if frac == end:  # on the node: may leave it any way
                    g.add_edge(start, ("at", node), weight=access, length=dist)
                    for d in self.starting.get(node, []):
                        g.add_edge(("at", node), d, weight=self.time(d), length=self.ends[d[0]][2])
            for forwards in (True, False):
                d = (s, forwards)
                if d in self.drives:
                    part = 1 - frac if forwards else frac
                    g.add_edge(start, d, weight=access + part * self.time(d), length=dist + part * length)
            for k, ifrac, idist in zip(i_seg.tolist(), i_frac.tolist(), i_dist.tolist(), strict=True):
                if k == s and ((s, ifrac >= frac) in self.drives or ifrac == frac):
                    forwards = ifrac >= frac
                    part = abs(ifrac - frac)
                    t = part * (self.time((s, forwards)) if part else 0.0)
                    g.add_edge(
                        start, "SINK", weight=access + idist / ACCESS_MPS + t, length=dist + idist + part * length
                    )
        if "SINK" not in g:
            return {}
        times, paths = nx.single_source_dijkstra(g.reverse(copy=False), "SINK")
        result = {}
        for unit in units:
            node = ("unit", unit[0])
            if node in times:
                path = paths[node][::-1]
                length = sum(
                    min(
                        d["length"]
                        for d in g[u][v].values()
                        if d["weight"] == min(x["weight"] for x in g[u][v].values())
                    )
                    for u, v in itertools.pairwise(path)
                )
                result[unit[0]] = (times[node], length)
        return result


def check_against_oracle(graph, oracle, incident, units):
    ranking = rank(graph, incident, units)
    expected = oracle.times(graph, incident, units)
    assert {r.unit_id for r in ranking.routable} == set(expected)
    assert {r.unit_id for r in ranking.unroutable} == {u[0] for u in units} - set(expected)
    for r in ranking.routable:
        assert r.eta_seconds == pytest.approx(expected[r.unit_id][0], rel=REL, abs=1e-3)
    etas = [r.eta_seconds for r in ranking.routable]
    assert etas == sorted(etas)
    return ranking, expected


@pytest.fixture(scope="module")
def small_city():
    segments = [(r.road_id, list(r.geometry.coords), r.speed_kmh, r.oneway) for r in generate("small").roads]
    return RoadGraph.from_segments(segments), EdgeOracle(segments), segments


def test_small_demo_city_matches_networkx(small_city):
    graph, oracle, segments = small_city
    nodes = sorted({tuple(c) for s in segments for c in (s[1][0], s[1][-1])})
    rng = np.random.default_rng(7)
    checked = 0
    for _ in range(6):
        incident = nodes[rng.integers(len(nodes))]
        units = [(i, *nodes[k]) for i, k in enumerate(rng.integers(len(nodes), size=30))]
        ranking, expected = check_against_oracle(graph, oracle, incident, units)
        assert not ranking.unroutable  # the demo city is strongly connected
        for r in ranking.routable:
            assert r.distance_m == pytest.approx(expected[r.unit_id][1], rel=REL, abs=1e-2)
        checked += len(ranking.routable)
    assert checked == 6 * 30


def test_small_demo_city_uses_its_one_way_streets(small_city):
    graph, _, _ = small_city
    assert graph.seg_oneway.any() and (~graph.seg_oneway).any()
    assert len(graph.edge_tail) == 2 * graph.n_segments - graph.seg_oneway.sum()


@st.composite
def random_network(draw):
    """Random small directed road networks, some turn bans, and points on random segments or beside them."""
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
    meeting = [
        (a, b, node)
        for a, b in itertools.product(range(len(edges)), repeat=2)
        for node in set(edges[a][0]) & set(edges[b][0])
    ]
    bans = draw(st.lists(st.sampled_from(meeting), max_size=4)) if meeting else []
    kinds = draw(st.lists(st.sampled_from(["no", "only"]), min_size=len(bans), max_size=len(bans)))
    restrictions = [(kind, a, ll(*xy[node]), b) for kind, (a, b, node) in zip(kinds, bans, strict=True)]
    where = st.tuples(
        st.integers(0, len(edges) - 1),
        st.sampled_from([0.0, 1.0]) | st.floats(0.02, 0.98),
        st.sampled_from([0.0]) | st.floats(-80, 80),
    )
    return segments, restrictions, draw(where), draw(st.lists(where, min_size=1, max_size=4))


def point_near(segments, k, t, offset) -> tuple[float, float]:
    """A point t along segment k (metric, as drawn), offset metres to its left."""
    (x0, y0), (x1, y1) = [TO_METRIC.transform(*p) for p in segments[k].geometry]
    length = math.hypot(x1 - x0, y1 - y0)
    nx_, ny_ = -(y1 - y0) / length, (x1 - x0) / length
    return TO_LONLAT.transform(x0 + t * (x1 - x0) + offset * nx_, y0 + t * (y1 - y0) + offset * ny_)


TO_METRIC = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:4547", always_xy=True)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_network())
def test_random_networks_with_turn_bans_match_networkx(case):
    segments, restrictions, incident, units = case
    graph = RoadGraph.from_segments(segments, restrictions)
    oracle = EdgeOracle(segments, restrictions)
    unit_points = [(i, *point_near(segments, *where)) for i, where in enumerate(units)]
    check_against_oracle(graph, oracle, point_near(segments, *incident), unit_points)


def test_snap_candidates_match_a_brute_force_search():
    """The k nearest segments within the spread of the nearest, measured in another projection (UTM 50N)."""
    segments = [(r.road_id, list(r.geometry.coords), r.speed_kmh, r.oneway) for r in generate("small").roads]
    graph = RoadGraph.from_segments(segments)
    utm = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:32650", always_xy=True)
    import shapely

    lines = [shapely.LineString([utm.transform(*p) for p in s[1]]) for s in segments]
    lon = np.array([c[0] for s in segments for c in s[1]])
    lat = np.array([c[1] for s in segments for c in s[1]])
    rng = np.random.default_rng(3)
    points = np.column_stack([rng.uniform(lon.min(), lon.max(), 200), rng.uniform(lat.min(), lat.max(), 200)])
    which, seg_, _, dist = graph.snap_candidates(points)
    for i, p in enumerate(points):
        here = shapely.Point(utm.transform(*p))
        d = np.array([line.distance(here) for line in lines])
        mine = seg_[which == i]
        assert dist[which == i][0] == pytest.approx(d.min(), rel=1e-3, abs=0.05)
        within = np.flatnonzero(d <= d.min() + SNAP_SPREAD_M - 0.05)
        nearest_k = set(within[np.argsort(d[within], kind="stable")][:SNAP_CANDIDATES].tolist())
        assert len(mine) <= SNAP_CANDIDATES
        if len(within) <= SNAP_CANDIDATES:
            assert nearest_k <= set(mine.tolist())
        assert all(d[k] <= d.min() + SNAP_SPREAD_M + 0.05 for k in mine)
