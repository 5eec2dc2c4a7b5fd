"""Topology check of a pipe network: the defects that make isolation answers wrong, with their locations.

Plain module (no Django): coordinates are metres in a projected CRS, so the tolerance is a distance.
Every check reports and carries on; nothing here raises on bad data, because a report on a broken
network is exactly what the person fixing it needs.

Checks
------
- ``dangling_end``: a node touched by one pipe end (or none) that is not a source, hydrant or meter.
  Real dead ends exist; each one is listed so a person can confirm it.
- ``near_miss``: a node within the tolerance of another node, or a dangling end within the tolerance of
  another pipe's body, without being joined: a digitising error that silently splits the graph.
- ``duplicate_pipe``: two pipes between the same two nodes along the same line (Hausdorff distance
  within the tolerance).
- ``isolated_component``: a connected part of the network that is not the largest one.
- ``valve_not_on_pipe``: a valve whose node is not an end of its pipe, or whose location is off the pipe.
- ``no_source``: pipes with no path to any source once normally-closed valves are taken as closed.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from itertools import pairwise

import numpy as np
import pyproj
import shapely
import shapely.ops
from scipy import sparse
from scipy.sparse import csgraph

# Node kinds whose single pipe end is expected, not a defect.
END_KINDS = frozenset({"source", "hydrant", "meter"})


class DefectKind(StrEnum):
    DANGLING_END = "dangling_end"
    NEAR_MISS = "near_miss"
    DUPLICATE_PIPE = "duplicate_pipe"
    ISOLATED_COMPONENT = "isolated_component"
    VALVE_NOT_ON_PIPE = "valve_not_on_pipe"
    NO_SOURCE = "no_source"


SEVERITY = {
    DefectKind.DANGLING_END: "warning",
    DefectKind.NEAR_MISS: "error",
    DefectKind.DUPLICATE_PIPE: "error",
    DefectKind.ISOLATED_COMPONENT: "warning",
    DefectKind.VALVE_NOT_ON_PIPE: "error",
    DefectKind.NO_SOURCE: "error",
}


@dataclass(frozen=True)
class TopoNode:
    id: Hashable
    x: float
    y: float
    kind: str = "junction"


@dataclass(frozen=True)
class TopoPipe:
    id: Hashable
    start: Hashable
    end: Hashable
    coords: Sequence[tuple[float, float]]


@dataclass(frozen=True)
class TopoValve:
    id: Hashable
    pipe: Hashable
    node: Hashable
    x: float
    y: float
    normally_closed: bool = False


@dataclass(frozen=True)
class Defect:
    kind: DefectKind
    x: float
    y: float
    message: str
    nodes: tuple = ()
    pipes: tuple = ()
    valves: tuple = ()

    @property
    def severity(self) -> str:
        return SEVERITY[self.kind]


def defects_json(defects: Iterable[Defect], srid: int, *, with_ids: bool) -> list[dict]:
    """Defects as the reports show them, located in WGS84 (7 decimals); `with_ids` adds the ids of the nodes,
    pipes and valves involved: a stored network's, as a network built from a file has only positions in it."""
    to_wgs84 = pyproj.Transformer.from_crs(srid, 4326, always_xy=True)
    shown = []
    for defect in defects:
        lon, lat = to_wgs84.transform(defect.x, defect.y)
        item = {
            "kind": defect.kind.value,
            "severity": defect.severity,
            "message": defect.message,
            "location": {"type": "Point", "coordinates": [round(lon, 7), round(lat, 7)]},
        }
        if with_ids:
            item |= {"nodes": list(defect.nodes), "pipes": list(defect.pipes), "valves": list(defect.valves)}
        shown.append(item)
    return shown


@dataclass(frozen=True)
class TopologyReport:
    defects: list[Defect]
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not any(defect.severity == "error" for defect in self.defects)


