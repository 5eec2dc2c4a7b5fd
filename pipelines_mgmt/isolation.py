"""Burst isolation on a valved pipe network: the valves to close, the pipes that go dry, and who loses supply.

Model
-----
A network is nodes (junctions, fittings, sources) joined by pipes. An isolation valve sits on one pipe
at the end that touches one node; this is WNTR's valve-layer convention, a (pipe, node) pair. Closing
the valve separates that pipe body from that node. So the unit a valve acts on is a *pipe end*
(called a "position" below), not a node or a whole pipe.

A *segment* (Walski; Jun & Loganathan) is a set of pipes and nodes that no valve can split. It is a
connected component of the graph whose vertices are the nodes and the pipe bodies, with one edge for
every pipe end that is not a cut. A pipe end is a **cut** when it carries

- a normally-closed valve: a permanent boundary, e.g. a pressure-zone valve. It is always closed,
  whatever its operability, so supply never passes it and it is never listed as "to close"; or
- a normally-open valve the crew can close. That means operability "working", and also "unknown"
  under the default policy (see below).

A pipe end whose valves are all inoperable is a pass-through: the segment extends past it. That is
the only way to stay consistent with the field, where a seized valve isolates nothing.

A burst on pipe P takes P's segment out of service. The valves to close are the closable valves on
that segment's boundary. If the crew reports that some of them will not close, the segment on the far
side of each one joins the shut-in area, and the search moves out to the next ring of valves.

Closing those valves can also leave other parts of the network with no path to any source
(reservoir, tank or treatment plant for water; gate station for gas). This is *unintended isolation*,
reported here as the **secondary outage**. Only parts that were supplied before the burst count: a
branch that is already dead behind a normally-closed valve is not blamed on the burst.

**Unknown operability** is planned as closable by default, and every such valve in a plan is listed in
``IsolationPlan.unverified_valves`` so the crew tries those first. If one does not close, re-plan with
it in ``valves_that_will_not_close``. Treating unknown valves as inoperable instead would merge many
segments and systematically over-isolate, when a crew report settles the question in minutes. Build
with ``unknown_is_operable=False`` to get the conservative plan.

Why precompute
--------------
Segments depend only on the valve layer. So the "warm graph" holds the segment label of every node
and pipe, and the segment adjacency graph (one edge per open cut valve, plus a virtual root joined to
every segment that holds a source). A burst query is then a label lookup, a scan of that segment's
boundary, and one breadth-first search over the segment graph with the shut-in segments removed.
That search is a C routine (scipy) over tens of thousands of segments, not over every pipe.

A valve state change patches the warm graph:

- a cut that disappears merges two segments (cost: the smaller segment);
- a new cut re-splits only the segment it falls in.

The segment graph is then re-derived lazily with vectorised numpy. Topology edits (pipes or nodes added
or removed, valves added or moved) need a new ``IsolationGraph``; building one is a vectorised step.

Not modelled: check valves (direction of supply) and hydraulics (pressure shortfalls). This is the
topological analysis that the published segment definition and WNTR's ``valve_segments`` describe.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import NamedTuple

import numpy as np
from scipy import sparse
from scipy.sparse import csgraph

__all__ = [
    "ClosingStep",
    "FarSide",
    "IsolationGraph",
    "IsolationPlan",
    "Operability",
    "Pipe",
    "Valve",
    "valve_segments",
]


class Operability(StrEnum):
    """Whether a valve is known to turn: the result of the last exercise or field report."""

    WORKING = "working"
    INOPERABLE = "inoperable"
    UNKNOWN = "unknown"


_WORKING, _INOPERABLE, _UNKNOWN = 0, 1, 2
_OPERABILITY_CODE = {Operability.WORKING: _WORKING, Operability.INOPERABLE: _INOPERABLE, Operability.UNKNOWN: _UNKNOWN}


class Pipe(NamedTuple):
    """A pipe body between two nodes. Pumps and control valves of a hydraulic model can be given as pipes too."""

    id: Hashable
    start: Hashable
    end: Hashable
    length: float = 0.0


class Valve(NamedTuple):
    """An isolation valve on ``pipe`` at the end touching ``node`` (WNTR's (link, node) convention)."""

    id: Hashable
    pipe: Hashable
    node: Hashable
    normally_closed: bool = False
    operability: Operability | str = Operability.WORKING


class FarSide(StrEnum):
    """What lies beyond a valve to close once the burst is isolated. Drives the closing order."""

    SUPPLIED = "supplied"  # still connected to a source: water pushes into the burst through this valve
    CUT_OFF = "cut_off"  # loses its source once the burst is isolated (part of the secondary outage)
    UNSUPPLIED = "unsupplied"  # had no source before the burst either


@dataclass(frozen=True)
class IsolationPlan:
    """The answer to one burst: what to close, what is shut in, and what loses supply as a consequence."""

    burst_pipe_id: Hashable
    valves_to_close: tuple[Hashable, ...]
    """One closable valve per boundary pipe end, in valve input order (see ``IsolationGraph.closing_order``)."""
    closed_boundary_valves: tuple[Hashable, ...]
    """Normally-closed valves on the boundary: no action, but they must stay closed."""
    unverified_valves: tuple[Hashable, ...]
    """The valves to close whose operability is unknown: try these first, re-plan if one will not close."""
    extended_past_valves: tuple[Hashable, ...]
    """Valves reported as not closing that the shut-in area was extended past."""
    isolated_pipe_ids: frozenset
    isolated_node_ids: frozenset
    outage_pipe_ids: frozenset
    """Secondary outage: supplied before the burst, cut off from every source once the valves are closed."""
    outage_node_ids: frozenset
    isolated_length: float
    outage_length: float
    far_side: Mapping[Hashable, FarSide] = field(default_factory=dict)
    """For each valve to close, what lies beyond it once the burst is isolated."""

    @property
    def total_length(self) -> float:
        """Length of pipe out of service: the shut-in segment plus the secondary outage."""
        return self.isolated_length + self.outage_length


class ClosingStep(NamedTuple):
    valve_id: Hashable
    far_side: FarSide
    distance: float
    """Along the pipes, from the middle of the burst pipe to the valve."""


_FAR_SIDE_RANK = {FarSide.SUPPLIED: 0, FarSide.CUT_OFF: 1, FarSide.UNSUPPLIED: 2}


def _gather_ranges(offsets: np.ndarray, items: np.ndarray) -> np.ndarray:
    """Concatenate ``range(offsets[i], offsets[i+1])`` for every i in ``items``, without a Python loop."""
    starts = offsets[items]
    lengths = offsets[items + 1] - starts
    total = int(lengths.sum())
    if total == 0:
        return np.empty(0, dtype=np.int64)
    begin_in_output = np.cumsum(lengths) - lengths
    return np.repeat(starts - begin_in_output, lengths) + np.arange(total)


def _index_of(index: Mapping[Hashable, int], keys: Iterable[Hashable], what: str) -> np.ndarray:
    try:
        return np.fromiter((index[key] for key in keys), dtype=np.int64)
    except KeyError as missing:
        raise ValueError(f"unknown {what} {missing.args[0]!r}") from None


def _lookup(index: Mapping[Hashable, int], key: Hashable, what: str) -> int:
    try:
        return index[key]
    except KeyError:
        raise KeyError(f"unknown {what} {key!r}") from None


def _unique_index(ids: Sequence[Hashable], what: str) -> dict[Hashable, int]:
    index = {item: position for position, item in enumerate(ids)}
    if len(index) != len(ids):
        raise ValueError(f"duplicate {what} ids")
    return index


class IsolationGraph:
    """The warm graph: segments and segment adjacency of one network, ready for burst queries.

    Elements are numbered nodes first (0..n_nodes-1), then pipes (n_nodes + pipe index). Pipe end
    ("position") ``2*pipe + 0`` is the start end, ``2*pipe + 1`` the end end.

    Queries and patches take an internal lock, so one instance can be shared between threads.
    """

    def __init__(
        self,
        nodes: Iterable[Hashable],
        sources: Iterable[Hashable],
        pipes: Iterable[Pipe | tuple],
        valves: Iterable[Valve | tuple] = (),
        *,
        unknown_is_operable: bool = True,
    ) -> None:
        self.unknown_is_operable = unknown_is_operable
        self._lock = threading.RLock()

        self._node_ids = list(nodes)
        self._node_index = _unique_index(self._node_ids, "node")
        self._source_nodes = np.unique(_index_of(self._node_index, sources, "source node"))
        pipe_rows = [row if isinstance(row, Pipe) else Pipe(*row) for row in pipes]
        self._pipe_ids = [row.id for row in pipe_rows]
        self._pipe_index = _unique_index(self._pipe_ids, "pipe")
        self._pipe_length = np.fromiter((row.length for row in pipe_rows), dtype=np.float64, count=len(pipe_rows))
        self.n_nodes = n_nodes = len(self._node_ids)
        self.n_pipes = n_pipes = len(pipe_rows)

        position_node = np.empty(2 * n_pipes, dtype=np.int64)
        position_node[0::2] = _index_of(self._node_index, (row.start for row in pipe_rows), "pipe start node")
        position_node[1::2] = _index_of(self._node_index, (row.end for row in pipe_rows), "pipe end node")
        self._position_node = position_node
        node_order = np.argsort(position_node, kind="stable")
        self._node_positions = node_order
        self._node_position_offsets = np.concatenate(
            ([0], np.cumsum(np.bincount(position_node, minlength=n_nodes)))
        ).astype(np.int64)

        self._set_valves([row if isinstance(row, Valve) else Valve(*row) for row in valves])
        self._compute_position_flags()
        self._partition()

    @classmethod
    def from_wntr(cls, wn, valve_layer=None, *, sources: Iterable[Hashable] | None = None, **options) -> IsolationGraph:
        """Build from a ``wntr.network.WaterNetworkModel`` and a WNTR valve layer (DataFrame with link, node).

        Every link (pipe, pump, control valve) becomes a pipe, as in WNTR's own segment analysis.
        Sources default to the model's reservoirs and tanks. Valve ids are the layer's index values.
        """
        nodes = list(wn.node_name_list)
        if sources is None:
            sources = list(wn.reservoir_name_list) + list(wn.tank_name_list)
        pipes = [
            Pipe(name, link.start_node_name, link.end_node_name, float(getattr(link, "length", 0.0) or 0.0))
            for name, link in wn.links()
        ]
        valves = []
        if valve_layer is not None:
            valves = [
                Valve(index, link, node)
                for index, link, node in zip(
                    valve_layer.index.tolist(), valve_layer["link"].tolist(), valve_layer["node"].tolist(), strict=True
                )
            ]
        return cls(nodes, sources, pipes, valves, **options)

    # ----------------------------------------------------------------- building

    def _set_valves(self, valve_rows: list[Valve]) -> None:
        self._valve_ids = [row.id for row in valve_rows]
        self._valve_index = _unique_index(self._valve_ids, "valve")
        valve_pipe = _index_of(self._pipe_index, (row.pipe for row in valve_rows), "valve pipe")
        valve_node = _index_of(self._node_index, (row.node for row in valve_rows), "valve node")
        at_start = self._position_node[2 * valve_pipe] == valve_node
        at_end = self._position_node[2 * valve_pipe + 1] == valve_node
        misplaced = np.flatnonzero(~(at_start | at_end))
        if misplaced.size:
            row = valve_rows[int(misplaced[0])]
            raise ValueError(f"valve {row.id!r} sits at node {row.node!r}, which is not an end of pipe {row.pipe!r}")
        # A valve on a pipe that starts and ends at the same node is taken to sit at its start end.
        self._valve_position = 2 * valve_pipe + np.where(at_start, 0, 1)
        self._valve_normally_closed = np.fromiter(
            (bool(row.normally_closed) for row in valve_rows), dtype=bool, count=len(valve_rows)
        )
        try:
            self._valve_operability = np.fromiter(
                (_OPERABILITY_CODE[Operability(row.operability)] for row in valve_rows),
                dtype=np.int8,
                count=len(valve_rows),
            )
        except ValueError as bad:
            raise ValueError(f"bad valve operability: {bad}") from None
        order = np.argsort(self._valve_position, kind="stable")
        self._position_valves = order
        self._position_valve_offsets = np.concatenate(
            ([0], np.cumsum(np.bincount(self._valve_position, minlength=2 * self.n_pipes)))
        ).astype(np.int64)

    def _valve_closable(self, valves: np.ndarray) -> np.ndarray:
        """Normally open and planned as operable: a valve the crew is sent to close."""
        operability = self._valve_operability[valves]
        operable = (operability == _WORKING) | ((operability == _UNKNOWN) & self.unknown_is_operable)
        return operable & ~self._valve_normally_closed[valves]

    def _compute_position_flags(self) -> None:
        """A pipe end is a cut if it has a normally-closed or a closable valve; "closed" if normally closed."""
        all_valves = np.arange(len(self._valve_ids))
        closable = self._valve_closable(all_valves)
        self._position_cut = np.zeros(2 * self.n_pipes, dtype=bool)
        self._position_closed = np.zeros(2 * self.n_pipes, dtype=bool)
        self._position_cut[self._valve_position[closable | self._valve_normally_closed]] = True
        self._position_closed[self._valve_position[self._valve_normally_closed]] = True

    def _valves_at(self, position: int) -> np.ndarray:
        offsets = self._position_valve_offsets
        return self._position_valves[offsets[position] : offsets[position + 1]]

    def _partition(self) -> None:
        """Union of every element pair joined by a non-cut pipe end, as connected components (scipy)."""
        n_nodes = self.n_nodes
        n_elements = n_nodes + self.n_pipes
        joined = np.flatnonzero(~self._position_cut)
        rows = n_nodes + (joined >> 1)
        cols = self._position_node[joined]
        element_graph = sparse.coo_matrix(
            (np.ones(joined.size, dtype=np.int8), (rows, cols)), shape=(n_elements, n_elements)
        ).tocsr()
        n_segments, labels = csgraph.connected_components(element_graph, directed=False)
        self._labels = labels.astype(np.int64)
        order = np.argsort(self._labels, kind="stable")
        counts = np.bincount(self._labels, minlength=n_segments)
        self._members: list[np.ndarray] = np.split(order, np.cumsum(counts)[:-1]) if n_segments else []
        self._supply_graph = None

    def _ensure_supply_graph(self) -> None:
        """Segment graph for supply: an edge per open cut valve between two segments, root → source segments.

        Also records which segments are supplied before any burst (the baseline), so a burst is only
        blamed for what it actually cuts off.
        """
        if self._supply_graph is not None:
            return
        n_nodes = self.n_nodes
        open_cuts = np.flatnonzero(self._position_cut & ~self._position_closed)
        pipe_side = self._labels[n_nodes + (open_cuts >> 1)]
        node_side = self._labels[self._position_node[open_cuts]]
        between = pipe_side != node_side
        pipe_side, node_side = pipe_side[between], node_side[between]
        root = len(self._members)
        source_segments = np.unique(self._labels[self._source_nodes])
        rows = np.concatenate((pipe_side, node_side, np.full(source_segments.size, root)))
        cols = np.concatenate((node_side, pipe_side, source_segments))
        graph = sparse.csr_matrix((np.ones(rows.size, dtype=np.float64), (rows, cols)), shape=(root + 1, root + 1))
        graph.sum_duplicates()
        self._supply_indptr = graph.indptr.astype(np.int32)
        self._supply_indptr_wide = graph.indptr.astype(np.int64)
        self._supply_indices = graph.indices.astype(np.int32)
        self._supply_data = graph.data
        self._supply_graph = graph
        self._baseline_supplied = self._reachable_without(np.empty(0, dtype=np.int64))

    def _reachable_without(self, removed_segments: np.ndarray) -> np.ndarray:
        """Segments reachable from the source root when ``removed_segments`` are shut in.

        Instead of deleting rows, every edge leaving a removed segment is redirected to itself: the
        search can enter a removed segment but never pass through it. The copy is one memcpy.
        """
        root = len(self._members)
        indices = self._supply_indices
        if removed_segments.size:
            indices = indices.copy()
            edges = _gather_ranges(self._supply_indptr_wide, removed_segments)
            run_lengths = self._supply_indptr[removed_segments + 1] - self._supply_indptr[removed_segments]
            indices[edges] = np.repeat(removed_segments, run_lengths)
        graph = sparse.csr_matrix((self._supply_data, indices, self._supply_indptr), shape=(root + 1, root + 1))
        reached = csgraph.breadth_first_order(graph, root, directed=True, return_predecessors=False)
        supplied = np.zeros(root + 1, dtype=bool)
        supplied[reached] = True
        supplied[removed_segments] = False
        return supplied[:root]

    # ----------------------------------------------------------------- patching

    def set_valve_state(
        self, valve_id: Hashable, *, normally_closed: bool | None = None, operability: Operability | str | None = None
    ) -> None:
        """Change a valve's normal position and/or operability, patching the warm graph in place.

        A pipe end that stops being a cut merges the two segments it separated. A pipe end that becomes
        a cut re-splits the one segment it lies in. Either way only those segments are touched; the
        segment adjacency graph is re-derived on the next query.
        """
        with self._lock:
            valve = _lookup(self._valve_index, valve_id, "valve")
            position = int(self._valve_position[valve])
            was_cut = bool(self._position_cut[position])
            if normally_closed is not None:
                self._valve_normally_closed[valve] = bool(normally_closed)
            if operability is not None:
                self._valve_operability[valve] = _OPERABILITY_CODE[Operability(operability)]
            valves_here = self._valves_at(position)
            normally_closed_here = bool(self._valve_normally_closed[valves_here].any())
            is_cut = normally_closed_here or bool(self._valve_closable(valves_here).any())
            self._position_cut[position] = is_cut
            self._position_closed[position] = normally_closed_here
            pipe_segment = int(self._labels[self.n_nodes + (position >> 1)])
            node_segment = int(self._labels[self._position_node[position]])
            if was_cut and not is_cut:
                self._merge_segments(pipe_segment, node_segment)
            elif is_cut and not was_cut:
                self._split_segment(pipe_segment)
            self._supply_graph = None

    def mark_valve_failed(self, valve_id: Hashable) -> None:
        """Record that a valve is inoperable (found seized or buried): it becomes a pass-through."""
        self.set_valve_state(valve_id, operability=Operability.INOPERABLE)

    def _merge_segments(self, first: int, second: int) -> None:
        if first == second:
            return
        keep, absorb = (first, second) if self._members[first].size >= self._members[second].size else (second, first)
        self._labels[self._members[absorb]] = keep
        self._members[keep] = np.concatenate((self._members[keep], self._members[absorb]))
        self._members[absorb] = np.empty(0, dtype=np.int64)

    def _split_segment(self, segment: int) -> None:
        """Recompute connected components inside one segment after a new cut appeared in it."""
        members = np.sort(self._members[segment])
        n_nodes = self.n_nodes
        pipes = members[members >= n_nodes] - n_nodes
        positions = np.concatenate((2 * pipes, 2 * pipes + 1))
        joined = positions[~self._position_cut[positions]]
        rows = np.searchsorted(members, n_nodes + (joined >> 1))
        cols = np.searchsorted(members, self._position_node[joined])
        local = sparse.coo_matrix(
            (np.ones(joined.size, dtype=np.int8), (rows, cols)), shape=(members.size, members.size)
        ).tocsr()
        n_parts, part = csgraph.connected_components(local, directed=False)
        if n_parts == 1:
            self._members[segment] = members
            return
        largest = int(np.argmax(np.bincount(part)))
        for piece in range(n_parts):
            piece_members = members[part == piece]
            if piece == largest:
                self._members[segment] = piece_members
            else:
                self._labels[piece_members] = len(self._members)
                self._members.append(piece_members)

    # ----------------------------------------------------------------- queries

    def _boundary(self, segments: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Cut pipe ends with exactly one side in ``segments``: (pipe ends, segment on the far side)."""
        n_nodes = self.n_nodes
        members = (
            self._members[int(segments[0])]
            if segments.size == 1
            else np.concatenate([self._members[int(segment)] for segment in segments])
        )
        is_node = members < n_nodes
        pipes = members[~is_node] - n_nodes
        candidates = np.concatenate(
            (
                2 * pipes,
                2 * pipes + 1,
                self._node_positions[_gather_ranges(self._node_position_offsets, members[is_node])],
            )
        )
        candidates = candidates[self._position_cut[candidates]]
        pipe_side = self._labels[n_nodes + (candidates >> 1)]
        node_side = self._labels[self._position_node[candidates]]
        if segments.size == 1:
            pipe_inside, node_inside = pipe_side == segments[0], node_side == segments[0]
        else:
            pipe_inside, node_inside = np.isin(pipe_side, segments), np.isin(node_side, segments)
        on_boundary = pipe_inside != node_inside
        far = np.where(pipe_inside, node_side, pipe_side)[on_boundary]
        return candidates[on_boundary], far

    def _closable_valve_at(self, position: int, will_not_close: set[int]) -> int | None:
        """The valve to send the crew to at this pipe end: a working one before an unknown one."""
        valves = self._valves_at(position)
        candidates = [int(v) for v, ok in zip(valves, self._valve_closable(valves), strict=True) if ok]
        candidates = [v for v in candidates if v not in will_not_close]
        if not candidates:
            return None
        return min(candidates, key=lambda v: (self._valve_operability[v] != _WORKING, v))

    def isolate_burst(self, pipe_id: Hashable, valves_that_will_not_close: Iterable[Hashable] = ()) -> IsolationPlan:
        """Plan the isolation of a burst on ``pipe_id``.

        ``valves_that_will_not_close`` holds valves the crew reported stuck for this incident: the
        shut-in area extends past each one until every boundary pipe end can be closed.
        """
        with self._lock:
            self._ensure_supply_graph()
            burst = _lookup(self._pipe_index, pipe_id, "pipe")
            will_not_close = {_lookup(self._valve_index, valve_id, "valve") for valve_id in valves_that_will_not_close}
            shut_in = np.array([self._labels[self.n_nodes + burst]], dtype=np.int64)
            extended_past: list[int] = []
            while True:
                positions, far = self._boundary(shut_in)
                if not will_not_close:
                    break
                grow: set[int] = set()
                for position, far_segment in zip(positions.tolist(), far.tolist(), strict=True):
                    if (
                        not self._position_closed[position]
                        and self._closable_valve_at(position, will_not_close) is None
                    ):
                        grow.add(far_segment)
                        extended_past.extend(int(v) for v in self._valves_at(position) if int(v) in will_not_close)
                if not grow:
                    break
                shut_in = np.union1d(shut_in, np.fromiter(grow, dtype=np.int64))

            supplied_now = self._reachable_without(shut_in)
            to_close: list[int] = []
            closed_boundary: list[int] = []
            far_side: dict[Hashable, FarSide] = {}
            for position, far_segment in zip(positions.tolist(), far.tolist(), strict=True):
                if self._position_closed[position]:
                    valves = self._valves_at(position)
                    closed_boundary.extend(int(v) for v in valves if self._valve_normally_closed[v])
                    continue
                valve = self._closable_valve_at(position, will_not_close)
                to_close.append(valve)
                if supplied_now[far_segment]:
                    far_side[self._valve_ids[valve]] = FarSide.SUPPLIED
                elif self._baseline_supplied[far_segment]:
                    far_side[self._valve_ids[valve]] = FarSide.CUT_OFF
                else:
                    far_side[self._valve_ids[valve]] = FarSide.UNSUPPLIED
            to_close.sort()
            closed_boundary = sorted(set(closed_boundary))

            isolated_nodes, isolated_pipes = self._elements_of(shut_in)
            lost = self._baseline_supplied & ~supplied_now
            lost[shut_in] = False
            outage_segments = np.flatnonzero(lost)
            outage_nodes, outage_pipes = self._elements_of(outage_segments)
            valve_ids = self._valve_ids
            return IsolationPlan(
                burst_pipe_id=pipe_id,
                valves_to_close=tuple(valve_ids[v] for v in to_close),
                closed_boundary_valves=tuple(valve_ids[v] for v in closed_boundary),
                unverified_valves=tuple(valve_ids[v] for v in to_close if self._valve_operability[v] == _UNKNOWN),
                extended_past_valves=tuple(valve_ids[v] for v in sorted(set(extended_past))),
                isolated_pipe_ids=frozenset(self._pick(self._pipe_ids, isolated_pipes)),
                isolated_node_ids=frozenset(self._pick(self._node_ids, isolated_nodes)),
                outage_pipe_ids=frozenset(self._pick(self._pipe_ids, outage_pipes)),
                outage_node_ids=frozenset(self._pick(self._node_ids, outage_nodes)),
                isolated_length=float(self._pipe_length[isolated_pipes].sum()),
                outage_length=float(self._pipe_length[outage_pipes].sum()),
                far_side=far_side,
            )

    @staticmethod
    def _pick(ids: list, indices: np.ndarray) -> list:
        return [ids[i] for i in indices.tolist()]

    def _elements_of(self, segments: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(node indices, pipe indices) of the given segments."""
        if segments.size == 0:
            empty = np.empty(0, dtype=np.int64)
            return empty, empty
        if segments.size <= 256:
            members = np.concatenate([self._members[int(segment)] for segment in segments])
        else:
            wanted = np.zeros(len(self._members), dtype=bool)
            wanted[segments] = True
            members = np.flatnonzero(wanted[self._labels])
        is_node = members < self.n_nodes
        return members[is_node], members[~is_node] - self.n_nodes

    def closing_order(self, plan: IsolationPlan) -> list[ClosingStep]:
        """Order the plan's valves for the crew.

        Rule: valves whose far side is still fed by a source come first, because water keeps pushing
        into the burst through them. Then valves whose far side is being cut off (they only stop
        back-drainage). Then valves facing parts that were already unsupplied. Within each group the
        nearest valve comes first, nearest meaning the distance along the pipes from the middle of the
        burst pipe: the crew is at the burst and the nearest closures cut the flow soonest. Ties go in
        valve input order.
        """
        if not plan.valves_to_close:
            return []
        with self._lock:
            n_nodes = self.n_nodes
            burst = self._pipe_index[plan.burst_pipe_id]
            inside_nodes = _index_of(self._node_index, plan.isolated_node_ids, "node")
            inside_pipes = _index_of(self._pipe_index, plan.isolated_pipe_ids, "pipe")
            node_inside = np.zeros(n_nodes, dtype=bool)
            node_inside[inside_nodes] = True
            pipe_inside = np.zeros(self.n_pipes, dtype=bool)
            pipe_inside[inside_pipes] = True

            # Distances along the shut-in pipes, from a virtual vertex at the burst pipe's midpoint.
            local = np.full(n_nodes, -1, dtype=np.int64)
            local[inside_nodes] = np.arange(inside_nodes.size)
            start_vertex = inside_nodes.size
            ends = self._position_node.reshape(-1, 2)[inside_pipes]
            both_inside = node_inside[ends[:, 0]] & node_inside[ends[:, 1]]
            weights = np.maximum(self._pipe_length[inside_pipes][both_inside], 1e-9)
            rows = list(local[ends[both_inside, 0]])
            cols = list(local[ends[both_inside, 1]])
            data = list(weights)
            half = max(float(self._pipe_length[burst]) / 2, 1e-9)
            for end_node in self._position_node[2 * burst : 2 * burst + 2]:
                if node_inside[end_node]:
                    rows.append(start_vertex)
                    cols.append(local[end_node])
                    data.append(half)
            graph = sparse.coo_matrix((data, (rows, cols)), shape=(start_vertex + 1, start_vertex + 1)).tocsr()
            node_distance = csgraph.dijkstra(graph, directed=False, indices=start_vertex)

            steps = []
            for valve_id in plan.valves_to_close:
                valve = self._valve_index[valve_id]
                position = int(self._valve_position[valve])
                pipe = position >> 1
                node = self._position_node[position]
                if pipe == burst:
                    distance = half
                elif pipe_inside[pipe]:
                    other_end = self._position_node[position ^ 1]
                    reach = node_distance[local[other_end]] if node_inside[other_end] else np.inf
                    distance = float(reach + self._pipe_length[pipe])
                else:
                    distance = float(node_distance[local[node]])
                steps.append((valve, ClosingStep(valve_id, plan.far_side[valve_id], distance)))
            steps.sort(key=lambda item: (_FAR_SIDE_RANK[item[1].far_side], item[1].distance, item[0]))
            return [step for _, step in steps]

    # ----------------------------------------------------------------- reporting

    def valve_segments(self) -> tuple[dict[Hashable, int], dict[Hashable, int]]:
        """(segment of every node, segment of every pipe), numbered 0..k-1 like WNTR's ``valve_segments``."""
        with self._lock:
            _, compact = np.unique(self._labels, return_inverse=True)
            compact = compact.tolist()
            node_segment = dict(zip(self._node_ids, compact[: self.n_nodes], strict=True))
            pipe_segment = dict(zip(self._pipe_ids, compact[self.n_nodes :], strict=True))
            return node_segment, pipe_segment

    @property
    def n_segments(self) -> int:
        return int(sum(1 for members in self._members if members.size))

    def segment_of_pipe(self, pipe_id: Hashable) -> int:
        return int(self._labels[self.n_nodes + _lookup(self._pipe_index, pipe_id, "pipe")])


def valve_segments(
    nodes: Iterable[Hashable], pipes: Iterable[Pipe | tuple], valves: Iterable[Valve | tuple]
) -> tuple[dict[Hashable, int], dict[Hashable, int]]:
    """Map every node and pipe to its valve segment (same partition as WNTR's ``valve_segments``)."""
    return IsolationGraph(nodes, (), pipes, valves).valve_segments()
