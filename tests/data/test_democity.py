"""Invariants of the synthetic demo city that loaders, routing and grid cutting rely on."""

import dataclasses
import functools
import time
from collections import Counter, defaultdict, deque

import numpy as np
import pyproj
import pytest
import shapely

from data.democity import ROAD_CLASSES, SCALES, SPEED_KMH, STATION_AGENCIES, generate

REAL_DISTRICTS = {
    "440303": "罗湖区",
    "440304": "福田区",
    "440305": "南山区",
    "440306": "宝安区",
    "440307": "龙岗区",
    "440308": "盐田区",
    "440309": "龙华区",
    "440310": "坪山区",
    "440311": "光明区",
}
CODE_LENGTH = {"city": 6, "district": 6, "street": 9, "community": 12}
PARENT_LEVEL = {"district": "city", "street": "district", "community": "street"}
NAME_SUFFIX = {"city": "市", "district": "区", "street": "街道", "community": "社区"}
KM2 = {"small": (4, 10), "city": (40, 70)}
TESTED = tuple(s for s in SCALES if s != "metro")  # metro is too slow here; see test_metro_size
_TO_METRES = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:4547", always_xy=True)


@functools.cache
def city(scale):
    """Default-seed city, built once per scale for the read-only checks."""
    return generate(scale)


def metric(geoms):
    """The same geometries in EPSG:4547 metres, for distances and areas."""
    return shapely.transform(geoms, lambda xy: np.column_stack(_TO_METRES.transform(xy[:, 0], xy[:, 1])))


def fingerprint(demo):
    """Every field of every record, geometries as WKB, so equality means identical output."""
    return [
        tuple(shapely.to_wkb(v) if isinstance(v, shapely.Geometry) else v for v in dataclasses.astuple(item))
        for item in [*demo.areas, *demo.roads, *demo.addresses, *demo.stations]
    ]


def children_of(demo):
    """Areas grouped by parent code."""
    children = defaultdict(list)
    for area in demo.areas:
        children[area.parent_code].append(area)
    return children


def test_same_seed_gives_identical_output():
    assert fingerprint(generate("small", seed=7)) == fingerprint(generate("small", seed=7))


def test_other_seed_gives_other_output():
    assert fingerprint(generate("small", seed=8)) != fingerprint(city("small"))


def test_unknown_scale_is_rejected():
    with pytest.raises(ValueError, match="scale"):
        generate("village")


def test_small_generates_quickly():
    start = time.perf_counter()
    generate("small", seed=3)
    assert time.perf_counter() - start < 2.0


@pytest.mark.parametrize("scale", TESTED)
def test_area_codes_names_and_parents(scale):
    demo = city(scale)
    by_code = {a.code: a for a in demo.areas}
    assert len(by_code) == len(demo.areas), "area codes must be unique"
    (top,) = [a for a in demo.areas if a.level == "city"]
    assert (top.code, top.name, top.parent_code) == ("440300", "深圳市", None)
    for area in demo.areas:
        assert len(area.code) == CODE_LENGTH[area.level] and area.code.isdigit()
        assert area.name.endswith(NAME_SUFFIX[area.level])
        if area.level != "city":
            parent = by_code[area.parent_code]
            assert parent.level == PARENT_LEVEL[area.level]
            assert area.code.startswith(parent.code[:4] if area.level == "district" else parent.code)
        if area.code in REAL_DISTRICTS:
            assert area.name == REAL_DISTRICTS[area.code]
    for siblings in children_of(demo).values():
        assert len({a.name for a in siblings}) == len(siblings), "names must be unique within a parent"
    assert Counter(a.level for a in demo.areas)["district"] == {"small": 2, "city": 5}[scale]


@pytest.mark.parametrize("scale", TESTED)
def test_children_tile_their_parent(scale):
    demo = city(scale)
    children = children_of(demo)
    for parent in demo.areas:
        if parent.level == "community":
            continue
        parts = [a.geometry for a in children[parent.code]]
        assert parts, f"{parent.name} has no children"
        union = shapely.union_all(parts)
        assert parent.geometry.symmetric_difference(union).area < 1e-9 * parent.geometry.area, "gap or spill"
        assert sum(p.area for p in parts) == pytest.approx(union.area, rel=1e-9), "siblings overlap"
        for part in parts:
            assert part.difference(parent.geometry).area < 1e-9 * part.area


