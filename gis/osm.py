"""Roads for emergency routing from an OpenStreetMap PBF extract (osmium), cut at intersections — no Django.

A way is cut at every node another drivable way shares (or that it passes twice), so a segment runs between
two intersections as the demo city's roads do and segments meet at bit-identical end points (what a
routing graph joins on). Nodes missing from the extract, or outside the bounding box, split a way into its
located parts (a clipped way is a multilinestring): each part becomes segments of its own.

Tags are read as the OSM wiki documents them: ``maxspeed`` in every form (numbers, units, ``none``,
``walk``, ``XX:zone`` implicit limits, ``:forward``/``:backward``), ``junction=roundabout`` implies one-way,
``*_link`` roads follow their own ``oneway``, service roads are kept, and roads closed to general traffic
but open to emergency vehicles (bus-only, ``access=no`` + ``emergency=yes``, private) are kept and marked.
Untagged speeds come from the country's legal defaults (``road_classes.zone_limit``).
Turn restrictions (relations ``type=restriction``, ``no_*``/``only_*`` via a node) are returned between
segments.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import osmium
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from shapely import LineString

from .road_classes import country_speed_limits, zone_limit

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
"""OSM highway=* → road class; every other drivable highway (residential, service, …) is a branch road."""
MOTOR_HIGHWAYS = {
    *CLASS_OF_HIGHWAY,
    "unclassified",
    "residential",
    "living_street",
    "service",
    "road",
}
EMERGENCY_HIGHWAYS = {"busway", "pedestrian", "track"}
"""Kept only when emergency vehicles may use them: busway by definition, the others if tagged emergency=yes."""
DEFAULT_LANES = {"expressway": 4, "arterial": 4, "secondary": 2, "branch": 2}
OPEN = {"yes", "designated", "permissive", "official"}
CLOSED_TO_TRAFFIC = {"no", "private", "agricultural", "forestry", "permit", "military"}
MOTOR_ACCESS_KEYS = ("motorcar", "motor_vehicle", "vehicle", "access")  # most specific first
ZONES_OF_HIGHWAY = {
    "motorway": ("motorway", "default"),
    "motorway_link": ("motorway", "default"),
    "living_street": ("living_street", "urban_no_centerline", "urban", "default"),
}
MINOR_ZONES = ("urban_no_centerline", "urban", "default")  # minor streets: usually no centre line
MINOR_HIGHWAYS = {"residential", "unclassified", "service", "road", "track", "pedestrian", "busway"}
URBAN_ZONES = ("urban", "default")
"""Zones whose default limit an untagged road gets, first known one wins: a city import is urban."""
WALK_KMH = 6.0  # maxspeed=walk: walking pace
KNOT_KMH = 1.852
MPH_KMH = 1.609344
NAME_LENGTH = 64
PROGRESS_EVERY = 1000  # ways between two progress calls


class OsmFileError(ValueError):
    """The file is not a readable OSM PBF extract; the message is one line for the user."""


@dataclass(frozen=True)
class OsmRoad:
    way_id: int
    name: str
    road_class: str
    highway: str
    speed_kmh: float
    speed_backward_kmh: float | None  # only where it differs on a two-way road
    oneway: bool
    emergency_only: bool
    lanes: int
    geometry: LineString  # WGS84, digitised in the travel direction when one-way


@dataclass(frozen=True)
class OsmTurnRestriction:
    relation_id: int
    kind: str  # "no" or "only"
    from_road: int  # index into OsmNetwork.roads
    via: tuple[float, float]
    to_road: int


@dataclass
class OsmNetwork:
    roads: list[OsmRoad]
    restrictions: list[OsmTurnRestriction]
    skipped: Counter = field(default_factory=Counter)  # what was read but could not be used, and why


# -- tags -----------------------------------------------------------------------------------------------


def maxspeed_kmh(value: str, country: str) -> float | None:
    """A maxspeed tag in km/h: '60', '50 mph', '10 knots', 'walk', 'FI:urban', 'DE:zone30', 'none' (the
    country's motorway advisory or limit); '60;80' takes the first. None when it gives no usable number."""
    value = (value or "").split(";")[0].strip().lower()
    if not value:
        return None
    if value == "walk":
        return WALK_KMH
    if value == "none":
        return _zone_kmh(country, ("motorway",))
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(km/h|kmh|kph|mph|knots)?", value)
    if match:
        factor = {"mph": MPH_KMH, "knots": KNOT_KMH}.get(match.group(2) or "", 1.0)
        speed = float(match.group(1)) * factor
        return speed if 0 < speed <= 300 else None
    match = re.fullmatch(r"([a-z]{2}(?:-[a-z0-9]{1,3})?):(.+)", value)
    if match:
        code, zone = match.group(1), match.group(2).replace(" ", "_")
        zone_number = re.fullmatch(r"zone:?(\d+)", zone)
        if zone_number:
            return float(zone_number.group(1))
        return _zone_kmh(code, (zone,))
    return None


def _zone_kmh(country: str, zones: tuple[str, ...]) -> float | None:
    """The first of these zones the country has a default limit for (its advisory speed where there is none)."""
    for zone in zones:
        limit = zone_limit(country, zone)
        if limit is None:
            continue
        maxspeed, advisory = limit
        speed = maxspeed_kmh(maxspeed, country) if maxspeed != "none" else None
        if speed is None and advisory:
            speed = maxspeed_kmh(advisory, country)
        if speed is not None:
            return speed
    return None


def default_speed_kmh(highway: str, country: str) -> float:
    """The legal default speed of an untagged road of this highway type in this country (a city: urban)."""
    zones = ZONES_OF_HIGHWAY.get(highway, MINOR_ZONES if highway in MINOR_HIGHWAYS else URBAN_ZONES)
    speed = _zone_kmh(country, zones) or _zone_kmh(country, URBAN_ZONES)
    if speed is None:
        raise OsmFileError(f"no default speed limits for country {country!r} in data/osm_speed_defaults.csv")
    return speed


def lanes_of(text: str, road_class: str) -> int:
    match = re.match(r"^\s*(\d+)", text or "")
    lanes = int(match.group(1)) if match else DEFAULT_LANES[road_class]
    return min(max(lanes, 1), 12)


def oneway_of(tags: dict[str, str]) -> tuple[bool, bool]:
    """(one-way?, reversed?) from oneway=*, implied only by motorways and roundabouts (not by *_link roads);
    `-1` means one-way against the way's direction; reversible/alternating roads can be used both ways."""
    value = tags.get("oneway", "").lower()
    if value in ("-1", "reverse"):
        return True, True
    if value in ("yes", "true", "1"):
        return True, False
    if value in ("no", "false", "0", "reversible", "alternating"):
        return False, False
    implied = tags.get("highway") == "motorway" or tags.get("junction") in ("roundabout", "circular")
    return implied, False


def emergency_access(tags: dict[str, str]) -> str | None:
    """Who may drive the road: "public", "emergency" (closed to general traffic, open to emergency vehicles)
    or None (not emergency vehicles either)."""
    highway = tags.get("highway", "")
    if tags.get("area") == "yes" or tags.get("emergency") == "no":
        return None
    emergency = tags.get("emergency") in OPEN
    bus_only = highway == "busway" or tags.get("bus") in OPEN or tags.get("psv") in OPEN
    if highway in EMERGENCY_HIGHWAYS:
        return "emergency" if emergency or highway == "busway" else None
    if highway not in MOTOR_HIGHWAYS:
        return None
    motor = next((tags[key].lower() for key in MOTOR_ACCESS_KEYS if key in tags), "yes")
    if motor == "no":
        return "emergency" if emergency or bus_only else None
    return "emergency" if motor in CLOSED_TO_TRAFFIC else "public"


def road_fields(tags: dict[str, str], country: str) -> dict:
    """The OsmRoad fields a way's tags give (all but way_id and geometry), plus whether to reverse it."""
    highway = tags["highway"]
    road_class = CLASS_OF_HIGHWAY.get(highway, "branch")
    oneway, backwards = oneway_of(tags)
    default = maxspeed_kmh(tags.get("maxspeed", ""), country) or default_speed_kmh(highway, country)
    forward = maxspeed_kmh(tags.get("maxspeed:forward", ""), country) or default
    backward = maxspeed_kmh(tags.get("maxspeed:backward", ""), country) or default
    if backwards:
        forward, backward = backward, forward
    return {
        "name": (tags.get("name") or tags.get("ref") or "").strip()[:NAME_LENGTH],
        "road_class": road_class,
        "highway": highway,
        "speed_kmh": forward,
        "speed_backward_kmh": backward if not oneway and backward != forward else None,
        "oneway": oneway,
        "emergency_only": emergency_access(tags) == "emergency",
        "lanes": lanes_of(tags.get("lanes", ""), road_class),
        "reverse": backwards,
    }


# -- reading --------------------------------------------------------------------------------------------


def read_network(
    path: Path,
    *,
    country: str = "CN",
    bounding_box: list[float] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> OsmNetwork:
    """The roads emergency vehicles may use, and the turn restrictions between them, of a PBF extract.

    `country` (ISO 3166-1 code) chooses the legal default speeds of untagged roads and of `none`;
    `progress(done, total)` is called as ways are read (total: the file's highway ways).
    Raises OsmFileError with a one-line message on a file that is not a readable PBF extract."""
    if country.upper() not in country_speed_limits() and country.upper().split("-")[0] not in country_speed_limits():
        raise OsmFileError(f"no default speed limits for country {country!r} in data/osm_speed_defaults.csv")
    try:
        total = sum(1 for _ in _reader(path, osmium.osm.WAY, "highway"))
        ways, relations = _read(path, country, bounding_box, progress, total)
    except RuntimeError as exc:  # osmium's only error type: unreadable, truncated or not a PBF file
        message = " ".join(str(exc).split())
        raise OsmFileError(f"{path.name} is not a readable OpenStreetMap PBF extract ({message})") from None
    return _build(ways, relations)


def _reader(path: Path, entities, *keys: str):
    file = osmium.io.File(str(path), "pbf")  # never guessed from the name: a text file is an error, not XML
    return osmium.FileProcessor(file, entities).with_filter(osmium.filter.KeyFilter(*keys))


@dataclass
class _Way:
    way_id: int
    fields: dict
    refs: list[int]
    coords: list[tuple[float, float] | None]  # None: not in the extract or outside the box


def _read(path, country, bounding_box, progress, total) -> tuple[list[_Way], list]:
    ways: list[_Way] = []
    relations = []
    done = 0
    west, south, east, north = bounding_box or (-180.0, -90.0, 180.0, 90.0)
    entities = osmium.osm.NODE | osmium.osm.WAY | osmium.osm.RELATION
    for obj in _reader(path, entities, "highway", "type").with_locations():
        if obj.is_way():
            done += 1
            if progress is not None and done % PROGRESS_EVERY == 0:
                progress(done, total)
            tags = dict(obj.tags)
            if emergency_access(tags) is None:
                continue
            refs, coords = [], []
            for node in obj.nodes:
                refs.append(node.ref)
                location = node.location
                inside = location.valid() and west <= location.lon <= east and south <= location.lat <= north
                coords.append((location.lon, location.lat) if inside else None)
            ways.append(_Way(obj.id, road_fields(tags, country), refs, coords))
        elif obj.is_relation() and obj.tags.get("type") == "restriction":
            relations.append(_restriction(obj))
    if progress is not None:
        progress(total, total)
    return ways, relations


def _restriction(relation) -> tuple:
    """(relation id, restriction value, from ways, via members, to ways, except) of a restriction relation."""
    tags = dict(relation.tags)
    value = tags.get("restriction") or tags.get("restriction:motorcar") or tags.get("restriction:motor_vehicle", "")
    members = [(m.type, m.ref, m.role) for m in relation.members]
    return (
        relation.id,
        value,
        [ref for kind, ref, role in members if kind == "w" and role == "from"],
        [(kind, ref) for kind, ref, role in members if role == "via"],
        [ref for kind, ref, role in members if kind == "w" and role == "to"],
        tags.get("except", ""),
    )


def _build(ways: list[_Way], relations: list) -> OsmNetwork:
    """Cut ways into segments at shared nodes and gaps; turn restrictions onto the segments at their via node."""
    uses = Counter(ref for way in ways for ref in way.refs)
    roads: list[OsmRoad] = []
    ends: dict[tuple[int, int], list[int]] = defaultdict(list)  # (way, end node) → road indices
    node_lonlat: dict[int, tuple[float, float]] = {}
    skipped: Counter = Counter()
    for way in ways:
        fields = dict(way.fields)
        reverse = fields.pop("reverse")
        run_refs: list[int] = []
        run_coords: list[tuple[float, float]] = []
        for i, (ref, lonlat) in enumerate(zip(way.refs, way.coords, strict=True)):
            if lonlat is None:  # a gap: the way goes on as another part after it
                _add_segment(roads, ends, node_lonlat, way.way_id, fields, reverse, run_refs, run_coords)
                run_refs, run_coords = [], []
                skipped["nodes missing from the extract"] += 1
                continue
            run_refs.append(ref)
            run_coords.append(lonlat)
            if 0 < i < len(way.refs) - 1 and uses[ref] > 1 and len(run_refs) > 1:
                _add_segment(roads, ends, node_lonlat, way.way_id, fields, reverse, run_refs, run_coords)
                run_refs, run_coords = [ref], [lonlat]
        _add_segment(roads, ends, node_lonlat, way.way_id, fields, reverse, run_refs, run_coords)

    restrictions: list[OsmTurnRestriction] = []
    for relation_id, value, froms, vias, tos, exceptions in relations:
        kind = value.split("_")[0]
        if kind not in ("no", "only") or "emergency" in exceptions.split(";"):
            skipped["turn restrictions of another kind or not for emergency vehicles"] += 1
            continue
        if len(vias) != 1 or vias[0][0] != "n":
            skipped["turn restrictions via a way (not applied)"] += 1
            continue
        via = vias[0][1]
        pairs = [(a, b) for f in froms for a in ends[(f, via)] for t in tos for b in ends[(t, via)]]
        if not pairs:
            skipped["turn restrictions whose roads are not in the extract"] += 1
        for a, b in pairs:
            restrictions.append(OsmTurnRestriction(relation_id, kind, a, node_lonlat[via], b))
    return OsmNetwork(roads, restrictions, skipped)


def _add_segment(roads, ends, node_lonlat, way_id, fields, reverse, refs, coords) -> None:
    if len(refs) < 2 or len(set(coords)) < 2:
        return
    ends[(way_id, refs[0])].append(len(roads))
    ends[(way_id, refs[-1])].append(len(roads))
    node_lonlat[refs[0]], node_lonlat[refs[-1]] = coords[0], coords[-1]
    roads.append(OsmRoad(way_id=way_id, geometry=LineString(coords[::-1] if reverse else coords), **fields))


# -- connectivity ---------------------------------------------------------------------------------------


def connectivity(roads: list[OsmRoad]) -> dict:
    """How well the imported roads hang together, for the import report.

    strongly connected components (one-way aware), the share of nodes in the largest, nodes outside it
    (a vehicle there cannot reach all of the city or be reached from it), dead ends (nodes with one
    segment) and those within 50 m of the extract's edge (cut by the extract, not by the street), and
    islands: the parts not connected to the largest part at all, even ignoring one-way streets."""
    if not roads:
        return {"nodes": 0, "segments": 0}
    starts = [r.geometry.coords[0] for r in roads]
    finishes = [r.geometry.coords[-1] for r in roads]
    points, index = np.unique(np.array(starts + finishes), axis=0, return_inverse=True)
    index = index.reshape(-1)
    n, m = len(points), len(roads)
    tail, head = index[:m], index[m:]
    two_way = np.array([not r.oneway for r in roads])
    rows = np.concatenate([tail, head[two_way]])
    cols = np.concatenate([head, tail[two_way]])
    graph = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n)).tocsr()
    n_strong, strong = connected_components(graph, directed=True, connection="strong")
    n_weak, weak = connected_components(graph, directed=True, connection="weak")
    biggest_strong = np.bincount(strong).max()
    weak_sizes = np.bincount(weak)
    degree = np.bincount(np.concatenate([tail, head]), minlength=n)
    dead_ends = degree == 1
    # 50 m in degrees of latitude (and of longitude at the extract's latitude): near enough to its edge
    lat_margin = 50 / 111_320
    lon_margin = lat_margin / max(np.cos(np.radians(points[:, 1].mean())), 0.01)
    lo, hi = points.min(axis=0), points.max(axis=0)
    near_edge = (
        (points[:, 0] - lo[0] < lon_margin)
        | (hi[0] - points[:, 0] < lon_margin)
        | (points[:, 1] - lo[1] < lat_margin)
        | (hi[1] - points[:, 1] < lat_margin)
    )
    island_segments = int((weak[tail] != np.argmax(weak_sizes)).sum())
    return {
        "nodes": int(n),
        "segments": int(m),
        "strongly_connected_components": int(n_strong),
        "largest_component_share": round(float(biggest_strong / n), 4),
        "nodes_outside_largest_component": int(n - biggest_strong),
        "dead_ends": int(dead_ends.sum()),
        "dead_ends_at_edge": int((dead_ends & near_edge).sum()),
        "islands": int(n_weak - 1),
        "island_segments": island_segments,
    }
