"""The fleet simulator: demo units driving the demo roads, reporting as real JT/T 808 terminals (TCP, register,
authenticate, 0x0200 and wait for the 0x8001) or OsmAnd phones (HTTP), for the demo and for load tests.

Units with a dispatched or en-route assignment drive the road route to their incident, returning units drive
home, the others stay at their station (or wander, if asked). The simulator reads assignments from the
database and never writes it: statuses change only through what the platform makes of the positions.
A fix that is not acknowledged is kept and resent after reconnecting (the platform de-duplicates), so an
ingest restart loses nothing; ``acked_log`` records every acknowledged fix for tests to check.

The terminals also answer the platform's commands as real ones do (``JT808Client.obey``): 0x0001 to texts,
tracking, parameter settings and call-backs, 0x0104 with their parameter table, 0x0201 with the current position,
0x0001 then 0x0500 (door bit in the status) to a vehicle control; temporary tracking changes the report interval.
"""

import asyncio
import contextlib
import logging
import math
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
from django.db import close_old_connections
from scipy.sparse.csgraph import dijkstra

from . import jt808
from .eta import RoadGraph
from .jt808 import GeneralResult, MsgId, RegisterResult
from .recommend import haversine_m
from .tracks import osmand_terminal

log = logging.getLogger(__name__)

DRIVE_SPEED_KMH = 45.0  # what a unit reports while driving (the speed-up moves it faster, unreported)
ACK_TIMEOUT_S = 5.0
RETRY_DELAY_S = 0.5
WANDER_NODES = 60
# A terminal's parameter table as it leaves the factory (heartbeat, answer timeout, resends, report interval,
# maximum speed, overspeed duration).
DEFAULT_PARAMS: dict[int, jt808.ParamValue] = {0x0001: 30, 0x0002: 10, 0x0003: 3, 0x0029: 30, 0x0055: 100, 0x0056: 10}


@dataclass
class SimUnit:
    vehicle_id: int
    call_sign: str
    kind: str
    plate: str
    phone: str | None
    osmand_id: str | None
    lon: float
    lat: float
    home: tuple[float, float]
    heading: int = 0
    speed_kmh: float = 0.0
    path: list[tuple[float, float]] = field(default_factory=list)
    destination: tuple[float, float] | None = None
    last_sent: datetime | None = None
    sos: bool = False  # its SOS button was pressed: a terminal keeps the bit set until the platform acknowledges
    auth_code: str = ""  # what its terminal stored when it registered; it authenticates with it from then on
    osmand_token: str = ""  # the secret device id its phone sends (issued when the simulator starts)
    # Temporary tracking (0x8202): report every `tracking_s` seconds until the monotonic time `tracking_until`.
    tracking_s: float | None = None
    tracking_until: float = 0.0
    doors_locked: bool = False
    params: dict[int, jt808.ParamValue] = field(default_factory=lambda: dict(DEFAULT_PARAMS))


def unit_location(unit: SimUnit, now: datetime) -> jt808.Location:
    """What the unit's terminal reports at ``now`` (whole seconds, as JT/T 808 times are)."""
    status = jt808.Status.FIXED | jt808.Status.GPS
    if unit.doors_locked:
        status |= jt808.Status.DOORS_LOCKED
    return jt808.Location(
        alarm=jt808.Alarm.EMERGENCY if unit.sos else jt808.Alarm(0),
        status=status,
        latitude=round(unit.lat, 6),
        longitude=round(unit.lon, 6),
        altitude=10,
        speed_kmh=round(unit.speed_kmh, 1),
        direction=unit.heading,
        time=now.replace(microsecond=0),
    )


def bearing(lon1, lat1, lon2, lat2) -> int:
    dx = (lon2 - lon1) * math.cos(math.radians((lat1 + lat2) / 2))
    return round(math.degrees(math.atan2(dx, lat2 - lat1))) % 360


