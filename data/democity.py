"""A deterministic synthetic city near Shenzhen, so demos, tests and benchmarks need no real data.

The city is a jittered, rotated and gently warped street lattice built in EPSG:4547 metres:
arterials bound ~1 km blocks, a secondary road halves each block both ways and branch roads
run every 200-260 m.  Districts, streets (街道) and communities (社区) are unions of lattice
cells, so every boundary follows a road and the hierarchy nests exactly.  All geometries are
transformed to WGS84 lon/lat (EPSG:4326) at the end; shared vertices stay bit-identical.
"""

from collections import deque
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import pyproj
import shapely
from shapely import LineString, MultiPolygon, Point

from gis.road_classes import SPEED_KMH

SCALES = ("small", "city", "metro")
ROAD_CLASSES = ("expressway", "arterial", "secondary", "branch")
STATION_AGENCIES = {"police_station": "110", "fire_station": "119", "hospital": "120", "traffic_post": "122"}
CENTRE_LONLAT = (114.05, 22.54)
METRIC_CRS = "EPSG:4547"  # CGCS2000 3-degree Gauss-Krüger, central meridian 114°E

# Indices into ROAD_CLASSES; a lower number is a more important line.
_EXPRESSWAY, _ARTERIAL, _SECONDARY, _BRANCH = range(4)


@dataclass(frozen=True)
class _Scale:
    """Size knobs of one scale."""

    blocks: tuple[int, int]  # arterial blocks along x and y
    districts: int
    expressways: tuple[int, int]  # arterial lines along x and y upgraded to expressways
    corner_cut: int  # largest staircase (in blocks) cut off each corner of the rectangle


_SCALE_SPECS = {
    "small": _Scale((3, 2), 2, (1, 0), 0),
    "city": _Scale((8, 7), 5, (1, 1), 2),
    "metro": _Scale((23, 22), 10, (2, 2), 4),
}
# Real Shenzhen districts, the most central first; the last three are invented for the metro scale.
_DISTRICTS = {
    "440304": "福田区", "440303": "罗湖区", "440305": "南山区", "440306": "宝安区", "440307": "龙岗区",
    "440309": "龙华区", "440308": "盐田区", "440310": "坪山区", "440311": "光明区",
    "440312": "前海区", "440313": "大鹏区", "440314": "深汕区",
}  # fmt: skip
# Characters of real Shenzhen place names; random pairs read like plausible local names.
_NAME_CHARS = "".join(
    dict.fromkeys(
        "福华莲花景田香蜜湖梅林沙头园岭南东门翠竹笋岗清水河黄贝桂粤海蛇口招商西丽桃源新安乡航城永井松"
        "石岩布吉坂湾横龙坪地山宝观澜大浪民治碧马峦坑梓公明光玉塘凤凰葵涌鹏澳盐金秀锦绣侨科技红树彩虹"
        "益皇洲厦上车前后赤荔枝泰振兴强联康乐和顺丰盛隆昌荣裕瑞祥嘉宏广通高星月云霞春秋青平泉溪峰岚"
    )
)
_ORDINALS = "一二三四五六"
_SUFFIXES = (("大道", "快速路"), ("大道", "路", "路"), ("路",))  # by road class; branch roads are numbered
_LANES = ((6, 8), (4, 6), (4,), (2,))  # choices by road class
_HOSPITALS = ("人民医院", "中医院", "妇幼保健院", "第二人民医院")
# How the 2x2 half-blocks of one block (indexed [dx][dy]) group into communities.
_COMMUNITY_PATTERNS = (
    ((0, 1), (2, 3)),
    ((0, 0), (1, 1)),
    ((0, 1), (0, 1)),
    ((0, 0), (1, 2)),
    ((0, 1), (2, 2)),
)
_BRANCH_GAP_M = (200.0, 260.0)
_JITTER_M = 25.0
_BLOCKS_PER_STREET = 2
_P_DROP = 0.12  # chance that a branch segment in a "local" half-block is missing
_P_ONEWAY = 0.3  # chance that a branch road's run through a "local" half-block is one-way
_ADDRESS_GAP_M = (40.0, 65.0)  # spacing along the line; gaps and crossings thin it to ~50-80 m
_ADDRESS_CLEARANCE_M = 15.0  # no house numbers right at a line node (mostly crossings)
_ADDRESS_OFFSET_M = (0.0, 12.0, 9.0, 6.0)  # by road class; expressways have no addresses
_STATION_SPACING_M = 300.0  # stations of different services keep apart


