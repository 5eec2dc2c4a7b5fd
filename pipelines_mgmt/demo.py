"""Demo-city layer of the pipelines app: a water and a gas network laid under the demo roads.

Laid the way a utility would: mains follow the road segments (each utility at its own offset from the
centre line), sources sit just outside the city edge (a treatment plant and a reservoir for water, a
gate station for gas), every tee gets valves on all but one of its branches (the N-1 rule) and long
blocks get a line valve in the middle, so a burst never shuts more than a few pipes. A few valves are
seized or never exercised; the water network is split into two pressure zones by normally-closed valves.
Every demo address is a water customer and most are gas customers; hospitals, schools and care homes
are flagged sensitive. Deterministic: the same city gives the same networks.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

import numpy as np
import pyproj
import shapely
from django.contrib.gis.db.models.functions import GeometryDistance
from django.contrib.gis.geos import LineString, Point
from shapely.ops import substring

from core.models import AdminArea
from core.selectors import metric_srid
from gis.models import Address

from .models import Network, Node, Pipe, RepairOrder, RepairRecord, ServiceConnection, Utility, Valve
from .services import bump_network_version

BATCH = 2000
SPLIT_LONGER_THAN_M = 300.0  # a block longer than this gets a line valve in the middle
VALVE_SETBACK_M = 3.0  # a valve at a tee sits this far along its branch
SOURCE_OFFSET_M = 250.0  # sources lie this far outside the outermost road node
P_INOPERABLE, P_UNKNOWN = 0.03, 0.12
SHALLOW_EVERY = 53  # every 53rd gas pipe was laid too shallow at its start (a cover-depth finding)
# Drainage: sewers under the road centre line; every KINK_EVERY-th one bends KINK_SHARE of the way towards the
# water main at its middle (as-built deviation), which the clearance check must find.
DRAINAGE_CLASSES = {"expressway": 1200, "arterial": 1000, "secondary": 800}
DRAINAGE_DEPTH = (2.2, 3.2)
KINK_EVERY, KINK_SHARE = 7, 0.6
# Repair history: a share of pipes and valves with 1-3 repairs in the last REPAIR_YEARS years.
P_PIPE_REPAIRED, P_VALVE_REPAIRED, REPAIR_YEARS = 0.04, 0.02, 8
SCHOOL_EVERY, CARE_HOME_EVERY, COMMERCIAL_SHARE = 97, 263, 0.15


@dataclass(frozen=True)
class _Spec:
    code: str
    name: str
    utility: str
    owner: str
    prefix: str
    shift: tuple[float, float]  # metres from the road centre line, so utilities do not overlap
    diameter: dict  # by road class, mm
    years: tuple[int, int]
    depth: tuple[float, float]
    sources: tuple  # (name, source kind, direction to look for the outermost node)
    zones: bool  # split into two pressure zones with normally-closed valves
    customer_share: float


SPECS = (
    _Spec(
        code="sz-water",
        name="深圳市供水管网",
        utility=Utility.WATER,
        owner="SZ-WATER-GROUP",
        prefix="W",
        shift=(2.5, 2.5),
        diameter={"expressway": 600, "arterial": 500, "secondary": 300, "branch": 150, "feeder": 1000},
        years=(1986, 2024),
        depth=(1.4, 1.9),
        sources=(
            ("梅林水厂", Node.SourceKind.TREATMENT_PLANT, (-1, 0)),
            ("东湖清水池", Node.SourceKind.RESERVOIR, (1, 0)),
        ),
        zones=True,
        customer_share=1.0,
    ),
    _Spec(
        code="sz-gas",
        name="深圳市燃气管网",
        utility=Utility.GAS,
        owner="SZ-GAS",
        prefix="G",
        shift=(-2.5, -2.5),
        diameter={"expressway": 400, "arterial": 300, "secondary": 200, "branch": 110, "feeder": 500},
        years=(1996, 2024),
        depth=(0.9, 1.2),
        sources=(("南坪门站", Node.SourceKind.GAS_GATE, (0, -1)),),
        zones=False,
        customer_share=0.75,
    ),
)


@lru_cache(maxsize=4)
def _transformer(source: int, target: int) -> pyproj.Transformer:
    """Building a transformer costs ~0.2 s; the demo needs two, several times."""
    return pyproj.Transformer.from_crs(source, target, always_xy=True)


def _roads_in_metres(city) -> np.ndarray:
    to_metric = _transformer(4326, metric_srid())
    return shapely.transform(
        np.array([road.geometry for road in city.roads], dtype=object),
        lambda xy: np.column_stack(to_metric.transform(xy[:, 0], xy[:, 1])),
    )


def load_demo(city, context: dict) -> dict:
    srid = metric_srid()
    to_metric = _transformer(4326, srid)
    roads = [(road.road_class, line) for road, line in zip(city.roads, _roads_in_metres(city), strict=True)]
    addresses = list(Address.objects.order_by("id").values_list("id", "label", "road_name", "geom"))
    address_xy = np.column_stack(to_metric.transform([a[3].x for a in addresses], [a[3].y for a in addresses]))
    hospitals = {s.address: s.name.removesuffix("急救站") for s in city.stations if s.kind == "hospital"}
    networks = {}
    for number, spec in enumerate(SPECS, start=1):
        rng = np.random.default_rng(city.seed + number)
        network = Network.objects.create(
            code=spec.code, name=spec.name, utility=spec.utility, owner=context["orgs"][spec.owner]
        )
        layout = _Layout(spec, roads, rng)
        layout.save(network, _transformer(srid, 4326))
        _connect_customers(spec, layout, addresses, address_xy, hospitals, rng)
        bump_network_version(network.pk)
        networks[spec.code] = network
    networks["sz-drainage"] = _drainage(roads, context["orgs"]["SZ-WATER-GROUP"], _transformer(srid, 4326), city.seed)
    _repair_history(city.seed)
    return {"pipe_networks": networks}


def _drainage(roads, owner, to_wgs84: pyproj.Transformer, seed: int) -> Network:
    """Gravity sewers under the centre line of the larger roads (no valves, no sources: not for isolation)."""
    rng = np.random.default_rng(seed + 50)
    network = Network.objects.create(code="sz-drainage", name="深圳市排水管网", utility=Utility.DRAINAGE, owner=owner)
    water_shift = np.array(SPECS[0].shift)
    node_index: dict[tuple[float, float], int] = {}
    edges = []
    for road_class, line in roads:
        if road_class not in DRAINAGE_CLASSES:
            continue
        coords = shapely.get_coordinates(line)
        ends = []
        for xy in (coords[0], coords[-1]):
            ends.append(node_index.setdefault((round(float(xy[0]), 3), round(float(xy[1]), 3)), len(node_index)))
        if ends[0] == ends[1]:
            continue
        if len(edges) % KINK_EVERY == KINK_EVERY - 1:
            middle = np.asarray(line.interpolate(0.5, normalized=True).coords[0]) + KINK_SHARE * water_shift
            line = shapely.LineString([coords[0], middle, coords[-1]])
        edges.append((ends[0], ends[1], line, road_class))
    xy = np.array(list(node_index))
    lon, lat = to_wgs84.transform(xy[:, 0], xy[:, 1])
    nodes = Node.objects.bulk_create(
        (
            Node(network=network, code=f"DN-{i + 1:05d}", geom=Point(float(x), float(y), srid=4326))
            for i, (x, y) in enumerate(zip(lon, lat, strict=True))
        ),
        batch_size=BATCH,
    )
    pipes = []
    for e, (start, end, line, road_class) in enumerate(edges):
        lon, lat = to_wgs84.transform(*shapely.get_coordinates(line).T)
        pipes.append(
            Pipe(
                network=network,
                code=f"DP-{e + 1:05d}",
                start_node=nodes[start],
                end_node=nodes[end],
                diameter_mm=DRAINAGE_CLASSES[road_class],
                material=Pipe.Material.CONCRETE,
                depth_start_m=round(float(rng.uniform(*DRAINAGE_DEPTH)), 2),
                depth_end_m=round(float(rng.uniform(*DRAINAGE_DEPTH)), 2),
                pressure_class=Pipe.PressureClass.GRAVITY,
                install_year=int(rng.integers(1990, 2024, endpoint=True)),
                owner=owner,
                length_m=round(float(line.length), 2),
                geom=LineString(list(zip(lon, lat, strict=True)), srid=4326),
            )
        )
    Pipe.objects.bulk_create(pipes, batch_size=BATCH)
    bump_network_version(network.pk)
    return network


def _repair_history(seed: int) -> None:
    """Past leaks, bursts and seized valves on a few pipes and valves of the water and gas networks."""
    rng = np.random.default_rng(seed + 60)
    today = date.today()
    records = []
    pipe_kinds = [RepairRecord.Kind.LEAK, RepairRecord.Kind.LEAK, RepairRecord.Kind.BURST, RepairRecord.Kind.CORROSION]
    valve_kinds = [RepairRecord.Kind.VALVE_SEIZED, RepairRecord.Kind.VALVE_LEAK]
    targets = [
        ("pipe", pk, pipe_kinds)
        for pk in Pipe.objects.filter(network__code__in=["sz-water", "sz-gas"])
        .order_by("id")
        .values_list("id", flat=True)
        if rng.random() < P_PIPE_REPAIRED
    ] + [
        ("valve", pk, valve_kinds)
        for pk in Valve.objects.order_by("id").values_list("id", flat=True)
        if rng.random() < P_VALVE_REPAIRED
    ]
    for what, pk, kinds in targets:
        for _ in range(int(rng.integers(1, 4))):
            records.append(
                RepairRecord(
                    **{f"{what}_id": pk},
                    kind=kinds[int(rng.integers(len(kinds)))],
                    repaired_on=today - timedelta(days=int(rng.integers(30, 365 * REPAIR_YEARS))),
                )
            )
    RepairRecord.objects.bulk_create(records, batch_size=BATCH)


def clear_demo() -> None:
    RepairRecord.objects.all().delete()
    RepairOrder.objects.all().delete()
    ServiceConnection.objects.all().delete()
    Valve.objects.all().delete()
    Pipe.objects.all().delete()
    Node.objects.all().delete()
    Network.objects.all().delete()


class _Layout:
    """One network in metres: nodes, pipes (edges) and valves, before anything is written."""

    def __init__(self, spec: _Spec, roads, rng: np.random.Generator):
        self.spec, self.rng = spec, rng
        self.node_xy: list[tuple[float, float]] = []
        self.node_kind: list[str] = []
        self.node_info: dict[int, tuple[str, str]] = {}  # source node → (name, source kind)
        self.edges: list[tuple[int, int, shapely.LineString, str]] = []
        self.valves: list[list] = []  # [edge, node, normally_closed]
        self._index: dict[tuple[float, float], int] = {}
        shift = np.array(spec.shift)
        for road_class, line in roads:
            coords = shapely.get_coordinates(line) + shift
            line = shapely.LineString(coords)
            start, end = self._node(coords[0]), self._node(coords[-1])
            if start == end:
                continue
            if line.length > SPLIT_LONGER_THAN_M:
                half = line.length / 2
                middle = self._node(np.asarray(line.interpolate(half).coords[0]), kind=Node.Kind.VALVE)
                self.edges.append((start, middle, substring(line, 0, half), road_class))
                self.edges.append((middle, end, substring(line, half, line.length), road_class))
                self.valves.append([len(self.edges) - 1, middle, False])
            else:
                self.edges.append((start, end, line, road_class))
        self._valve_tees()
        for name, source_kind, direction in spec.sources:
            self._add_source(name, source_kind, np.array(direction, dtype=float))
        if spec.zones:
            self._close_zone_boundary()

    def _node(self, xy, kind=Node.Kind.JUNCTION) -> int:
        key = (round(float(xy[0]), 3), round(float(xy[1]), 3))
        if key not in self._index:
            self._index[key] = len(self.node_xy)
            self.node_xy.append(key)
            self.node_kind.append(kind)
        return self._index[key]

    def _valve_tees(self) -> None:
        """N-1 rule: at every node where three or more pipes meet, valves on all branches but one."""
        incident: dict[int, list[int]] = {}
        for e, (start, end, _, _) in enumerate(self.edges):
            incident.setdefault(start, []).append(e)
            incident.setdefault(end, []).append(e)
        for node, edges in sorted(incident.items()):
            if len(edges) == 1 and self.spec.utility == Utility.WATER:
                self.node_kind[node] = Node.Kind.HYDRANT  # a flushing hydrant at every dead end
            elif len(edges) >= 3:
                self.node_kind[node] = Node.Kind.TEE if len(edges) == 3 else Node.Kind.JUNCTION
                skip = int(self.rng.integers(len(edges)))
                self.valves += [[e, node, False] for k, e in enumerate(edges) if k != skip]

    def _add_source(self, name: str, source_kind: str, direction: np.ndarray) -> None:
        """A source outside the city, fed into the outermost road node in `direction` by a feeder main."""
        xy = np.array(self.node_xy)
        entry = int(np.argmax(xy @ direction))
        source = self._node(xy[entry] + direction * SOURCE_OFFSET_M, kind=Node.Kind.SOURCE)
        self.node_info[source] = (name, source_kind)
        self.edges.append((source, entry, shapely.LineString([self.node_xy[source], self.node_xy[entry]]), "feeder"))
        self.valves += [[len(self.edges) - 1, source, False], [len(self.edges) - 1, entry, False]]

    def _close_zone_boundary(self) -> None:
        """Two pressure zones (west and east of the median), joined only through normally-closed valves."""
        x = np.array(self.node_xy)[:, 0]
        middle = float(np.median(x))
        valved = {(valve[0], valve[1]): valve for valve in self.valves}
        for e, (start, end, _, road_class) in enumerate(self.edges):
            if road_class != "feeder" and (x[start] < middle) != (x[end] < middle):
                valve = valved.get((e, start)) or valved.get((e, end))
                if valve is None:
                    valve = [e, start, True]
                    self.valves.append(valve)
                valve[2] = True

    def save(self, network: Network, to_wgs84: pyproj.Transformer) -> None:
        spec, rng = self.spec, self.rng
        lon, lat = to_wgs84.transform(*np.array(self.node_xy).T)
        nodes = [
            Node(
                network=network,
                code=f"{spec.prefix}{'S' if kind == Node.Kind.SOURCE else 'N'}-{i + 1:05d}",
                kind=kind,
                source_kind=self.node_info.get(i, ("", ""))[1],
                name=self.node_info.get(i, ("", ""))[0],
                elevation_m=round(float(rng.uniform(3, 45)), 2),
                geom=Point(float(x), float(y), srid=4326),
            )
            for i, (kind, x, y) in enumerate(zip(self.node_kind, lon, lat, strict=True))
        ]
        self.nodes = Node.objects.bulk_create(nodes, batch_size=BATCH)
        self.pipes = Pipe.objects.bulk_create(
            (self._pipe(network, e, to_wgs84) for e in range(len(self.edges))), batch_size=BATCH
        )
        valves = []
        for number, (e, node, normally_closed) in enumerate(self.valves, start=1):
            pipe = self.pipes[e]
            line = self.edges[e][2]
            at_start = self.edges[e][0] == node
            if self.node_kind[node] == Node.Kind.VALVE:
                xy = self.node_xy[node]
            else:
                setback = min(VALVE_SETBACK_M, line.length / 3)
                xy = line.interpolate(setback if at_start else line.length - setback).coords[0]
            draw = rng.random()
            operability = (
                Valve.Operability.WORKING
                if normally_closed or draw >= P_INOPERABLE + P_UNKNOWN
                else Valve.Operability.INOPERABLE
                if draw < P_INOPERABLE
                else Valve.Operability.UNKNOWN
            )
            valves.append(
                Valve(
                    code=f"{spec.prefix}V-{number:05d}",
                    pipe=pipe,
                    node=self.nodes[node],
                    normal_state=Valve.NormalState.CLOSED if normally_closed else Valve.NormalState.OPEN,
                    operability=operability,
                    diameter_mm=pipe.diameter_mm,
                    install_year=pipe.install_year,
                    geom=Point(*to_wgs84.transform(*xy), srid=4326),
                )
            )
        Valve.objects.bulk_create(valves, batch_size=BATCH)

    def _pipe(self, network: Network, e: int, to_wgs84: pyproj.Transformer) -> Pipe:
        spec, rng = self.spec, self.rng
        start, end, line, road_class = self.edges[e]
        diameter = spec.diameter[road_class]
        year = int(rng.integers(*spec.years, endpoint=True))
        lon, lat = to_wgs84.transform(*shapely.get_coordinates(line).T)
        return Pipe(
            network=network,
            code=f"{spec.prefix}P-{e + 1:05d}",
            start_node=self.nodes[start],
            end_node=self.nodes[end],
            diameter_mm=diameter,
            material=_material(spec.utility, diameter, year),
            depth_start_m=0.7
            if spec.utility == Utility.GAS and e % SHALLOW_EVERY == 0
            else round(float(rng.uniform(*spec.depth)), 2),
            depth_end_m=round(float(rng.uniform(*spec.depth)), 2),
            pressure_class=_pressure_class(spec.utility, road_class),
            install_year=year,
            owner=network.owner,
            length_m=round(float(line.length), 2),
            geom=LineString(list(zip(lon, lat, strict=True)), srid=4326),
        )


def _material(utility: str, diameter: float, year: int) -> str:
    if utility == Utility.GAS:
        return Pipe.Material.STEEL if diameter >= 300 else Pipe.Material.PE
    if diameter >= 1000:
        return Pipe.Material.STEEL
    if year < 1995:
        return Pipe.Material.CAST_IRON
    return Pipe.Material.PE if diameter <= 150 and year >= 2010 else Pipe.Material.DUCTILE_IRON


def _pressure_class(utility: str, road_class: str) -> str:
    if utility == Utility.GAS:
        return (
            Pipe.PressureClass.GAS_SUBHIGH_B
            if road_class == "feeder"
            else (
                Pipe.PressureClass.GAS_MEDIUM_A
                if road_class in ("expressway", "arterial")
                else Pipe.PressureClass.GAS_MEDIUM_B
            )
        )
    return Pipe.PressureClass.PN16 if road_class == "feeder" else Pipe.PressureClass.PN10


def _connect_customers(spec: _Spec, layout: _Layout, addresses, address_xy, hospitals: dict, rng) -> None:
    """One service connection per customer address, tapped on the nearest distribution pipe."""
    distribution = [e for e, edge in enumerate(layout.edges) if edge[3] != "feeder"]
    tree = shapely.STRtree([layout.edges[e][2] for e in distribution])
    wanted = rng.random(len(addresses)) < spec.customer_share
    connections = []
    for i, (address_id, label, road_name, geom) in enumerate(addresses):
        kind, name = _customer(i, label, road_name, hospitals)
        if not wanted[i] and kind not in ServiceConnection.SENSITIVE_TYPES:
            continue
        nearest = int(tree.query_nearest(shapely.Point(address_xy[i]), all_matches=False)[0])
        connections.append(
            ServiceConnection(
                pipe=layout.pipes[distribution[nearest]],
                address_id=address_id,
                customer_name=name,
                customer_type=kind,
                sensitive=kind in ServiceConnection.SENSITIVE_TYPES,
                meter_id=f"{spec.prefix}M{address_id:08d}",
                phone=f"139{address_id % 10**8:08d}",  # a made-up mobile number per address, for outage notices
                geom=geom,
            )
        )
    ServiceConnection.objects.bulk_create(connections, batch_size=BATCH)


def _customer(i: int, label: str, road_name: str, hospitals: dict) -> tuple[str, str]:
    """(customer type, name) of the i-th address; the same address gets the same answer in every network."""
    if label in hospitals:
        return ServiceConnection.CustomerType.HOSPITAL, hospitals[label]
    if i % SCHOOL_EVERY == SCHOOL_EVERY // 2:
        return ServiceConnection.CustomerType.SCHOOL, f"{road_name}{'小学' if i % 2 else '中学'}"
    if i % CARE_HOME_EVERY == CARE_HOME_EVERY // 3:
        return ServiceConnection.CustomerType.CARE_HOME, f"{road_name}颐养院"
    if (i * 7919) % 100 < COMMERCIAL_SHARE * 100:
        return ServiceConnection.CustomerType.COMMERCIAL, f"{label.removeprefix('深圳市')}商铺"
    return ServiceConnection.CustomerType.RESIDENTIAL, f"{label.removeprefix('深圳市')}住户"


def load_live(context: dict) -> dict:
    """Where the demo's live gas leak is reported: beside the gas main nearest the city centre (dispatch files
    the 119 call there, and the incident opens its repair order as a real one would)."""
    city = AdminArea.objects.filter(level=AdminArea.Level.CITY).first()
    if city is None:
        return {}
    centre = city.geom.point_on_surface
    pipe = (
        Pipe.objects.filter(network__utility=Utility.GAS, link_type=Pipe.LinkType.PIPE)
        .order_by(GeometryDistance("geom", centre))
        .first()
    )
    if pipe is None:
        return {}
    on_main = pipe.geom.interpolate_normalized(0.5)
    return {"gas_leak_point": Point(on_main.x + 0.0001, on_main.y + 0.00008, srid=4326)}