class Router:
    """Shortest-time routes on the road graph: node to node, joined to the exact start and end points."""

    def __init__(self, graph: RoadGraph | None):
        self.graph = graph

    def _node(self, lon: float, lat: float) -> int | None:
        snap = self.graph.snap(lon, lat)
        if snap is None:
            return None
        return int(self.graph.seg_from[snap.segment] if snap.fraction < 0.5 else self.graph.seg_to[snap.segment])

    def route(self, start: tuple[float, float], end: tuple[float, float]) -> list[tuple[float, float]]:
        """Points to drive through after ``start``, ending at ``end`` (straight there when off the network)."""
        if self.graph is None:
            return [end]
        source, target = self._node(*start), self._node(*end)
        if source is None or target is None:
            return [end]
        _, pred = dijkstra(self.graph.csr, indices=source, return_predecessors=True)
        if source != target and pred[target] < 0:
            return [end]
        nodes, at = [], target
        while at != source:
            nodes.append(at)
            at = pred[at]
        nodes.append(source)
        points = [tuple(self.graph.node_lonlat[n]) for n in reversed(nodes)]
        return [*points, end]

    def random_destination(self, rng: np.random.Generator, near: tuple[float, float]) -> tuple[float, float]:
        """One of the nodes nearest ``near``: wandering stays in the neighbourhood."""
        lonlat = self.graph.node_lonlat
        distance = np.hypot(lonlat[:, 0] - near[0], lonlat[:, 1] - near[1])
        return tuple(lonlat[rng.choice(np.argsort(distance)[:WANDER_NODES])])


def advance(unit: SimUnit, seconds: float, speed_kmh: float) -> None:
    """Drive ``seconds`` along the path at ``speed_kmh``; reported speed is 0 once the path is done."""
    budget = speed_kmh / 3.6 * seconds
    while unit.path and budget > 0:
        lon, lat = unit.path[0]
        step = haversine_m(unit.lon, unit.lat, lon, lat)
        if step > 0.5:
            unit.heading = bearing(unit.lon, unit.lat, lon, lat)
        if step <= budget:
            unit.lon, unit.lat = lon, lat
            unit.path.pop(0)
            budget -= step
        else:
            share = budget / step
            unit.lon += (lon - unit.lon) * share
            unit.lat += (lat - unit.lat) * share
            budget = 0
    unit.speed_kmh = speed_kmh if unit.path else 0.0


# -- protocol clients ---------------------------------------------------------------------------------------


