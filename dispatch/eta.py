"""Road-network travel times and unit ranking, without Django.

The road graph is built once from segments (demo roads, OSM imports) and kept in memory as CSR arrays.
Ranking N units for one incident costs ONE Dijkstra search: it runs from the incident on the transposed
(reversed) graph, so a single search gives every node's travel time *to* the incident.

Geometry: all metric work (segment lengths, snapping, straight-line distances) happens in one local
transverse Mercator projection centred on the network, so every length in the module is measured the
same way.  At city scale its scale error is below 1e-5 (8e-6 at 25 km from the centre; 1.2e-4 at 100 km).

Snapping: a point is tied to up to ``SNAP_CANDIDATES`` segments, the nearest ones within ``SNAP_SPREAD_M``
of its nearest segment, so on a dual carriageway both carriageways are candidates and each is tried in
every direction it may be driven.  The distance from the point to a candidate is covered at
``ACCESS_SPEED_KMH`` and added to the route; a point farther than ``off_network_m`` from every road is
flagged off the network (still routed from its nearest roads, with the distance shown).

Turn restrictions (no_*/only_* via a node) are honoured by splitting each via node into one copy per
incoming edge, whose outgoing edges are the turns allowed from that edge.  A unit that cannot reach the
incident by road at all gets no time: it is listed apart with the reason, never ranked among the routable.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import pyproj
import shapely
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

SNAP_CANDIDATES = 4  # k: segments a point may start from or arrive on
SNAP_SPREAD_M = 50.0  # candidates lie within this much of the nearest segment (covers a dual carriageway)
ACCESS_SPEED_KMH = 30.0  # speed over the distance between a point and its road
AT_NODE_M = 1e-3  # a snap this close to a segment end is at that node (may leave it any way)

NO_ROUTE = "no_route"  # no road route from the unit's roads to the incident's (one-way, island, turn ban)


class UnitETA(NamedTuple):
    """A unit with a road route: travel time (s) and route length (m) to the incident, and its snap."""

    unit_id: Any
    eta_seconds: float
    distance_m: float
    snap_m: float  # from the unit to the road its route starts on
    off_network: bool


class Unroutable(NamedTuple):
    """A unit without a road route to the incident: why, and how far it is in a straight line."""

    unit_id: Any
    reason: str
    straight_m: float
    snap_m: float
    off_network: bool


class Ranking(NamedTuple):
    """Routable units fastest first; the unroutable apart, nearest first; the incident's own snap."""

    routable: list[UnitETA]
    unroutable: list[Unroutable]
    incident_snap_m: float
    incident_off_network: bool


@dataclass(frozen=True)
class Snap:
    """Where a point lies on the network: segment index, fraction along it, distance to it (m)."""

    segment: int
    fraction: float
    distance_m: float


class Segment(NamedTuple):
    """One road segment: WGS84 coordinates (or LineString) digitised in the travel direction when one-way;
    ``speed_backward_kmh`` against that direction where it differs (None: the same)."""

    segment_id: Any
    geometry: Any
    speed_kmh: float
    oneway: bool
    speed_backward_kmh: float | None = None


class TurnRestriction(NamedTuple):
    """No turn ("no") or only this turn ("only") from one segment into another at their shared node."""

    kind: str
    from_segment: Any
    via: tuple[float, float]
    to_segment: Any