def check_topology(
    nodes: Iterable[TopoNode],
    pipes: Iterable[TopoPipe],
    valves: Iterable[TopoValve] = (),
    *,
    tolerance: float = 1.0,
) -> TopologyReport:
    """Run every check; pipes or valves that name unknown nodes are reported, not raised."""
    nodes, pipes, valves = list(nodes), list(pipes), list(valves)
    node_by_id = {node.id: node for node in nodes}
    defects: list[Defect] = []
    known_pipes = []
    for pipe in pipes:
        missing = [end for end in (pipe.start, pipe.end) if end not in node_by_id]
        if missing:
            x, y = pipe.coords[0]
            defects.append(
                Defect(
                    DefectKind.DANGLING_END, x, y, f"pipe {pipe.id} ends at unknown node {missing[0]}", pipes=(pipe.id,)
                )
            )
        else:
            known_pipes.append(pipe)
    pipes = known_pipes
    degree = Counter()
    for pipe in pipes:
        degree[pipe.start] += 1
        degree[pipe.end] += 1
    defects += _dangling_ends(nodes, degree)
    defects += _near_misses(nodes, pipes, degree, tolerance)
    defects += _duplicates(pipes, tolerance)
    defects += _valves_off_pipes(valves, pipes, tolerance)
    defects += _components(nodes, pipes, valves)
    counts = Counter(defect.kind.value for defect in defects)
    return TopologyReport(defects, {kind.value: counts.get(kind.value, 0) for kind in DefectKind})


def _dangling_ends(nodes: list[TopoNode], degree: Counter) -> list[Defect]:
    found = []
    for node in nodes:
        if degree[node.id] <= 1 and node.kind not in END_KINDS:
            what = "is not connected to any pipe" if degree[node.id] == 0 else "ends one pipe only"
            found.append(Defect(DefectKind.DANGLING_END, node.x, node.y, f"node {node.id} {what}", nodes=(node.id,)))
    return found


def _near_misses(nodes: list[TopoNode], pipes: list[TopoPipe], degree: Counter, tolerance: float) -> list[Defect]:
    if not nodes:
        return []
    neighbours = defaultdict(set)
    incident = defaultdict(set)
    for pipe in pipes:
        neighbours[pipe.start].add(pipe.end)
        neighbours[pipe.end].add(pipe.start)
        incident[pipe.start].add(pipe.id)
        incident[pipe.end].add(pipe.id)
    points = shapely.points([(node.x, node.y) for node in nodes])
    found = []
    left, right = shapely.STRtree(points).query(points, predicate="dwithin", distance=tolerance)
    for a, b in zip(left.tolist(), right.tolist(), strict=True):
        first, second = nodes[a], nodes[b]
        if a < b and second.id not in neighbours[first.id]:
            gap = shapely.distance(points[a], points[b])
            found.append(
                Defect(
                    DefectKind.NEAR_MISS,
                    first.x,
                    first.y,
                    f"nodes {first.id} and {second.id} are {gap:.2f} m apart but not joined",
                    nodes=(first.id, second.id),
                )
            )
    if not pipes:
        return found
    lines = np.array([shapely.LineString(pipe.coords) for pipe in pipes], dtype=object)
    ends = [i for i, node in enumerate(nodes) if degree[node.id] == 1]
    at = {node.id: i for i, node in enumerate(nodes)}
    if ends:
        hit_node, hit_pipe = shapely.STRtree(lines).query(points[ends], predicate="dwithin", distance=tolerance)
        for k, p in zip(hit_node.tolist(), hit_pipe.tolist(), strict=True):
            node, pipe = nodes[ends[k]], pipes[p]
            # Close to one of the pipe's end nodes: that is the node-to-node near miss reported above.
            near_end = min(shapely.distance(points[ends[k]], points[at[end]]) for end in (pipe.start, pipe.end))
            if pipe.id in incident[node.id] or near_end <= tolerance:
                continue
            gap = shapely.distance(points[ends[k]], lines[p])
            found.append(
                Defect(
                    DefectKind.NEAR_MISS,
                    node.x,
                    node.y,
                    f"dangling node {node.id} is {gap:.2f} m from pipe {pipe.id}, which is not split there",
                    nodes=(node.id,),
                    pipes=(pipe.id,),
                )
            )
    return found