@dataclass(frozen=True)
class Area:
    """An administrative area; children tile their parent exactly, along roads."""

    code: str
    name: str
    level: str
    parent_code: str | None
    geometry: MultiPolygon


@dataclass(frozen=True)
class Road:
    """A road segment between two intersections, digitised in the direction of travel if one-way.

    Segments share end coordinates bit-for-bit, so a routing graph can join them by endpoint.
    """

    road_id: int
    name: str
    road_class: str
    speed_kmh: float
    oneway: bool
    lanes: int
    geometry: LineString


@dataclass(frozen=True)
class Address:
    """A house number beside its road: odd numbers on one side, even on the other."""

    address_id: int
    road_name: str
    number: int
    label: str
    district_code: str
    point: Point


@dataclass(frozen=True)
class Station:
    """An emergency-service base placed at one of the addresses (so it is reachable by road)."""

    station_id: int
    kind: str
    agency: str
    name: str
    address: str
    district_code: str
    point: Point


@dataclass(frozen=True)
class DemoCity:
    """Everything generate() builds, in EPSG:4326 lon/lat; areas[0] is the whole city."""

    scale: str
    seed: int
    areas: list[Area]
    roads: list[Road]
    addresses: list[Address]
    stations: list[Station]


@dataclass(frozen=True)
class _Street:
    """One named street along a lattice line, in metres, before it is cut into Roads."""

    name: str
    kind: int
    lanes: int
    ids: np.ndarray  # node ids along the line
    xy: np.ndarray  # their coordinates
    present: np.ndarray  # per edge: does the segment exist
    oneway: np.ndarray  # per edge: one-way (in `forward` direction, else against the node order)
    forward: bool


class _Names:
    """Unique two-character words, so no two streets, areas or road families share a name."""

    def __init__(self, rng: np.random.Generator):
        self._rng = rng
        self._used: set[str] = set()

    def word(self) -> str:
        while True:
            a, b = self._rng.choice(len(_NAME_CHARS), 2, replace=False)
            word = _NAME_CHARS[a] + _NAME_CHARS[b]
            if word not in self._used:
                self._used.add(word)
                return word


@dataclass(frozen=True)
class _Partition:
    """The administrative hierarchy before geometry: codes, names and parents by list index."""

    districts: list[tuple[str, str]]  # (code, name)
    streets: list[tuple[str, str, int]]  # (code, word, district index)
    communities: list[tuple[str, str, int]]  # (code, word, street index)
    community_of_half: np.ndarray  # community index per half-block, -1 outside the city
    district_of_street: np.ndarray
    street_of_community: np.ndarray