class RoadGraph:
    """The road network as CSR arrays of travel times (s), plus the segments for snapping.

    Nodes are segment end points joined by exact coordinates.  Segment ``k`` runs from ``seg_from[k]``
    to ``seg_to[k]`` in the direction its coordinates are digitised (the travel direction when one-way).
    ``csr`` is the plain node graph (fastest of parallel edges, no turn restrictions) for drawing routes;
    ETAs search the turn-expanded graph, whose extra nodes are copies of restricted via nodes.
    """

    def __init__(
        self,
        segment_ids: list,
        node_lonlat: np.ndarray,
        seg_from: np.ndarray,
        seg_to: np.ndarray,
        seg_length_m: np.ndarray,
        seg_time_s: np.ndarray,
        seg_time_back_s: np.ndarray,
        seg_oneway: np.ndarray,
        seg_lines: np.ndarray,
        transformer: pyproj.Transformer,
        restrictions: list[tuple[str, int, int, int]],
    ):
        self.segment_ids = segment_ids
        self.node_lonlat = node_lonlat
        self.seg_from, self.seg_to = seg_from, seg_to
        self.seg_length_m, self.seg_time_s, self.seg_time_back_s = seg_length_m, seg_time_s, seg_time_back_s
        self.seg_oneway = seg_oneway
        self.seg_lines = seg_lines  # projected LineStrings, metres
        self._transformer = transformer
        # Snapping searches the straight pieces between consecutive vertices: small boxes, cheap distances.
        xy = shapely.get_coordinates(seg_lines)
        vertex_seg = np.repeat(np.arange(len(seg_lines)), shapely.get_num_coordinates(seg_lines))
        inner = np.flatnonzero(vertex_seg[:-1] == vertex_seg[1:])  # a piece from vertex i to i + 1
        self._piece_seg = vertex_seg[inner]
        self._pieces = shapely.linestrings(np.stack([xy[inner], xy[inner + 1]], axis=1))
        piece_len = shapely.length(self._pieces)
        starts = np.cumsum(piece_len) - piece_len  # where each piece starts along its segment
        first_piece = np.searchsorted(self._piece_seg, self._piece_seg)
        self._piece_offset = starts - starts[first_piece]
        self._tree = shapely.STRtree(self._pieces)
        n = len(node_lonlat)

        # Directed edges: every segment forwards, two-way segments also backwards; self-loops never help.
        real = seg_from != seg_to
        d_seg = np.concatenate([np.flatnonzero(real), np.flatnonzero(real & ~seg_oneway)])
        d_fwd = np.arange(len(d_seg)) < real.sum()
        d_tail = np.where(d_fwd, seg_from[d_seg], seg_to[d_seg])
        d_head = np.where(d_fwd, seg_to[d_seg], seg_from[d_seg])
        d_time = np.where(d_fwd, seg_time_s[d_seg], seg_time_back_s[d_seg])
        d_len = seg_length_m[d_seg]
        self.edge_tail, self.edge_head, self.edge_time_s, self.edge_length_m = _fastest(d_tail, d_head, d_time, d_len)
        self.csr = csr_matrix((self.edge_time_s, (self.edge_tail, self.edge_head)), shape=(n, n))

        # Turn expansion: each directed edge into a restricted via node ends at a copy of that node of its own.
        rules: dict[tuple[int, int], tuple[set, set]] = defaultdict(lambda: (set(), set()))
        for kind, from_seg, via, to_seg in restrictions:
            rules[(from_seg, via)][0 if kind == "only" else 1].add(to_seg)
        vias = np.array(sorted({via for _, via in rules}), dtype=np.int64)
        split = np.isin(d_head, vias)
        x_head_of = d_head.copy()
        x_head_of[split] = n + np.arange(split.sum())
        copy_of = d_head[split]  # copy n + j stands for node copy_of[j] reached by edge split_edges[j]
        split_edges = np.flatnonzero(split)
        self.n_expanded = n + len(copy_of)
        self.copies = defaultdict(list)  # node → its copies (a point exactly at the node is reached from each)
        for j, v in enumerate(copy_of.tolist()):
            self.copies[v].append(n + j)

        x_tail, x_edge = [d_tail], [np.arange(len(d_seg))]
        out_of = defaultdict(list)
        for f in np.flatnonzero(np.isin(d_tail, vias)).tolist():
            out_of[int(d_tail[f])].append(f)
        for j, e in enumerate(split_edges.tolist()):
            only, banned = rules.get((int(d_seg[e]), int(copy_of[j])), (set(), set()))
            allowed = [f for f in out_of[int(copy_of[j])] if (not only or d_seg[f] in only) and d_seg[f] not in banned]
            x_tail.append(np.full(len(allowed), n + j, dtype=np.int64))
            x_edge.append(np.array(allowed, dtype=np.int64))
        x_tail, x_edge = np.concatenate(x_tail), np.concatenate(x_edge)
        self._x_tail, self._x_seg, self._x_fwd = x_tail, d_seg[x_edge], d_fwd[x_edge]
        order = np.lexsort((self._x_fwd, self._x_seg))
        self._x_tail, self._x_seg, self._x_fwd = x_tail[order], self._x_seg[order], self._x_fwd[order]
        self._x_key = self._x_seg * 2 + self._x_fwd  # sorted: (segment, direction) → its edges' tails

        # Where driving a segment forwards / backwards arrives (a copy at a restricted via node).
        self.fwd_node, self.back_node = seg_to.copy(), seg_from.copy()
        self.fwd_node[d_seg[d_fwd]] = x_head_of[d_fwd]
        self.back_node[d_seg[~d_fwd]] = x_head_of[~d_fwd]

        tail, head, time, length = _fastest(x_tail, x_head_of[x_edge], d_time[x_edge], d_len[x_edge])
        nx_ = self.n_expanded
        self._x_edge_key, self._x_edge_length = tail.astype(np.int64) * (nx_ + 1) + head, length
        # Transposed graph with one spare row (node nx_) for the per-query virtual source at the incident.
        rev = csr_matrix((time, (head, tail)), shape=(nx_ + 1, nx_ + 1))
        rev.sort_indices()
        self._rev_data, self._rev_indices, self._rev_indptr = rev.data, rev.indices, rev.indptr
        self.n_restricted_turns = sum(len(a) + len(b) for a, b in rules.values())

    # -- building -------------------------------------------------------------------------------------

    @classmethod
    def from_segments(cls, segments: Iterable[tuple], restrictions: Iterable[tuple] = ()) -> RoadGraph:
        """Build from Segment tuples (id, lon/lat coordinates or LineString, speed_kmh, oneway[, backward speed])
        and TurnRestriction tuples (kind, from segment id, via (lon, lat), to segment id).

        Edge weights are travel times: projected length / speed.  Raises ValueError on a bad segment; a
        restriction whose segments do not meet at its via node is ignored (the road changed since).
        """
        ids, coords, speeds, back_speeds, oneway = [], [], [], [], []
        for row in segments:
            seg_id, geometry, speed_kmh, is_oneway, speed_back = Segment(*row)
            xy = shapely.get_coordinates(geometry) if isinstance(geometry, shapely.Geometry) else geometry
            xy = np.asarray(xy, dtype=float)
            if xy.ndim != 2 or xy.shape[0] < 2 or xy.shape[1] != 2:
                raise ValueError(f"segment {seg_id!r}: need at least two (lon, lat) points")
            ids.append(seg_id)
            coords.append(xy)
            speeds.append(float(speed_kmh))
            back_speeds.append(float(speed_kmh if speed_back is None else speed_back))
            oneway.append(bool(is_oneway))
        if not ids:
            raise ValueError("no road segments")

        # Coordinates and speeds are checked at once, not per segment (a city has hundreds of thousands).
        counts = np.fromiter((len(c) for c in coords), dtype=np.int64, count=len(coords))
        lonlat = np.concatenate(coords)
        bad = _bad_lonlat(lonlat)
        if bad.any():
            seg_id = ids[np.searchsorted(np.cumsum(counts), np.argmax(bad), side="right")]
            raise ValueError(f"segment {seg_id!r}: coordinates are not WGS84 lon/lat")
        both = np.column_stack([speeds, back_speeds])
        bad = ~(np.isfinite(both) & (both > 0))
        if bad.any():
            k, direction = np.unravel_index(np.argmax(bad), bad.shape)
            raise ValueError(f"segment {ids[k]!r}: speed must be a positive number, got {float(both[k, direction])!r}")
        last = np.cumsum(counts) - 1
        ends = np.concatenate([lonlat[last - counts + 1], lonlat[last]])
        node_lonlat, inverse = np.unique(ends, axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
        seg_from, seg_to = inverse[: len(ids)], inverse[len(ids) :]

        lo, hi = lonlat.min(axis=0), lonlat.max(axis=0)
        centre = (lo + hi) / 2
        local = pyproj.CRS.from_proj4(
            f"+proj=tmerc +lat_0={centre[1]:.9f} +lon_0={centre[0]:.9f} +k=1 +x_0=0 +y_0=0 +ellps=WGS84 +units=m"
        )
        transformer = pyproj.Transformer.from_crs("EPSG:4326", local, always_xy=True)
        x, y = transformer.transform(lonlat[:, 0], lonlat[:, 1])
        lines = shapely.linestrings(np.column_stack([x, y]), indices=np.repeat(np.arange(len(ids)), counts))
        length = shapely.length(lines)
        time = length / (np.array(speeds) / 3.6)
        time_back = length / (np.array(back_speeds) / 3.6)

        index = {seg_id: k for k, seg_id in enumerate(ids)}
        rules = []
        for kind, from_id, via, to_id in (TurnRestriction(*r) for r in restrictions):
            a, b = index.get(from_id), index.get(to_id)
            if a is None or b is None or kind not in ("no", "only"):
                continue
            # The via node: the end of the from segment at exactly these coordinates; it must be the to segment's too.
            via = (float(via[0]), float(via[1]))
            at = [int(v) for v in (seg_from[a], seg_to[a]) if tuple(node_lonlat[v].tolist()) == via]
            if at and at[0] in (seg_from[b], seg_to[b]):
                rules.append((kind, a, at[0], b))
        return cls(
            ids, node_lonlat, seg_from, seg_to, length, time, time_back, np.array(oneway), lines, transformer, rules
        )

    @property
    def n_nodes(self) -> int:
        return len(self.node_lonlat)

    @property
    def n_segments(self) -> int:
        return len(self.segment_ids)

    # -- snapping -------------------------------------------------------------------------------------

    def to_metric(self, lonlat: np.ndarray) -> np.ndarray:
        """(lon, lat) rows to the graph's local metric projection (metres)."""
        lonlat = np.asarray(lonlat, dtype=float).reshape(-1, 2)
        x, y = self._transformer.transform(lonlat[:, 0], lonlat[:, 1])
        return np.column_stack([x, y])

    def snap_candidates(
        self, lonlat: np.ndarray, k: int = SNAP_CANDIDATES, spread_m: float = SNAP_SPREAD_M
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(point, segment, fraction, distance_m) arrays: each point's candidate segments, nearest first —
        the k nearest within spread_m of its nearest segment.  Ties go to the lowest segment index."""
        points = shapely.points(self.to_metric(lonlat))
        (near_which, _), near_dist = self._tree.query_nearest(points, return_distance=True, all_matches=False)
        nearest = np.full(len(points), np.inf)
        nearest[near_which] = near_dist
        # (+ a millimetre: the nearest piece itself must pass the distance test despite rounding)
        which, piece = self._tree.query(points, predicate="dwithin", distance=nearest + spread_m + AT_NODE_M)
        dist = shapely.distance(points[which], self._pieces[piece])
        seg = self._piece_seg[piece]
        # The nearest piece of each (point, segment), then each point's k nearest segments.
        pair = which.astype(np.int64) * len(self.segment_ids) + seg
        order = np.lexsort((piece, dist, pair))
        pair, which, seg, dist, piece = pair[order], which[order], seg[order], dist[order], piece[order]
        first = np.ones(len(pair), dtype=bool)
        first[1:] = pair[1:] != pair[:-1]
        which, seg, dist, piece = which[first], seg[first], dist[first], piece[first]
        order = np.lexsort((seg, dist, which))
        which, seg, dist, piece = which[order], seg[order], dist[order], piece[order]
        keep = np.arange(len(which)) - np.searchsorted(which, which) < k
        which, seg, dist, piece = which[keep], seg[keep], dist[keep], piece[keep]
        along = self._piece_offset[piece] + shapely.line_locate_point(self._pieces[piece], points[which])
        seg_len = self.seg_length_m[seg]
        along = np.where(along <= AT_NODE_M, 0.0, np.where(seg_len - along <= AT_NODE_M, seg_len, along))
        fraction = np.divide(along, seg_len, out=np.zeros_like(along), where=seg_len > 0)
        return which, seg, fraction, dist

    def snap(self, lon: float, lat: float) -> Snap:
        """The nearest point of the network."""
        _, segment, fraction, distance = self.snap_candidates(np.array([[lon, lat]]), k=1, spread_m=0.0)
        return Snap(int(segment[0]), float(fraction[0]), float(distance[0]))

    # -- search ---------------------------------------------------------------------------------------

    def _tails(self, seg: int, forwards: bool) -> np.ndarray:
        """The expanded nodes from which one may drive onto the segment in this direction."""
        key = seg * 2 + int(forwards)
        return self._x_tail[np.searchsorted(self._x_key, key) : np.searchsorted(self._x_key, key, side="right")]

    def _at_node(self, node: int) -> list[int]:
        return [int(node), *self.copies.get(int(node), [])]

    def _times_to(self, targets: Sequence[tuple[int, float, float, float]]) -> tuple[np.ndarray, np.ndarray]:
        """Travel time (s) and route length (m) from every expanded node to the incident.

        ``targets`` are the incident's candidates (segment, fraction, extra time, extra length).  One
        Dijkstra on the transposed graph from a virtual node standing for the incident: its edges reach
        the nodes that drive onto a candidate segment towards the point (forwards; backwards on a two-way
        segment), or, when the point is at a segment end, every copy of that node.
        """
        nx_ = self.n_expanded
        heads, weights, lengths = [], [], []
        for seg, frac, extra_t, extra_l in targets:
            time, time_back, length = self.seg_time_s[seg], self.seg_time_back_s[seg], self.seg_length_m[seg]
            options = [(self._tails(seg, True), frac * time, frac * length)]
            if not self.seg_oneway[seg]:
                options.append((self._tails(seg, False), (1 - frac) * time_back, (1 - frac) * length))
            if frac == 0.0:
                options.append((self._at_node(self.seg_from[seg]), 0.0, 0.0))
            if frac == 1.0:
                options.append((self._at_node(self.seg_to[seg]), 0.0, 0.0))
            for nodes, t, ell in options:
                heads.extend(np.asarray(nodes).tolist())
                weights.extend([extra_t + t] * len(nodes))
                lengths.extend([extra_l + ell] * len(nodes))
        heads_a, weights_a, lengths_a = np.array(heads, dtype=np.int64), np.array(weights), np.array(lengths)
        order = np.lexsort((weights_a, heads_a))  # one virtual edge per node: the cheapest
        heads_a, weights_a, lengths_a = heads_a[order], weights_a[order], lengths_a[order]
        first = np.ones(len(heads_a), dtype=bool)
        first[1:] = heads_a[1:] != heads_a[:-1]
        heads_a, weights_a, lengths_a = heads_a[first], weights_a[first], lengths_a[first]

        data = np.concatenate([self._rev_data, weights_a])
        indices = np.concatenate([self._rev_indices, heads_a.astype(self._rev_indices.dtype)])
        indptr = self._rev_indptr.copy()
        indptr[-1] += len(heads_a)
        graph = csr_matrix((data, indices, indptr), shape=(nx_ + 1, nx_ + 1))
        dist, pred = dijkstra(graph, directed=True, indices=nx_, return_predecessors=True)

        # Route lengths along the shortest-time tree by pointer jumping (log2(depth) vectorised rounds).
        # pred[x] = y means the route leaves x by the edge x -> y.
        parent = np.where(pred < 0, nx_, pred)
        parent[nx_] = nx_
        step = np.zeros(nx_ + 1)
        real = (parent[:nx_] != nx_) & np.isfinite(dist[:nx_])
        nodes = np.flatnonzero(real)
        pos = np.searchsorted(self._x_edge_key, nodes.astype(np.int64) * (nx_ + 1) + parent[nodes])
        step[nodes] = self._x_edge_length[pos]
        direct = (parent[heads_a] == nx_) & np.isfinite(dist[heads_a])
        step[heads_a[direct]] = lengths_a[direct]
        while (parent != nx_).any():
            step = step + step[parent]
            parent = parent[parent]
        return dist[:nx_], step[:nx_]


def _fastest(tail, head, time, length):
    """Of parallel edges (same tail and head) the fastest, sorted by (tail, head)."""
    order = np.lexsort((time, head, tail))
    tail, head, time, length = tail[order], head[order], time[order], length[order]
    first = np.ones(len(tail), dtype=bool)
    first[1:] = (tail[1:] != tail[:-1]) | (head[1:] != head[:-1])
    return tail[first], head[first], time[first], length[first]


def rank_units(
    graph: RoadGraph,
    incident_point: tuple[float, float],
    units: Sequence[tuple[Any, float, float]],
    *,
    off_network_m: float,
    access_speed_kmh: float = ACCESS_SPEED_KMH,
) -> Ranking:
    """Units (unit_id, lon, lat) ranked by road travel time to the incident (lon, lat), fastest first.

    One reverse search from the incident covers all units.  A unit's time is the best, over its
    candidate segments and the incident's, of leaving its segment at either allowed end plus that node's
    time to the incident, or driving straight along a segment both lie on; the distances between the
    points and their roads are covered at ``access_speed_kmh``.  Units with no road route are returned
    apart with the reason.  Ties keep the input order.
    """
    if not access_speed_kmh > 0:
        raise ValueError("the access speed must be positive")
    _check_lonlat(np.array([incident_point], dtype=float), "incident point")
    access_mps = access_speed_kmh / 3.6
    _, i_seg, i_frac, i_dist = graph.snap_candidates(np.array([incident_point], dtype=float))
    incident_snap = float(i_dist[0])
    if not units:
        return Ranking([], [], incident_snap, incident_snap > off_network_m)
    ids = [u[0] for u in units]
    lonlat = np.array([(u[1], u[2]) for u in units], dtype=float).reshape(-1, 2)
    _check_lonlat(lonlat, "unit position")

    targets = [(int(s), float(f), d / access_mps, float(d)) for s, f, d in zip(i_seg, i_frac, i_dist, strict=True)]
    node_time, node_len = graph._times_to(targets)
    which, s, f, d = graph.snap_candidates(lonlat)
    t_fwd, t_back, length = graph.seg_time_s[s], graph.seg_time_back_s[s], graph.seg_length_m[s]
    # Leave forwards through the segment's end node (any way out when standing on it) ...
    end = np.where(f == 1.0, graph.seg_to[s], graph.fwd_node[s])
    best_t = node_time[end] + (1 - f) * t_fwd
    best_l = node_len[end] + (1 - f) * length
    # ... or backwards through its start, if two-way or already standing on the start node ...
    start = np.where(f == 0.0, graph.seg_from[s], graph.back_node[s])
    t_back_total = np.where(~graph.seg_oneway[s] | (f == 0.0), node_time[start] + f * t_back, np.inf)
    use = t_back_total < best_t
    best_t, best_l = np.where(use, t_back_total, best_t), np.where(use, node_len[start] + f * length, best_l)
    # ... or along a segment the incident lies on, without passing a node.
    for seg, frac, extra_t, extra_l in targets:
        same = s == seg
        ahead = same & (f <= frac)
        behind = same & (f > frac) & ~graph.seg_oneway[s]
        t_direct = np.where(ahead, (frac - f) * t_fwd, np.where(behind, (f - frac) * t_back, np.inf)) + extra_t
        use = t_direct < best_t
        best_t, best_l = np.where(use, t_direct, best_t), np.where(use, np.abs(frac - f) * length + extra_l, best_l)
    total_t, total_l = best_t + d / access_mps, best_l + d

    # Per unit, the best candidate (candidates come nearest first: a tie keeps the nearer road).
    order = np.lexsort((total_t, which))
    which, total_t, total_l, d = which[order], total_t[order], total_l[order], d[order]
    first = np.ones(len(which), dtype=bool)
    first[1:] = which[1:] != which[:-1]
    eta = np.full(len(ids), np.inf)
    route = np.full(len(ids), np.inf)
    eta[which[first]], route[which[first]] = total_t[first], total_l[first]
    nearest = np.full(len(ids), np.inf)
    np.minimum.at(nearest, which, d)
    snap_used = np.full(len(ids), np.inf)
    snap_used[which[first]] = d[first]

    routable = [
        UnitETA(ids[i], float(eta[i]), float(route[i]), float(snap_used[i]), bool(nearest[i] > off_network_m))
        for i in np.lexsort((np.arange(len(ids)), eta)).tolist()
        if np.isfinite(eta[i])
    ]
    xy = graph.to_metric(lonlat)
    at = graph.to_metric(np.array([incident_point], dtype=float))[0]
    straight = np.hypot(xy[:, 0] - at[0], xy[:, 1] - at[1])
    unroutable = [
        Unroutable(ids[i], NO_ROUTE, float(straight[i]), float(nearest[i]), bool(nearest[i] > off_network_m))
        for i in np.lexsort((np.arange(len(ids)), straight)).tolist()
        if not np.isfinite(eta[i])
    ]
    return Ranking(routable, unroutable, incident_snap, incident_snap > off_network_m)


def _check_lonlat(lonlat: np.ndarray, what: str) -> None:
    """Refuse NaN or out-of-range WGS84 positions: a wrong ETA is worse than a clear error."""
    bad = _bad_lonlat(lonlat)
    if bad.any():
        raise ValueError(f"{what} is not a WGS84 (lon, lat): {lonlat[np.argmax(bad)].tolist()}")


def _bad_lonlat(lonlat: np.ndarray) -> np.ndarray:
    """Rows that are not a WGS84 (lon, lat): NaN, infinite or out of range."""
    return ~np.isfinite(lonlat).all(axis=1) | (np.abs(lonlat[:, 0]) > 180) | (np.abs(lonlat[:, 1]) > 90)