def _duplicates(pipes: list[TopoPipe], tolerance: float) -> list[Defect]:
    by_ends = defaultdict(list)
    for pipe in pipes:
        by_ends[frozenset((pipe.start, pipe.end))].append(pipe)
    found = []
    for group in by_ends.values():
        lines = [shapely.LineString(pipe.coords) for pipe in group]
        for i in range(len(group)):
            for j in range(i + 1, len(group)):
                if shapely.hausdorff_distance(lines[i], lines[j]) <= tolerance:
                    x, y = group[i].coords[0]
                    found.append(
                        Defect(
                            DefectKind.DUPLICATE_PIPE,
                            x,
                            y,
                            f"pipes {group[i].id} and {group[j].id} join the same nodes along the same line",
                            pipes=(group[i].id, group[j].id),
                        )
                    )
    return found


def _valves_off_pipes(valves: list[TopoValve], pipes: list[TopoPipe], tolerance: float) -> list[Defect]:
    by_id = {pipe.id: pipe for pipe in pipes}
    found = []
    for valve in valves:
        pipe = by_id.get(valve.pipe)
        if pipe is None:
            message = f"valve {valve.id} is on unknown pipe {valve.pipe}"
        elif valve.node not in (pipe.start, pipe.end):
            message = f"valve {valve.id} is at node {valve.node}, which is not an end of pipe {pipe.id}"
        else:
            gap = shapely.distance(shapely.Point(valve.x, valve.y), shapely.LineString(pipe.coords))
            if gap <= tolerance:
                continue
            message = f"valve {valve.id} lies {gap:.2f} m off its pipe {pipe.id}"
        found.append(
            Defect(DefectKind.VALVE_NOT_ON_PIPE, valve.x, valve.y, message, valves=(valve.id,), pipes=(valve.pipe,))
        )
    return found


def _components(nodes: list[TopoNode], pipes: list[TopoPipe], valves: list[TopoValve]) -> list[Defect]:
    """Isolated components (pipes only) and unsupplied parts (normally-closed valves cut the pipe end)."""
    if not pipes:
        return []
    index = {node.id: i for i, node in enumerate(nodes)}
    n_nodes, n_pipes = len(nodes), len(pipes)
    starts = np.array([index[pipe.start] for pipe in pipes])
    ends = np.array([index[pipe.end] for pipe in pipes])
    pipe_vertex = n_nodes + np.arange(n_pipes)
    pipe_index = {pipe.id: i for i, pipe in enumerate(pipes)}
    closed = set()
    for valve in valves:
        p = pipe_index.get(valve.pipe)
        if valve.normally_closed and p is not None and valve.node in (pipes[p].start, pipes[p].end):
            closed.add((p, 0 if valve.node == pipes[p].start else 1))

    def labels(cut: set) -> np.ndarray:
        keep_start = np.array([(p, 0) not in cut for p in range(n_pipes)])
        keep_end = np.array([(p, 1) not in cut for p in range(n_pipes)])
        rows = np.concatenate((pipe_vertex[keep_start], pipe_vertex[keep_end]))
        cols = np.concatenate((starts[keep_start], ends[keep_end]))
        size = n_nodes + n_pipes
        graph = sparse.coo_matrix((np.ones(rows.size), (rows, cols)), shape=(size, size))
        return csgraph.connected_components(graph, directed=False)[1]

    found = []
    physical = labels(set())
    pipe_labels = physical[n_nodes:]
    sizes = np.bincount(pipe_labels)
    main = int(np.argmax(sizes))
    for component in np.unique(pipe_labels):
        if component != main:
            found.append(
                _group_defect(
                    DefectKind.ISOLATED_COMPONENT, pipes, pipe_labels == component, "are cut off from the main network"
                )
            )

    sources = [index[node.id] for node in nodes if node.kind == "source"]
    if not sources:
        x, y = pipes[0].coords[0]
        return [*found, Defect(DefectKind.NO_SOURCE, x, y, "the network has no source node")]
    supply = labels(closed)
    fed = np.isin(supply[n_nodes:], supply[sources])
    for component in np.unique(supply[n_nodes:][~fed]):
        found.append(
            _group_defect(DefectKind.NO_SOURCE, pipes, (supply[n_nodes:] == component), "have no path to a source")
        )
    return found