def generate(scale: str = "city", seed: int = 20261123) -> DemoCity:
    """Build the demo city at one of SCALES; the same scale and seed always give identical output.

    small (~7 km², 2 districts) is for tests, city (~50 km², 5 districts) for the demo and
    metro (~500 km², 10 districts) for benchmarks.
    """
    if scale not in _SCALE_SPECS:
        raise ValueError(f"unknown scale {scale!r}; expected one of {SCALES}")
    spec = _SCALE_SPECS[scale]
    rng = np.random.default_rng(seed)
    names = _Names(rng)
    x_pos, x_kind = _axis(rng, spec.blocks[0], spec.expressways[0])
    y_pos, y_kind = _axis(rng, spec.blocks[1], spec.expressways[1])
    kinds = (x_kind, y_kind)
    halves = (_intervals(x_kind, _SECONDARY), _intervals(y_kind, _SECONDARY))
    nodes = _place_nodes(rng, x_pos, y_pos, kinds)
    part = _partition(rng, names, _cut_corners(rng, spec.blocks, spec.corner_cut), spec.districts)
    cell_community = part.community_of_half[halves[0][:, None], halves[1][None, :]]
    city, district_geoms, street_geoms, community_geoms = _area_geometries(nodes, cell_community, part)

    streets = _streets(rng, names, nodes, kinds, halves, cell_community >= 0)
    roads = _roads(streets, nodes.shape[0] * nodes.shape[1])
    addr_street, addr_number, addr_xy = _addresses(rng, streets)
    # Keep addresses inside the city (the outer side of a boundary road is outside) and find their areas.
    kept, addr_community = shapely.STRtree(community_geoms).query(shapely.points(addr_xy), predicate="within")
    order = np.argsort(kept, kind="stable")
    kept, addr_community = kept[order], addr_community[order]
    addr_street, addr_number, addr_xy = addr_street[kept], addr_number[kept], addr_xy[kept]
    addr_district = part.district_of_street[part.street_of_community[addr_community]]
    picks = _stations(rng, addr_xy, addr_community, part, street_geoms, district_geoms)

    metric = [city, *district_geoms, *street_geoms, *community_geoms]
    metric += [LineString(xy) for _, _, xy in roads] + list(shapely.points(addr_xy))
    lonlat = iter(_to_lonlat(metric))
    areas = [Area("440300", "深圳市", "city", None, next(lonlat))]
    areas += [Area(code, name, "district", "440300", next(lonlat)) for code, name in part.districts]
    for code, word, d in part.streets:
        areas.append(Area(code, word + "街道", "street", part.districts[d][0], next(lonlat)))
    for code, word, s in part.communities:
        areas.append(Area(code, word + "社区", "community", part.streets[s][0], next(lonlat)))
    road_list = []
    for i, (s, oneway, _) in enumerate(roads, start=1):
        street, road_class = streets[s], ROAD_CLASSES[streets[s].kind]
        road_list.append(
            Road(i, street.name, road_class, SPEED_KMH[road_class], oneway, street.lanes, next(lonlat))
        )
    addresses = []
    for i, (s, number, d) in enumerate(zip(addr_street, addr_number, addr_district, strict=True), start=1):
        code, district = part.districts[d]
        label = f"深圳市{district}{streets[s].name}{number}号"
        addresses.append(Address(i, streets[s].name, int(number), label, code, next(lonlat)))
    stations = []
    for i, (kind, name, a) in enumerate(picks, start=1):
        at = addresses[a]
        stations.append(Station(i, kind, STATION_AGENCIES[kind], name, at.label, at.district_code, at.point))
    return DemoCity(scale, seed, areas, road_list, addresses, stations)


def _to_lonlat(geometries: list[shapely.Geometry]) -> np.ndarray:
    """Reproject metric geometries in one vectorised call; equal input vertices give equal output."""
    transformer = pyproj.Transformer.from_crs(METRIC_CRS, "EPSG:4326", always_xy=True)
    return shapely.transform(
        np.array(geometries, dtype=object),
        lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1])),
    )