class JT808Client:
    """One terminal: TCP session with registration and authentication; ``report`` returns once acknowledged.

    Platform commands arriving while it waits for an acknowledgement are obeyed on the spot (``obey``), as a
    terminal's single receive loop does; ``commands`` keeps each one received (header, body) for tests to count.
    ``answering=False`` makes a terminal that receives but never answers (for resend tests).
    """

    def __init__(self, unit: SimUnit, host: str, port: int, *, answering: bool = True):
        self.unit, self.host, self.port = unit, host, port
        self.answering = answering
        self.reader = self.writer = None
        self.serial = 0
        self.splitter = jt808.FrameSplitter()
        self.inbox: list[bytes] = []
        self.commands: list[tuple[jt808.Header, jt808.Body]] = []

    async def _send(self, body) -> int:
        self.serial = (self.serial + 1) & 0xFFFF
        self.writer.write(jt808.encode_frame(jt808.Header(body.MSG_ID, self.unit.phone, self.serial), body))
        await self.writer.drain()
        return self.serial

    async def obey(self, header: jt808.Header, body: jt808.Body) -> None:
        """Carry out one platform command and answer it as the standard says."""
        self.commands.append((header, body))
        if not self.answering:
            return
        unit, ok = self.unit, jt808.GeneralResult.SUCCESS
        if isinstance(body, jt808.PositionQuery):
            await self._send(jt808.PositionAnswer(header.serial, unit_location(unit, datetime.now(UTC))))
            return
        if isinstance(body, jt808.QueryAllParams | jt808.QueryParams):
            ids = body.ids if isinstance(body, jt808.QueryParams) else sorted(unit.params)
            items = tuple((i, unit.params[i]) for i in ids if i in unit.params)
            await self._send(jt808.TerminalParams(header.serial, items))
            return
        if isinstance(body, jt808.VehicleControl):
            lock = body.items[0][1] if body.items else body.flag & 1
            await self._send(jt808.TerminalResponse(header.serial, header.msg_id, ok))
            unit.doors_locked = bool(lock)
            await self._send(jt808.ControlAnswer(header.serial, unit_location(unit, datetime.now(UTC))))
            return
        if isinstance(body, jt808.TemporaryTracking):
            unit.tracking_s = body.interval_s or None
            unit.tracking_until = time.monotonic() + body.validity_s
        elif isinstance(body, jt808.SetParams):
            unit.params.update(body.params)
        elif not isinstance(body, jt808.TextMessage | jt808.CallBack):
            ok = jt808.GeneralResult.UNSUPPORTED
        await self._send(jt808.TerminalResponse(header.serial, header.msg_id, ok))

    async def _receive(self) -> jt808.Message:
        while not self.inbox:
            data = await asyncio.wait_for(self.reader.read(4096), ACK_TIMEOUT_S)
            if not data:
                raise ConnectionError("ingest closed the connection")
            self.inbox += self.splitter.feed(data)
        return jt808.decode_frame(self.inbox.pop(0))

    async def _reply_to(self, serial: int, msg_id: int):
        while True:
            message = await self._receive()
            body = message.body
            if message.header.msg_id not in (MsgId.PLATFORM_RESPONSE, MsgId.REGISTER_RESPONSE):
                await self.obey(message.header, body)
                continue
            if isinstance(body, jt808.RegisterResponse) and msg_id == MsgId.REGISTER and body.reply_serial == serial:
                return body
            if isinstance(body, jt808.PlatformResponse) and (body.reply_serial, body.reply_id) == (serial, msg_id):
                return body

    async def connect(self) -> None:
        self.close()
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        self.splitter, self.inbox = jt808.FrameSplitter(), []
        if not self.unit.auth_code:  # a new terminal registers once, and keeps its code
            terminal_id = f"{self.unit.vehicle_id:07d}"
            serial = await self._send(jt808.Register(44, 300, "CITYO", "SIM", terminal_id, 1, self.unit.plate))
            registered = await self._reply_to(serial, MsgId.REGISTER)
            if registered.result != RegisterResult.SUCCESS:
                raise PermissionError(f"{self.unit.call_sign}: registration refused ({registered.result})")
            self.unit.auth_code = registered.auth_code
        serial = await self._send(jt808.Authenticate(self.unit.auth_code))
        if (await self._reply_to(serial, MsgId.AUTHENTICATE)).result != GeneralResult.SUCCESS:
            raise PermissionError(f"{self.unit.call_sign}: authentication refused")

    async def report(self, fix: jt808.Location) -> bool:
        if self.writer is None:
            await self.connect()
        serial = await self._send(fix)
        return (await self._reply_to(serial, MsgId.LOCATION)).result == GeneralResult.SUCCESS

    async def heartbeat(self) -> None:
        """0x0002 and its acknowledgement (commands in between are obeyed): how an idle terminal keeps in touch."""
        if self.writer is None:
            await self.connect()
        serial = await self._send(jt808.Heartbeat())
        await self._reply_to(serial, MsgId.HEARTBEAT)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


class OsmAndClient:
    """One phone: an HTTP GET per position (speed in knots, time in Unix milliseconds); 200 is the ack."""

    def __init__(self, unit: SimUnit, url: str):
        self.unit, self.url = unit, url

    async def connect(self) -> None:
        pass

    async def report(self, fix: jt808.Location) -> bool:
        query = urllib.parse.urlencode(
            {
                "id": self.unit.osmand_token,
                "lat": f"{fix.latitude:.6f}",
                "lon": f"{fix.longitude:.6f}",
                "timestamp": int(fix.time.timestamp() * 1000),
                "speed": f"{fix.speed_kmh / 1.852:.2f}",
                "bearing": fix.direction,
                "altitude": fix.altitude,
            }
        )
        return await asyncio.to_thread(_get_ok, f"{self.url}?{query}")

    def close(self) -> None:
        pass