@pytest.mark.parametrize("scale", TESTED)
def test_geometries_are_valid_and_inside_the_city(scale):
    demo = city(scale)
    boundary = demo.areas[0].geometry.buffer(1e-7)  # ~1 cm, for roads running along the boundary
    assert all(a.geometry.geom_type == "MultiPolygon" and a.geometry.is_valid for a in demo.areas)
    lines = [r.geometry for r in demo.roads]
    points = [a.point for a in demo.addresses] + [s.point for s in demo.stations]
    assert all(g.geom_type == "LineString" and g.is_valid and not g.is_empty for g in lines)
    assert shapely.covers(boundary, lines).all()
    assert shapely.covers(boundary, points).all()
    centre = demo.areas[0].geometry.centroid
    assert abs(centre.x - 114.05) < 0.05 and abs(centre.y - 22.54) < 0.05


@pytest.mark.parametrize("scale", TESTED)
def test_city_area_fits_the_scale(scale):
    low, high = KM2[scale]
    assert low < metric(city(scale).areas[0].geometry).area / 1e6 < high


@pytest.mark.parametrize("scale", TESTED)
def test_roads_run_between_shared_intersections(scale):
    roads = city(scale).roads
    ends = Counter()
    names_at = defaultdict(set)
    for road in roads:
        for end in (road.geometry.coords[0], road.geometry.coords[-1]):
            ends[end] += 1
            names_at[end].add(road.name)
    interior = {xy for road in roads for xy in road.geometry.coords[1:-1]}
    assert min(ends.values()) >= 2, "every road end must be shared bit-for-bit (no dead ends)"
    assert not interior & ends.keys(), "a road passes through another road's end without being split"
    for end, count in ends.items():
        if count == 2:
            assert len(names_at[end]) == 2, f"{names_at[end]} continues through {end} but is split there"


def reachable(start, edges):
    """Nodes reachable from start by breadth-first search (networkx is not a dependency)."""
    seen, todo = {start}, deque([start])
    while todo:
        for nxt in edges[todo.popleft()]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


@pytest.mark.parametrize("scale", TESTED)
def test_network_is_strongly_connected(scale):
    forward, backward, undirected = defaultdict(set), defaultdict(set), defaultdict(set)
    for road in city(scale).roads:
        a, b = road.geometry.coords[0], road.geometry.coords[-1]
        undirected[a].add(b)
        undirected[b].add(a)
        for u, v in [(a, b)] if road.oneway else [(a, b), (b, a)]:
            forward[u].add(v)
            backward[v].add(u)
    start = next(iter(undirected))
    assert reachable(start, undirected) == undirected.keys()
    assert reachable(start, forward) == undirected.keys(), "some node cannot be reached by car"
    assert reachable(start, backward) == undirected.keys(), "some node cannot be left by car"


@pytest.mark.parametrize("scale", TESTED)
def test_road_classes_speeds_and_one_ways(scale):
    roads = city(scale).roads
    assert {r.road_class for r in roads} == set(ROAD_CLASSES)
    speeds = [SPEED_KMH[c] for c in ROAD_CLASSES]
    assert speeds == sorted(speeds, reverse=True)
    assert all(r.speed_kmh == SPEED_KMH[r.road_class] and r.lanes >= 1 for r in roads)
    assert len({r.road_id for r in roads}) == len(roads)
    branch = [r for r in roads if r.road_class == "branch"]
    assert all(r.road_class == "branch" for r in roads if r.oneway)
    assert 0.04 < sum(r.oneway for r in branch) / len(branch) < 0.3, "some (~15 %) branch roads are one-way"
    classes_by_name = defaultdict(set)
    for road in roads:
        assert road.name.endswith(("路", "大道")), road.name
        classes_by_name[road.name].add(road.road_class)
    assert all(len(classes) == 1 for classes in classes_by_name.values())
    lengths = shapely.length(metric(np.array([r.geometry for r in roads])))
    assert 150 < np.median(lengths) < 400, "blocks should be ~200-250 m"


