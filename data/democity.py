"""A deterministic synthetic city near Shenzhen, so demos, tests and benchmarks need no real data.

The city is a jittered, rotated and gently warped street lattice built in EPSG:4547 metres:
arterials bound ~1 km blocks, a secondary road halves each block both ways and branch roads
run every 200-260 m.  Districts, streets (街道) and communities (社区) are unions of lattice
cells, so every boundary follows a road and the hierarchy nests exactly.  All geometries are
transformed to WGS84 lon/lat (EPSG:4326) at the end; shared vertices stay bit-identical.
"""

from collections import deque
from dataclasses import dataclass

import numpy as np
import pyproj
import shapely
from shapely import LineString, MultiPolygon, Point

SCALES = ("small", "city", "metro")
ROAD_CLASSES = ("expressway", "arterial", "secondary", "branch")
SPEED_KMH = {"expressway": 80.0, "arterial": 60.0, "secondary": 40.0, "branch": 30.0}
STATION_AGENCIES = {"police_station": "110", "fire_station": "119", "hospital": "120", "traffic_post": "122"}
CENTRE_LONLAT = (114.05, 22.54)
METRIC_CRS = "EPSG:4547"  # CGCS2000 3-degree Gauss-Krüger, central meridian 114°E

# Indices into ROAD_CLASSES; a lower number is a more important line.
_EXPRESSWAY, _ARTERIAL, _SECONDARY, _BRANCH = range(4)


@dataclass(frozen=True)
class _Scale:
    blocks: tuple[int, int]  # arterial blocks along x and y
    districts: int
    expressways: tuple[int, int]  # arterial lines along x and y upgraded to expressways
    corner_cut: int  # largest staircase (in blocks) cut off each corner of the rectangle


_SCALE_SPECS = {
    "small": _Scale((3, 2), 2, (1, 0), 0),
    "city": _Scale((7, 7), 5, (1, 1), 2),
    "metro": _Scale((22, 21), 10, (2, 2), 4),
}
# Real Shenzhen districts, the most central first; the last three are invented for the metro scale.
_DISTRICTS = (
    ("440304", "福田区"), ("440303", "罗湖区"), ("440305", "南山区"), ("440306", "宝安区"),
    ("440307", "龙岗区"), ("440309", "龙华区"), ("440308", "盐田区"), ("440310", "坪山区"),
    ("440311", "光明区"), ("440312", "前海区"), ("440313", "大鹏区"), ("440314", "深汕区"),
)  # fmt: skip
# Characters of real Shenzhen place names; random pairs read like plausible local names.
_NAME_CHARS = "".join(dict.fromkeys(
    "福华莲花景田香蜜湖梅林沙头园岭南东门翠竹笋岗清水河黄贝桂粤海蛇口招商西丽桃源新安乡航城永井松"
    "石岩布吉坂湾横龙坪地山宝观澜大浪民治碧马峦坑梓公明光玉塘凤凰葵涌鹏澳盐金秀锦绣侨科技红树彩虹"
    "益皇洲厦上车前后赤荔枝泰振兴强联康乐和顺丰盛隆昌荣裕瑞祥嘉宏广通高星月云霞春秋青平泉溪峰岚"
))  # fmt: skip
_ORDINALS = "一二三四五六"
_HOSPITALS = ("人民医院", "中医院", "妇幼保健院", "第二人民医院")
# How the 2x2 half-blocks of one block (indexed [dx][dy]) group into communities.
_COMMUNITY_PATTERNS = (((0, 1), (2, 3)), ((0, 0), (1, 1)), ((0, 1), (0, 1)), ((0, 0), (1, 2)), ((0, 1), (2, 2)))
_BRANCH_GAP_M = (200.0, 260.0)
_JITTER_M = 25.0
_BLOCKS_PER_STREET = 2
_P_DROP = 0.12  # chance that a branch segment in a "local" half-block is missing
_P_ONEWAY = 0.45  # chance that a branch road's run through a "local" half-block is one-way
_ADDRESS_GAP_M = (50.0, 80.0)
_ADDRESS_CLEARANCE_M = 20.0  # no house numbers right at a crossing
_ADDRESS_OFFSET_M = (0.0, 12.0, 9.0, 6.0)  # by road class; expressways have no addresses


@dataclass(frozen=True)
class Area:
    code: str
    name: str
    level: str
    parent_code: str | None
    geometry: MultiPolygon


@dataclass(frozen=True)
class Road:
    road_id: int
    name: str
    road_class: str
    speed_kmh: float
    oneway: bool
    lanes: int
    geometry: LineString


@dataclass(frozen=True)
class Address:
    address_id: int
    road_name: str
    number: int
    label: str
    district_code: str
    point: Point


@dataclass(frozen=True)
class Station:
    station_id: int
    kind: str
    agency: str
    name: str
    address: str
    district_code: str
    point: Point


@dataclass(frozen=True)
class DemoCity:
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