def _group_defect(kind: DefectKind, pipes: list[TopoPipe], mask: np.ndarray, what: str) -> Defect:
    members = [pipes[i] for i in np.flatnonzero(mask)]
    x, y = members[0].coords[len(members[0].coords) // 2]
    ids = tuple(pipe.id for pipe in members)
    shown = ", ".join(str(i) for i in ids[:5]) + (", …" if len(ids) > 5 else "")
    return Defect(kind, x, y, f"{len(ids)} pipe(s) ({shown}) {what}", pipes=ids)


# ------------------------------------------------------------------------------------ building from geometry


@dataclass
class BuiltNetwork:
    """A network built from bare geometry: everything indexed by position, coordinates in metres."""

    node_xy: list[tuple[float, float]]
    node_kind: list[str]
    node_attrs: list[dict]
    pipes: list[tuple[int, int, list, dict]]  # (start node, end node, coordinates, attributes of the source line)
    valves: list[tuple[int, int, float, float, dict]]  # (pipe, node, x, y, attributes of the source point)
    report: TopologyReport
    split_count: int = 0


class _UnionFind:
    def __init__(self, size: int):
        self.parent = list(range(size))

    def find(self, item: int) -> int:
        while self.parent[item] != item:
            self.parent[item] = self.parent[self.parent[item]]
            item = self.parent[item]
        return item

    def union(self, a: int, b: int) -> None:
        a, b = self.find(a), self.find(b)
        if a != b:
            self.parent[max(a, b)] = min(a, b)


def build_from_lines(
    lines: Sequence[tuple[shapely.LineString, dict]],
    valves: Sequence[tuple[shapely.Point, dict]] = (),
    sources: Sequence[tuple[shapely.Point, dict]] = (),
    *,
    tolerance: float = 0.5,
    near_miss_factor: float = 4.0,
) -> BuiltNetwork:
    """Nodes and pipes from lines as drawn in a GIS: snap, split, place valves, then check the result.

    - Line ends closer than `tolerance` are one node (snapped).
    - A line is split where another line's end, a valve or a source lies on its body (a tee drawn as a
      line ending on a main; a valve drawn in the middle of a pipe).
    - A valve sits at the node nearest to it, on the incident pipe nearest to it; a source is a node.
    - The result is checked by `check_topology` with the near-miss distance `near_miss_factor` times the
      snap tolerance, so ends that almost meet but were not snapped are reported, not silently joined.
    """
    geometries = [line for line, _ in lines]
    tree = shapely.STRtree(geometries)
    cuts: list[set[float]] = [set() for _ in geometries]

    def cut_at(points: Sequence[shapely.Point]) -> None:
        if not points:
            return
        hit_point, hit_line = tree.query(np.array(points, dtype=object), predicate="dwithin", distance=tolerance)
        for p, k in zip(hit_point.tolist(), hit_line.tolist(), strict=True):
            line = geometries[k]
            at = line.project(points[p])
            if tolerance < at < line.length - tolerance:
                cuts[k].add(round(at, 6))

    ends = [shapely.Point(coords) for line in geometries for coords in (line.coords[0], line.coords[-1])]
    cut_at(ends)
    cut_at([point for point, _ in valves])
    cut_at([point for point, _ in sources])

    pieces: list[tuple[list, dict]] = []
    split_count = 0
    for line, (_, attrs), at in zip(geometries, lines, cuts, strict=True):
        bounds = [0.0, *sorted(at), line.length]
        split_count += len(at)
        for start, end in pairwise(bounds):
            piece = shapely.ops.substring(line, start, end) if at else line
            pieces.append((list(piece.coords), attrs))

    end_points = np.array([coords[i] for coords, _ in pieces for i in (0, -1)], dtype=float).reshape(-1, 2)
    groups = _UnionFind(len(end_points))
    point_geoms = shapely.points(end_points)
    left, right = shapely.STRtree(point_geoms).query(point_geoms, predicate="dwithin", distance=tolerance)
    for a, b in zip(left.tolist(), right.tolist(), strict=True):
        groups.union(a, b)
    node_of_root: dict[int, int] = {}
    node_xy: list[tuple[float, float]] = []
    end_node = []
    for i in range(len(end_points)):
        root = groups.find(i)
        if root not in node_of_root:
            node_of_root[root] = len(node_xy)
            node_xy.append((float(end_points[root][0]), float(end_points[root][1])))
        end_node.append(node_of_root[root])

    pipes = []
    for k, (coords, attrs) in enumerate(pieces):
        start, end = end_node[2 * k], end_node[2 * k + 1]
        coords = [node_xy[start], *coords[1:-1], node_xy[end]]
        if start == end and shapely.LineString(coords).length <= tolerance:
            continue  # a sliver left between two cuts closer than the tolerance
        pipes.append((start, end, coords, attrs))

    node_kind = ["junction"] * len(node_xy)
    node_attrs: list[dict] = [{} for _ in node_xy]
    node_tree = shapely.STRtree(shapely.points(np.array(node_xy, dtype=float).reshape(-1, 2)))
    extra_defects: list[Defect] = []
    for point, attrs in sources:
        node = _nearest_within(node_tree, point, tolerance)
        if node is None:
            extra_defects.append(
                Defect(DefectKind.NO_SOURCE, point.x, point.y, f"source {attrs.get('code') or ''} is not on any pipe")
            )
            continue
        node_kind[node] = "source"
        node_attrs[node] = attrs

    incident: dict[int, list[int]] = defaultdict(list)
    for p, (start, end, _, _) in enumerate(pipes):
        incident[start].append(p)
        incident[end].append(p)
    pipe_lines = [shapely.LineString(coords) for _, _, coords, _ in pipes]
    placed = []
    for point, attrs in valves:
        node = _nearest_within(node_tree, point, tolerance)
        if node is None or not incident[node]:
            code = attrs.get("code") or ""
            extra_defects.append(
                Defect(DefectKind.VALVE_NOT_ON_PIPE, point.x, point.y, f"valve {code} is not on any pipe")
            )
            continue
        pipe = min(incident[node], key=lambda p: (shapely.distance(point, pipe_lines[p]), p))
        if node_kind[node] == "junction" and len(incident[node]) == 2:
            node_kind[node] = "valve"
        placed.append((pipe, node, point.x, point.y, attrs))

    report = check_topology(
        [TopoNode(i, x, y, kind) for i, ((x, y), kind) in enumerate(zip(node_xy, node_kind, strict=True))],
        [TopoPipe(p, start, end, coords) for p, (start, end, coords, _) in enumerate(pipes)],
        [TopoValve(v, pipe, node, x, y) for v, (pipe, node, x, y, _) in enumerate(placed)],
        tolerance=tolerance * near_miss_factor,
    )
    if extra_defects:
        defects = extra_defects + report.defects
        counts = Counter(defect.kind.value for defect in defects)
        report = TopologyReport(defects, {kind.value: counts.get(kind.value, 0) for kind in DefectKind})
    return BuiltNetwork(node_xy, node_kind, node_attrs, pipes, placed, report, split_count)


def _nearest_within(tree: shapely.STRtree, point: shapely.Point, tolerance: float) -> int | None:
    found = tree.query_nearest(point, max_distance=tolerance, all_matches=False)
    return int(found[0]) if len(found) else None