def _axis(rng: np.random.Generator, n_blocks: int, n_expressways: int) -> tuple[np.ndarray, np.ndarray]:
    """Line offsets (m, centred on 0) and classes along one axis.

    Each block has 4-5 branch gaps with a secondary line in the middle, so arterials end up
    ~0.8-1.3 km apart; some interior arterial lines become expressways.
    """
    gaps, kind = [], [_ARTERIAL]
    for _ in range(n_blocks):
        n_gaps = int(rng.integers(4, 6))
        gaps.extend(rng.uniform(*_BRANCH_GAP_M, n_gaps))
        kind += [_SECONDARY if m == n_gaps // 2 else _BRANCH for m in range(1, n_gaps)] + [_ARTERIAL]
    kind = np.array(kind)
    kind[rng.choice(np.flatnonzero(kind == _ARTERIAL)[1:-1], n_expressways, replace=False)] = _EXPRESSWAY
    pos = np.concatenate([[0.0], np.cumsum(gaps)])
    return pos - pos[-1] / 2, kind


def _intervals(kind: np.ndarray, level: int) -> np.ndarray:
    """Block (level=_ARTERIAL) or half-block (level=_SECONDARY) index of each gap between lines."""
    return np.cumsum(kind[:-1] <= level) - 1


def _place_nodes(rng: np.random.Generator, x_pos, y_pos, kinds) -> np.ndarray:
    """Lattice node coordinates, shape (nx, ny, 2), in EPSG:4547 around CENTRE_LONLAT.

    Branch crossings are jittered but a node on a major line only moves along it; then the
    lattice is rotated and smoothly warped (gradient <= 0.24, so no cell folds over).
    """
    x, y = np.meshgrid(x_pos, y_pos, indexing="ij")
    x = x + rng.uniform(-_JITTER_M, _JITTER_M, x.shape) * (kinds[0] == _BRANCH)[:, None]
    y = y + rng.uniform(-_JITTER_M, _JITTER_M, y.shape) * (kinds[1] == _BRANCH)[None, :]
    turn = rng.uniform(-0.2, 0.2)
    x, y = x * np.cos(turn) - y * np.sin(turn), x * np.sin(turn) + y * np.cos(turn)
    extent = max(np.ptp(x_pos), np.ptp(y_pos), 4000.0)
    shifts = []
    for _ in range(2):  # one displacement field per axis, each the sum of two gentle waves
        shift = np.zeros_like(x)
        for _ in range(2):
            wavelength = rng.uniform(0.6, 1.2) * extent
            heading, phase = rng.uniform(0, 2 * np.pi, 2)
            amplitude = rng.uniform(0.05, 0.12) * wavelength / (2 * np.pi)
            shift += amplitude * np.sin(
                2 * np.pi * (x * np.cos(heading) + y * np.sin(heading)) / wavelength + phase
            )
        shifts.append(shift)
    origin = pyproj.Transformer.from_crs("EPSG:4326", METRIC_CRS, always_xy=True).transform(*CENTRE_LONLAT)
    return np.stack([x + shifts[0] + origin[0], y + shifts[1] + origin[1]], axis=-1)


def _cut_corners(rng: np.random.Generator, blocks: tuple[int, int], depth: int) -> np.ndarray:
    """Blocks inside the city: the rectangle minus a random staircase at each corner."""
    a, b = np.indices(blocks)
    inside = np.ones(blocks, dtype=bool)
    for from_a in (a, blocks[0] - 1 - a):
        for from_b in (b, blocks[1] - 1 - b):
            inside &= from_a + from_b >= rng.integers(0, depth + 1)
    return inside


def _spread(rng: np.random.Generator, points: np.ndarray, k: int) -> list[int]:
    """Indices of k points spread out by farthest-point sampling from a random start."""
    chosen = [int(rng.integers(len(points)))]
    distance = np.hypot(*(points - points[chosen[0]]).T)
    for _ in range(k - 1):
        chosen.append(int(np.argmax(distance)))
        distance = np.minimum(distance, np.hypot(*(points - points[chosen[-1]]).T))
    return chosen


def _service_points(rng, xy: np.ndarray, candidates: np.ndarray, k: int, taken: list) -> list[int]:
    """Up to k of the candidate addresses that split them into compact service areas.

    Runs a few k-means rounds from a farthest-point start and takes the member of each cluster
    nearest its centre, so stations sit inside their patch rather than on the district edge.
    Points within _STATION_SPACING_M of an already `taken` station are avoided; picks are
    appended to `taken`.
    """
    points = xy[candidates]
    centres = points[_spread(rng, points, k)]
    for _ in range(10):
        cluster = np.argmin(np.hypot(*(points[:, None] - centres).transpose(2, 0, 1)), axis=1)
        centres = np.array(
            [points[cluster == c].mean(axis=0) if any(cluster == c) else centres[c] for c in range(k)]
        )
    picks = []
    for c in range(k):
        members = np.flatnonzero(cluster == c)
        if len(members) == 0:
            continue
        others = np.array(taken).reshape(-1, 2)
        crowding = np.hypot(*(points[members, None] - others).transpose(2, 0, 1)).min(axis=1, initial=np.inf)
        cost = np.hypot(*(points[members] - centres[c]).T) + (crowding < _STATION_SPACING_M) * 1e9
        picks.append(int(candidates[members[np.argmin(cost)]]))
        taken.append(xy[picks[-1]])
    return picks


def _grow(rng: np.random.Generator, mask: np.ndarray, n: int) -> np.ndarray:
    """Split the True cells of a connected grid mask into n contiguous regions of similar size.

    Seeds are spread out, then the regions take turns claiming one neighbouring cell each.
    Returns the region label per cell, -1 outside the mask.
    """
    cells = np.argwhere(mask)
    labels = np.full(mask.shape, -1)
    queues = [deque([tuple(cells[i])]) for i in _spread(rng, cells.astype(float), n)]
    while any(queues):
        for region, queue in enumerate(queues):
            while queue and labels[queue[0]] >= 0:
                queue.popleft()
            if not queue:
                continue
            a, b = cell = queue.popleft()
            labels[cell] = region
            for da, db in rng.permutation([(1, 0), (-1, 0), (0, 1), (0, -1)]):
                near = (a + da, b + db)
                inside = 0 <= near[0] < mask.shape[0] and 0 <= near[1] < mask.shape[1]
                if inside and mask[near] and labels[near] < 0:
                    queue.append(near)
    return labels


def _partition(rng: np.random.Generator, names: _Names, in_city: np.ndarray, n_districts: int) -> _Partition:
    """Group blocks into contiguous districts and streets (街道), and half-blocks into communities."""
    district_of_block = _grow(rng, in_city, n_districts)
    centre = (np.array(in_city.shape) - 1) / 2
    off_centre = [
        np.hypot(*(np.argwhere(district_of_block == d).mean(axis=0) - centre)) for d in range(n_districts)
    ]
    districts, streets, communities = [], [], []
    community_of_half = np.full((2 * in_city.shape[0], 2 * in_city.shape[1]), -1)
    # The most central district gets the first (most central) real district code.
    for d, (code, name) in zip(
        np.argsort(off_centre, kind="stable"), list(_DISTRICTS.items())[:n_districts], strict=True
    ):
        districts.append((code, name))
        in_district = district_of_block == d
        street_of_block = _grow(rng, in_district, max(1, round(in_district.sum() / _BLOCKS_PER_STREET)))
        for s in range(street_of_block.max() + 1):
            street_code = f"{code}{s + 1:03d}"
            streets.append((street_code, names.word(), len(districts) - 1))
            first = len(communities)
            for a, b in np.argwhere(street_of_block == s):
                pattern = np.array(_COMMUNITY_PATTERNS[rng.integers(len(_COMMUNITY_PATTERNS))])
                community_of_half[2 * a : 2 * a + 2, 2 * b : 2 * b + 2] = len(communities) + pattern
                for _ in range(pattern.max() + 1):
                    communities.append(
                        (f"{street_code}{len(communities) - first + 1:03d}", names.word(), len(streets) - 1)
                    )
    return _Partition(
        districts,
        streets,
        communities,
        community_of_half,
        np.array([d for _, _, d in streets]),
        np.array([s for _, _, s in communities]),
    )


def _area_geometries(nodes: np.ndarray, cell_community: np.ndarray, part: _Partition):
    """City, district, street and community polygons (metres) as unions of lattice cells."""
    rings = np.stack(
        [nodes[:-1, :-1], nodes[1:, :-1], nodes[1:, 1:], nodes[:-1, 1:], nodes[:-1, :-1]], axis=2
    )
    cells = shapely.polygons(rings).ravel()
    inside = (cell_community >= 0).ravel()
    community = cell_community.ravel()
    street = np.where(inside, part.street_of_community[community], -1)
    district = np.where(inside, part.district_of_street[street], -1)
    return (
        _unions(cells, inside.astype(int) - 1, 1)[0],
        _unions(cells, district, len(part.districts)),
        _unions(cells, street, len(part.streets)),
        _unions(cells, community, len(part.communities)),
    )


def _unions(cells: np.ndarray, labels: np.ndarray, n: int) -> list[MultiPolygon]:
    """Union the cells of each label 0..n-1; cells share exact vertices, so a coverage union is exact."""
    order = np.argsort(labels, kind="stable")
    bounds = np.searchsorted(labels[order], np.arange(n + 1))
    unions = [shapely.coverage_union_all(cells[order[lo:hi]]) for lo, hi in pairwise(bounds)]
    return [g if isinstance(g, MultiPolygon) else MultiPolygon([g]) for g in unions]


def _streets(rng, names: _Names, nodes: np.ndarray, kinds, halves, cell_in_city: np.ndarray) -> list[_Street]:
    """Named streets along all lattice lines inside the city, vertical lines first."""
    nx, ny = nodes.shape[:2]
    node_ids = np.arange(nx * ny).reshape(nx, ny)
    flat = nodes.reshape(-1, 2)
    # Per half-block, which direction's branch roads may have gaps and one-way runs.
    vertical_local = rng.random((halves[0].max() + 1, halves[1].max() + 1)) < 0.5
    streets = []
    for axis, line_ids, cells, local in (
        (0, node_ids, cell_in_city, vertical_local),
        (1, node_ids.T, cell_in_city.T, ~vertical_local.T),
    ):
        padded = np.pad(cells, ((1, 1), (0, 0)))
        present, oneway = _thin(
            rng, kinds[axis], halves[axis], halves[1 - axis], local, padded[:-1] | padded[1:]
        )
        streets += _line_streets(rng, names, kinds[axis], kinds[1 - axis], line_ids, flat, present, oneway)
    return streets


def _thin(rng, kind, half, half_across, local, on) -> tuple[np.ndarray, np.ndarray]:
    """Present and one-way flags, shape (lines, gaps), for the edges of one family of parallel lines.

    Only branch edges in half-blocks where this direction is 'local' may be dropped or one-way;
    the crossing branch roads there stay complete and two-way, so every node keeps a two-way
    path to the major grid and the whole network stays strongly connected.
    """
    line_half = half[np.minimum(np.arange(len(kind)), len(half) - 1)]
    optional = on & (kind == _BRANCH)[:, None] & local[line_half[:, None], half_across[None, :]]
    oneway = optional & (rng.random((len(kind), local.shape[1])) < _P_ONEWAY)[:, half_across]
    present = on & ~(optional & (rng.random(on.shape) < _P_DROP))
    return present, oneway & present


def _line_streets(rng, names: _Names, kind, kind_across, line_ids, flat, present, oneway) -> list[_Street]:
    """Name the streets on parallel lines: a major line is one street, a branch line one per block.

    Branch roads in one block share a family name and are numbered, like 福华一路, 福华二路.
    """
    block = _intervals(kind, _ARTERIAL)
    cuts = np.flatnonzero(kind_across <= _ARTERIAL)
    families: dict[tuple[int, int], str] = {}
    streets = []
    for i, k in enumerate(kind):
        if k == _BRANCH:
            ordinal = _ORDINALS[np.count_nonzero((kind[:i] == _BRANCH) & (block[:i] == block[i]))]
            spans = []
            for a, (lo, hi) in enumerate(pairwise(cuts)):
                if (block[i], a) not in families:
                    families[block[i], a] = names.word()
                spans.append((families[block[i], a] + ordinal + "路", lo, hi))
        else:
            spans = [(names.word() + _SUFFIXES[k][rng.integers(len(_SUFFIXES[k]))], 0, len(kind_across) - 1)]
        lanes = int(rng.choice(_LANES[k]))
        for name, lo, hi in spans:
            if present[i, lo:hi].any():
                ids, forward = line_ids[i, lo : hi + 1], rng.random() < 0.5
                streets.append(
                    _Street(name, k, lanes, ids, flat[ids], present[i, lo:hi], oneway[i, lo:hi], forward)
                )
    return streets


def _roads(streets: list[_Street], n_nodes: int) -> list[tuple[int, bool, np.ndarray]]:
    """Cut streets into Roads (street index, one-way, coordinates in travel direction).

    A Road ends wherever the street meets another road, has a gap or changes its one-way rule.
    """
    degree = np.zeros(n_nodes, dtype=int)
    for street in streets:
        np.add.at(degree, street.ids[:-1][street.present], 1)
        np.add.at(degree, street.ids[1:][street.present], 1)
    roads = []
    for s, street in enumerate(streets):
        present, oneway, n_edges = street.present, street.oneway, len(street.present)
        start = None
        for k in range(n_edges):
            if not present[k]:
                continue
            start = k if start is None else start
            end = k + 1
            if end == n_edges or not present[end] or degree[street.ids[end]] != 2 or oneway[end] != oneway[k]:
                xy = street.xy[start : end + 1]
                roads.append((s, bool(oneway[k]), xy if street.forward or not oneway[k] else xy[::-1]))
                start = None
    return roads


def _addresses(rng, streets: list[_Street]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """House numbers along non-expressway streets: one every 50-80 m, alternating sides.

    Odd numbers lie left of the street's node order and even ones right; numbers falling in a
    gap or next to a crossing are skipped.  Returns street index, number and metric xy.
    """
    street_idx, numbers, points = [], [], []
    for s, street in enumerate(streets):
        if street.kind == _EXPRESSWAY:
            continue
        seg = np.diff(street.xy, axis=0)
        seg_len = np.hypot(seg[:, 0], seg[:, 1])
        cum = np.concatenate([[0.0], np.cumsum(seg_len)])
        steps = rng.uniform(*_ADDRESS_GAP_M, int(cum[-1] / _ADDRESS_GAP_M[0]) + 1)
        at = rng.uniform(0, _ADDRESS_GAP_M[0]) + np.concatenate([[0.0], np.cumsum(steps)])
        at = at[at < cum[-1]]
        left = (np.arange(len(at)) + rng.integers(2)) % 2 == 0
        number = np.where(left, 2 * np.cumsum(left) - 1, 2 * np.cumsum(~left))
        k = np.minimum(np.searchsorted(cum, at, side="right") - 1, len(seg) - 1)
        along = at - cum[k]
        keep = street.present[k] & (np.minimum(along, seg_len[k] - along) >= _ADDRESS_CLEARANCE_M)
        unit = seg[k] / seg_len[k, None]
        normal = np.column_stack([-unit[:, 1], unit[:, 0]]) * np.where(left, 1.0, -1.0)[:, None]
        xy = street.xy[k] + unit * along[:, None] + normal * _ADDRESS_OFFSET_M[street.kind]
        street_idx.append(np.full(np.count_nonzero(keep), s))
        numbers.append(number[keep])
        points.append(xy[keep])
    return np.concatenate(street_idx), np.concatenate(numbers), np.concatenate(points)


def _stations(
    rng, xy, addr_community, part: _Partition, street_geoms, district_geoms
) -> list[tuple[str, str, int]]:
    """(kind, name, address index) of every station.

    One police station per street (街道) near its middle; per district, fire stations (~one per
    7 km²), 2-4 hospitals with an ambulance post and 1-2 traffic police posts, each set spread out.
    """
    addr_street = part.street_of_community[addr_community]
    addr_district = part.district_of_street[addr_street]
    picks, taken = [], []
    for s, (_, word, d) in enumerate(part.streets):
        candidates = np.flatnonzero(addr_street == s)
        middle = street_geoms[s].point_on_surface()
        best = candidates[np.argmin(np.hypot(*(xy[candidates] - (middle.x, middle.y)).T))]
        picks.append(("police_station", f"{part.districts[d][1]}{word}派出所", best))
        taken.append(xy[best])
    for d, (_, district) in enumerate(part.districts):
        candidates = np.flatnonzero(addr_district == d)
        km2 = district_geoms[d].area / 1e6
        for n, a in enumerate(_service_points(rng, xy, candidates, max(1, round(km2 / 7)), taken)):
            place = "特勤" if n == 0 else part.communities[addr_community[a]][1]
            picks.append(("fire_station", f"{district}{place}消防站", a))
        n_hospitals = int(np.clip(round(km2 / 4), 2, len(_HOSPITALS)))
        for hospital, a in zip(
            _HOSPITALS, _service_points(rng, xy, candidates, n_hospitals, taken), strict=False
        ):
            picks.append(("hospital", f"{district}{hospital}急救站", a))
        for n, a in enumerate(_service_points(rng, xy, candidates, 1 if km2 < 8 else 2, taken)):
            squad = "" if n == 0 else part.streets[addr_street[a]][1] + "中队"
            picks.append(("traffic_post", f"{district[:-1]}交警大队{squad}", a))
    return picks