def _get_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=ACK_TIMEOUT_S) as response:  # noqa: S310 (our own endpoint)
            return response.status == 200
    except urllib.error.HTTPError as exc:  # a refused position is answered, not lost: do not resend it
        log.warning("OsmAnd position refused: %s %s", exc.code, exc.read()[:200])
        return False


# -- the fleet ----------------------------------------------------------------------------------------------


@dataclass
class Options:
    jt808: tuple[str, int] | None = None
    osmand: str | None = None
    vehicles: int | None = None  # None: all
    speedup: float = 1.0
    interval: float = 1.0
    duration: float = 0.0  # 0: until stopped
    answer_incidents: bool = False
    wander: bool = False
    acked_log: str | None = None
    seed: int = 808


def load_units(limit: int | None, jt808_wanted: bool) -> list[SimUnit]:
    from .models import Alarm, Vehicle

    close_old_connections()
    sos = set(Alarm.objects.filter(kind=Alarm.Kind.SOS, cleared_at__isnull=True).values_list("vehicle_id", flat=True))
    rows = Vehicle.objects.select_related("station").order_by("pk")
    if jt808_wanted:
        rows = rows.filter(jt808_phone__isnull=False)
    units = []
    for v in rows[:limit] if limit else rows:
        home = v.station.geom if v.station_id else v.last_position
        here = v.last_position or home
        if here is None:
            continue
        units.append(
            SimUnit(
                v.pk, v.call_sign, v.kind, v.plate, v.jt808_phone, v.osmand_id, here.x, here.y, (home.x, home.y),
                sos=v.pk in sos,
                auth_code=v.jt808_auth_code,
            )
        )  # fmt: skip
    return units


def issue_osmand_tokens(units: list[SimUnit]) -> None:
    """The simulated phones get fresh device tokens (as an administrator would issue them): a simulator is for the
    demo and benchmarks, never for a fleet whose real phones hold tokens."""
    from .models import Vehicle
    from .tracks import issue_osmand_token

    close_old_connections()
    vehicles = Vehicle.objects.in_bulk([unit.vehicle_id for unit in units])
    for unit in units:
        unit.osmand_token = issue_osmand_token(None, vehicles[unit.vehicle_id])


def load_destinations(vehicle_ids: list[int]) -> dict[int, tuple[float, float]]:
    """Where each unit must go now: its incident (dispatched or en route) or its station (returning)."""
    from .models import Assignment

    close_old_connections()
    rows = Assignment.objects.filter(vehicle_id__in=vehicle_ids, status__in=["dispatched", "en_route", "returning"])
    destinations = {}
    for a in rows.select_related("incident", "vehicle__station"):
        if a.status == "returning":
            if a.vehicle.station_id:
                destinations[a.vehicle_id] = a.vehicle.station.geom.coords
        else:
            destinations[a.vehicle_id] = a.incident.geom.coords
    return destinations


def load_router() -> Router:
    from .selectors import road_graph

    close_old_connections()
    return Router(road_graph())