@pytest.mark.parametrize("scale", TESTED)
def test_addresses_are_numbered_by_side_along_their_road(scale):
    demo = city(scale)
    districts = {a.code: a for a in demo.areas if a.level == "district"}
    roads_named = defaultdict(list)
    for road in demo.roads:
        roads_named[road.name].append(metric(road.geometry))
    assert len({a.address_id for a in demo.addresses}) == len(demo.addresses)
    by_road = defaultdict(list)
    for address in demo.addresses:
        assert (
            address.label
            == f"深圳市{districts[address.district_code].name}{address.road_name}{address.number}号"
        )
        assert districts[address.district_code].geometry.contains(address.point)
        by_road[address.road_name].append(address)
    for name, addresses in by_road.items():
        assert len({a.number for a in addresses}) == len(addresses), f"duplicate numbers on {name}"
        addresses.sort(key=lambda a: a.number)
        points = metric(np.array([a.point for a in addresses]))
        ahead = shapely.get_coordinates(points[-1])[0] - shapely.get_coordinates(points[0])[0]
        sides = defaultdict(set)  # number parity -> side of the road (+1 left, -1 right)
        for address, point in zip(addresses, points, strict=True):
            road = min(roads_named[name], key=point.distance)
            assert road.distance(point) < 20
            at = road.project(point)
            a, b = (
                np.array(road.interpolate(d).coords[0]) for d in (max(at - 1, 0), min(at + 1, road.length))
            )
            tangent = (b - a) * (1 if np.dot(b - a, ahead) >= 0 else -1)  # as the numbers run
            offset = np.array(point.coords[0]) - a
            sides[address.number % 2].add(np.sign(tangent[0] * offset[1] - tangent[1] * offset[0]))
        odd, even = sides.get(1, set()), sides.get(0, set())
        assert len(odd) <= 1 and len(even) <= 1 and not odd & even, f"{name}: odd {odd}, even {even}"
    street_km = sum(metric(r.geometry).length for r in demo.roads if r.road_class != "expressway") / 1000
    assert 1000 / 90 < len(demo.addresses) / street_km < 1000 / 45, "about one address per 50-80 m"


@pytest.mark.parametrize("scale", TESTED)
def test_stations_sit_on_roads_in_their_district(scale):
    demo = city(scale)
    districts = {a.code: a for a in demo.areas if a.level == "district"}
    labels = {a.label for a in demo.addresses}
    roads = shapely.STRtree(metric(np.array([r.geometry for r in demo.roads])))
    kinds = Counter(s.kind for s in demo.stations)
    assert kinds["police_station"] == sum(a.level == "street" for a in demo.areas)
    assert len({s.name for s in demo.stations}) == len(demo.stations)
    per_district = defaultdict(Counter)
    for station in demo.stations:
        assert station.agency == STATION_AGENCIES[station.kind]
        assert station.address in labels
        assert districts[station.district_code].geometry.contains(station.point)
        assert station.name.startswith(districts[station.district_code].name[:-1])
        point = metric(station.point)
        assert roads.geometries[roads.nearest(point)].distance(point) <= 30
        per_district[station.district_code][station.kind] += 1
    km2 = metric(demo.areas[0].geometry).area / 1e6
    assert abs(kinds["fire_station"] - km2 / 7) <= len(districts), "about one fire station per 7 km²"
    for code in districts:
        assert per_district[code]["fire_station"] >= 1
        assert 2 <= per_district[code]["hospital"] <= 4
        assert 1 <= per_district[code]["traffic_post"] <= 2


def test_metro_size():
    demo = generate("metro")
    assert 400 < metric(demo.areas[0].geometry).area / 1e6 < 650
    assert Counter(a.level for a in demo.areas)["district"] == 10
