"""Roads from an OpenStreetMap PBF extract (pyrosm), cut at intersections, with our road classes — no Django.

pyrosm splits every way at each of its nodes; consecutive pieces of one way are joined again up to the
next node that is an intersection (or a dead end), so a segment runs between two intersections as the
demo city's roads do, and segments meet at bit-identical end points (what a routing graph joins on).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyrosm
import shapely
from shapely import LineString

from .road_classes import SPEED_KMH

CLASS_OF_HIGHWAY = {
    "motorway": "expressway",
    "motorway_link": "expressway",
    "trunk": "expressway",
    "trunk_link": "expressway",
    "primary": "arterial",
    "primary_link": "arterial",
    "secondary": "secondary",
    "secondary_link": "secondary",
    "tertiary": "secondary",
    "tertiary_link": "secondary",
}
"""OSM highway=* → road class; every other drivable highway (residential, unclassified, …) is a branch road."""
DEFAULT_LANES = {"expressway": 4, "arterial": 4, "secondary": 2, "branch": 2}
IMPLIED_ONEWAY = {"motorway", "motorway_link", "trunk_link", "primary_link"}
NAME_LENGTH = 64


@dataclass(frozen=True)
class OsmRoad:
    way_id: int
    name: str
    road_class: str
    speed_kmh: float
    oneway: bool
    lanes: int
    geometry: LineString  # WGS84, digitised in the travel direction when one-way


def _text(value) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value).strip()


def speed_kmh(maxspeed: str, road_class: str) -> float:
    """A posted maxspeed ('60', '50 mph', '60;80' → first) in km/h, else the class's usual speed."""
    match = re.match(r"^\s*(\d+(?:\.\d+)?)\s*(mph)?", maxspeed or "")
    if not match:
        return SPEED_KMH[road_class]
    value = float(match.group(1)) * (1.609344 if match.group(2) else 1.0)
    return value if 5 <= value <= 150 else SPEED_KMH[road_class]


def lanes_of(text: str, road_class: str) -> int:
    match = re.match(r"^\s*(\d+)", text or "")
    lanes = int(match.group(1)) if match else DEFAULT_LANES[road_class]
    return min(max(lanes, 1), 12)


def oneway_of(value: str, highway: str) -> tuple[bool, bool]:
    """(one-way?, reversed?) from OSM's oneway tag; `-1` means one-way against the way's direction."""
    value = value.lower()
    if value in ("-1", "reverse"):
        return True, True
    if value in ("yes", "true", "1"):
        return True, False
    if value in ("no", "false", "0"):
        return False, False
    return highway in IMPLIED_ONEWAY, False


def read_roads(path: Path, bounding_box: list[float] | None = None) -> list[OsmRoad]:
    """The drivable roads of a PBF file as segments between intersections."""
    osm = pyrosm.OSM(str(path), bounding_box=bounding_box)
    network = osm.get_network(network_type="driving", nodes=True)
    if network is None or network[1] is None or len(network[1]) == 0:
        return []
    edges: pd.DataFrame = network[1]
    edges = edges[edges.geometry.geom_type == "LineString"]
    degree = Counter(edges["u"].tolist()) + Counter(edges["v"].tolist())
    roads: list[OsmRoad] = []
    for way_id, pieces in edges.groupby("id", sort=True):
        first = pieces.iloc[0]
        highway = _text(first["highway"])
        road_class = CLASS_OF_HIGHWAY.get(highway, "branch")
        name = (_text(first["name"]) or _text(first.get("ref")))[:NAME_LENGTH]
        oneway, backwards = oneway_of(_text(first.get("oneway")), highway)
        speed = speed_kmh(_text(first.get("maxspeed")), road_class)
        lanes = lanes_of(_text(first.get("lanes")), road_class)
        for coords in _runs(pieces, degree):
            line = LineString(coords[::-1] if backwards else coords)
            if line.length > 0:
                roads.append(OsmRoad(int(way_id), name, road_class, speed, oneway, lanes, line))
    return roads


def _runs(pieces: pd.DataFrame, degree: Counter) -> list[list[tuple[float, float]]]:
    """Join a way's consecutive pieces, cutting at intersections (degree ≠ 2) and where the chain breaks."""
    runs: list[list[tuple[float, float]]] = []
    current: list[tuple[float, float]] = []
    last_v = None
    for u, v, geometry in zip(pieces["u"], pieces["v"], pieces.geometry, strict=True):
        coords = [tuple(c) for c in shapely.get_coordinates(geometry)]
        if current and u != last_v:
            runs.append(current)
            current = []
        current = current + (coords[1:] if current else coords)
        last_v = v
        if degree[v] != 2:
            runs.append(current)
            current = []
    if len(current) > 1:
        runs.append(current)
    return [run for run in runs if len(run) > 1]