class Fleet:
    def __init__(self, options: Options, units: list[SimUnit], router: Router):
        self.options, self.units, self.router = options, units, router
        self.rng = np.random.default_rng(options.seed)
        self.clients = {}
        for i, unit in enumerate(units):
            use_osmand = options.osmand and (options.jt808 is None or i % 2 == 1)
            if use_osmand and unit.osmand_id:
                self.clients[unit.vehicle_id] = OsmAndClient(unit, options.osmand)
            elif options.jt808 and unit.phone:
                self.clients[unit.vehicle_id] = JT808Client(unit, *options.jt808)
        self.units = [u for u in units if u.vehicle_id in self.clients]
        self.pending: dict[int, jt808.Location] = {}  # sent but not acknowledged: resent as is
        self.acked = 0
        self.stopping = asyncio.Event()
        self._log = open(options.acked_log, "a", encoding="utf-8") if options.acked_log else None  # noqa: SIM115

    def steer(self, destinations: dict[int, tuple[float, float]]) -> None:
        for unit in self.units:
            target = destinations.get(unit.vehicle_id)
            if target is None and self.options.wander and not unit.path and self.router.graph is not None:
                target = self.router.random_destination(self.rng, (unit.lon, unit.lat))
            if target is not None and target != unit.destination:
                unit.destination = target
                unit.path = self.router.route((unit.lon, unit.lat), target)
            elif target is None and unit.destination is not None and not self.options.wander:
                unit.destination, unit.path = None, []

    def move(self, seconds: float) -> None:
        for unit in self.units:
            advance(unit, seconds * self.options.speedup, DRIVE_SPEED_KMH)

    def fix_for(self, unit: SimUnit) -> jt808.Location | None:
        if unit.vehicle_id in self.pending:
            return self.pending[unit.vehicle_id]
        now = datetime.now(UTC).replace(microsecond=0)
        if unit.last_sent is not None and now <= unit.last_sent:
            return None  # JT/T 808 times have whole seconds: one fix per second per unit
        if unit.tracking_s is not None and time.monotonic() >= unit.tracking_until:
            unit.tracking_s = None  # temporary tracking ran out: back to the periodic reports
        if unit.tracking_s is not None and (now - unit.last_sent).total_seconds() < unit.tracking_s:
            return None
        unit.last_sent = now
        fix = unit_location(unit, now)
        self.pending[unit.vehicle_id] = fix
        return fix

    async def send(self, unit: SimUnit) -> None:
        fix = self.fix_for(unit)
        if fix is None:
            return
        client = self.clients[unit.vehicle_id]
        try:
            await client.report(fix)
        except PermissionError as exc:  # refused by the platform: retried, but worth a warning
            log.warning("%s", exc)
            client.close()
            return
        except (OSError, TimeoutError, jt808.JT808Error) as exc:  # ingest down or restarting
            log.info("%s: %r; will reconnect and resend", unit.call_sign, exc)
            client.close()
            return
        del self.pending[unit.vehicle_id]  # acknowledged (stored, or refused for good): never resent
        self.acked += 1
        if self._log is not None:
            terminal = unit.phone if isinstance(client, JT808Client) else osmand_terminal(unit.osmand_id)
            self._log.write(f"{terminal} {fix.time.isoformat()}\n")
            self._log.flush()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        started = last = loop.time()
        tick = 0
        while not self.stopping.is_set():
            if self.options.duration and loop.time() - started >= self.options.duration:
                break
            if self.options.answer_incidents and tick % max(1, round(1 / self.options.interval)) == 0:
                self.steer(await asyncio.to_thread(load_destinations, [u.vehicle_id for u in self.units]))
            elif self.options.wander:
                self.steer({})
            now = loop.time()
            self.move(now - last)
            last = now
            await asyncio.gather(*(self.send(unit) for unit in self.units))
            tick += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), max(0.0, self.options.interval - (loop.time() - now)))
        for client in self.clients.values():
            client.close()
        if self._log is not None:
            self._log.close()


async def simulate(options: Options) -> Fleet:
    units = await asyncio.to_thread(load_units, options.vehicles, options.osmand is None)
    router = await asyncio.to_thread(load_router)
    fleet = Fleet(options, units, router)
    await asyncio.to_thread(
        issue_osmand_tokens, [c.unit for c in fleet.clients.values() if isinstance(c, OsmAndClient)]
    )
    jt808_count = sum(isinstance(c, JT808Client) for c in fleet.clients.values())
    log.info("simulating %d units (%d as JT/T 808 terminals)", len(fleet.units), jt808_count)
    return fleet
