"""Fault drills on the replicated deployment: under live load, kill one component at a time and check that
nothing acknowledged is lost or duplicated and that every console gets every event once, in order.

Run on a started cluster (`bin/cityops cluster start`):
  .venv/bin/python bench/drill_cluster.py [--faults pg-primary redis-master ...] [--seconds 40] [--rate 1500]
Each drill runs its own load through HAProxy for --seconds, with the fault injected a third of the way in:
- GPS: --terminals JT/T 808 terminals (register, authenticate, --window frames in flight each); a terminal whose
  connection drops reconnects and resends what was not acknowledged (the key (terminal, fix time) makes a resend
  harmless). Acknowledged = the platform's general response to the frame.
- cases: reports on POST /api/grid/cases/ with an Idempotency-Key, retried with the same key until a 201.
- incidents: calls on POST /api/dispatch/incidents/ (not retried: a lost answer is not an acknowledgement);
  each carries a unique marker in its description.
- --consoles consoles on /ws/ops/ (incidents + cases); a dropped console reconnects with `since` = the last
  seq it got, as the wall does.
Afterwards the database is compared with what was acknowledged, and each console's seqs with the event log.
"Resume" is the longest stretch, after the fault, in which a load stream got no success (GPS ack, case 201,
incident 201, console event): the time until service resumed. Each host's supervisord restarts a killed process;
a killed host (its supervisord too) is started again by `bin/cityops cluster revive`. The cluster must be whole
again (sync standby streaming, Redis replica linked, both web nodes healthy; "whole s") before the next drill.
Prints one table row per fault.
"""

import argparse
import asyncio
import contextlib
import http.client
import itertools
import json
import multiprocessing as mp
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import web_session  # bench/: signing in through the login form

ROOT = Path(__file__).resolve().parents[1]
CLUSTER = ROOT / "var" / "cluster"
WEB_PORT, JT808_PORT = 57000, 57808
REST_PORTS = {"a": 57801, "b": 57802}
REDIS_PORTS = {"a": 57631, "b": 57632}
SENTINEL_PORTS = [57261, 57262, 57263]
WEB_NODE_PORTS = {"a": 57101, "b": 57102}
PHONE_BASE = 17_700_000_000
PASSWORD = os.environ.get("CITYOPS_DEMO_PASSWORD", "cityops-demo")
CATEGORIES = ["06010", "06012", "09009", "07001", "01002"]
# The database faults last: see README "Replicated deployment" on JT/T 808 authentication back-off behind HAProxy.
FAULTS = ["web-node", "ingest-node", "web-sigstop", "redis-master", "pg-primary", "host"]
# Seconds after the load ends by which every console must hold every event up to the head (else it failed).
DELIVERY_DEADLINE = 45

os.environ.update(
    DATABASE_URL="postgis://cityops@127.0.0.1:57400/cityops",
    REDIS_URL="redis://127.0.0.1:57600/0",
    CITYOPS_VAR_DIR=str(CLUSTER / "shared"),
    DJANGO_SETTINGS_MODULE="cityops.settings",
    CITYOPS_LOG_LEVEL="WARNING",
)
sys.path[:0] = [str(ROOT / "platform"), str(ROOT)]


# ------------------------------------------------------------------------------------------------ the cluster


def pid_of(name: str) -> int | None:
    """The pid of program `name` ("web-a", "haproxy", …) from its host's supervisord."""
    program, _, host = name.rpartition("-") if "-" in name else (name, "", "c")
    answer = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "supervisorctl"), "-c", str(CLUSTER / host / "supervisord.conf"), "pid", program],
        capture_output=True,
        text=True,
    ).stdout.strip()
    return int(answer) if answer.isdigit() and answer != "0" else None


def supervisord_pid(host: str) -> int | None:
    try:
        return int((CLUSTER / host / "run" / "supervisord.pid").read_text())
    except (OSError, ValueError):
        return None


def postmaster_pid(node: str) -> int | None:
    try:
        return int((CLUSTER / node / "pg" / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def http_status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return 0


def pg_primary_node() -> str:
    return next(node for node, port in REST_PORTS.items() if http_status(f"http://127.0.0.1:{port}/primary") == 200)


def redis_master_node() -> str:
    for port in SENTINEL_PORTS:
        answer = subprocess.run(
            ["redis-cli", "-p", str(port), "sentinel", "get-master-addr-by-name", "cityops"],
            capture_output=True,
            text=True,
        ).stdout.split()
        if len(answer) == 2:
            return next(node for node, p in REDIS_PORTS.items() if str(p) == answer[1])
    raise RuntimeError("no sentinel answers")


def kill(name: str, sig: int = signal.SIGKILL) -> None:
    pid = pid_of(name)
    if pid:
        os.kill(pid, sig)


def kill_database_node(node: str) -> None:
    """The database node dies: Patroni and its PostgreSQL at once."""
    for pid in filter(None, (postmaster_pid(node), pid_of(f"patroni-{node}"))):
        with contextlib.suppress(ProcessLookupError):  # a pid file may outlive its process
            os.kill(pid, signal.SIGKILL)


def inject(fault: str) -> tuple[str, callable]:
    """Injects `fault`; returns what was hit and what undoes it besides `revive` (for SIGSTOP: SIGCONT)."""
    if fault == "none":
        return "nothing (the control run: the same load without a fault)", lambda: None
    if fault == "pg-primary":
        node = pg_primary_node()
        kill_database_node(node)
        return f"PostgreSQL primary {node} (Patroni + postmaster, kill -9)", lambda: None
    if fault == "redis-master":
        node = redis_master_node()
        kill(f"redis-{node}")
        return f"Redis master {node} (kill -9)", lambda: None
    if fault == "web-node":
        kill("web-a")
        return "web node a (kill -9)", lambda: None
    if fault == "ingest-node":
        kill("ingest-a")
        return "ingest node a (kill -9)", lambda: None
    if fault == "web-sigstop":
        kill("web-b", signal.SIGSTOP)
        return "web node b (SIGSTOP 20 s)", lambda: kill("web-b", signal.SIGCONT)
    if fault == "host":
        node = pg_primary_node()
        programs = ("patroni", "redis", "sentinel", "etcd", "web", "ingest", "jt809-link")
        pids = [postmaster_pid(node), *(pid_of(f"{name}-{node}") for name in programs)]  # while it can answer
        os.kill(supervisord_pid(node), signal.SIGKILL)  # first, so that it restarts nothing
        for pid in filter(None, pids):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        return f"host {node} (every process, kill -9; it held the PG primary)", lambda: None
    raise ValueError(fault)


def cluster_whole() -> bool:
    """Sync standby streaming, Redis master with a linked replica, both web nodes healthy."""
    members = []
    for port in REST_PORTS.values():
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/cluster", timeout=2) as response:
                members = json.load(response)["members"]
                break
        except OSError:
            continue
    if not any(m["role"] == "sync_standby" and m["state"] in ("streaming", "running") for m in members):
        return False
    info = subprocess.run(["redis-cli", "-p", "57600", "info", "replication"], capture_output=True, text=True).stdout
    if "connected_slaves:1" not in info:
        return False
    return all(http_status(f"http://127.0.0.1:{port}/healthz") == 200 for port in WEB_NODE_PORTS.values())


def revive_and_wait(timeout: float = 120) -> float:
    started = time.monotonic()
    with (CLUSTER / "log" / "drill-revive.log").open("a") as log:
        subprocess.run(
            [str(ROOT / "bin" / "cityops"), "cluster", "revive"],
            check=True,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    while not cluster_whole():
        if time.monotonic() - started > timeout:
            raise SystemExit("the cluster did not become whole again; see var/cluster/log")
        time.sleep(0.5)
    return time.monotonic() - started


# ------------------------------------------------------------------------------------------------ set-up


def prepare(terminals: int, consoles: int) -> dict:
    import django

    django.setup()
    from django.test import Client

    from core.models import Organisation, User
    from dispatch.models import Incident, IncidentType, Vehicle
    from gis.models import Address

    # Earlier drills' calls are closed, so each drill's consoles start from a snapshot of the same size.
    Incident.objects.filter(description__startswith="drill-").exclude(status=Incident.Status.CLOSED).update(
        status=Incident.Status.CLOSED
    )

    agency, _ = Organisation.objects.get_or_create(
        code="DRILL-119", defaults={"name": "drill fire", "kind": "agency", "agency": "119"}
    )
    for n in range(terminals):
        Vehicle.objects.get_or_create(
            jt808_phone=str(PHONE_BASE + n),
            defaults={"call_sign": f"DRILL-{n:04d}", "kind": "fire_engine", "agency": agency},
        )
    cookies = []
    for n in range(consoles):  # one account per console, as on a real floor (connections per user are capped)
        user, _ = User.objects.get_or_create(username=f"drill-console-{n:03d}", defaults={"is_superuser": True})
        client = Client()
        client.force_login(user)
        cookies.append(client.cookies["sessionid"].value)
    points = [(p.x, p.y) for p in Address.objects.order_by("?").values_list("geom", flat=True)[:500]]
    incident_type = IncidentType.objects.filter(active=True).values_list("code", flat=True).first()
    return {"cookies": cookies, "points": points, "incident_type": incident_type}


def terminal_codes(terminals: int) -> list[str | None]:
    """What each terminal keeps from its registration (a code is given once): read before each drill, since the
    terminals of the drill before may have registered (None: not yet registered). The JT/T 808 failure counts are
    cleared too: every drill terminal shares the loopback address, and one drill's refusals must not cut off the
    next drill's terminals."""
    import redis
    from django.conf import settings

    from dispatch import device_security
    from dispatch.models import Vehicle

    client = redis.Redis.from_url(settings.REDIS_URL)
    for key in client.scan_iter(f"{device_security.key_prefix()}:*"):
        client.delete(key)

    codes = dict(
        Vehicle.objects.filter(jt808_phone__in=[str(PHONE_BASE + n) for n in range(terminals)]).values_list(
            "jt808_phone", "jt808_auth_code"
        )
    )
    return [codes.get(str(PHONE_BASE + n)) or None for n in range(terminals)]


# ------------------------------------------------------------------------------------------------ load


class HealthWatch(threading.Thread):
    """Reads the system-health API through HAProxy, as the wall's panel does, from the fault on: the first reading
    that shows a component not up, or that fails (the panel then reads "unreachable": while the database fails
    over, a signed-in request cannot be answered); its name, status and how long after the fault."""

    def __init__(self, cookie: str, fault_at: float, until: float):
        super().__init__(daemon=True)
        self.cookie, self.fault_at, self.until = cookie, fault_at, until
        self.shown: tuple[str, str, float] | None = None

    def run(self) -> None:
        while self.shown is None and time.monotonic() < self.until:
            request = urllib.request.Request(
                f"http://127.0.0.1:{WEB_PORT}/api/core/health/", headers={"Cookie": f"sessionid={self.cookie}"}
            )
            try:
                with urllib.request.urlopen(request, timeout=2) as answer:  # noqa: S310 - our http URL
                    faulty = [(c["name"], c["status"]) for c in json.load(answer)["components"] if c["status"] != "up"]
            except (OSError, ValueError):
                faulty = [("the health API", "unreachable")]
            if faulty:
                self.shown = (*faulty[0], time.monotonic() - self.fault_at)
            time.sleep(0.5)


class Timeline:
    """Success times of one load stream (monotonic clock, shared by the processes of this machine)."""

    def __init__(self):
        self.successes: list[float] = []

    def longest_gap_after(self, fault_at: float, until: float) -> tuple[float, float]:
        """The longest stretch without a success after the fault: its length and when it began (after the fault)."""
        times = [fault_at, *(t for t in self.successes if t > fault_at), until]
        gap, began = max((b - a, a) for a, b in itertools.pairwise(times))
        return gap, began - fault_at


class Terminal:
    """One JT/T 808 terminal reporting every `interval` seconds through HAProxy; on a dropped connection it
    reconnects, authenticates again and resends every frame not yet acknowledged."""

    def __init__(self, n: int, code: str | None, interval: float, window: int, base: datetime, acked, timeline):
        self.phone, self.n, self.interval, self.window, self.base = str(PHONE_BASE + n), n, interval, window, base
        self.acked, self.timeline = acked, timeline
        self.serial = self.frame_no = 0
        self.auth_code = code
        self.pending: dict[int, object] = {}  # frame number -> location, not yet acknowledged
        self.in_flight: dict[int, int] = {}  # serial -> frame number, on this connection

    async def run(self, until: float) -> None:
        while (time.monotonic() < until or self.pending) and time.monotonic() < until + 60:
            try:
                reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", JT808_PORT), 3)
            except (OSError, TimeoutError):
                await asyncio.sleep(0.5)
                continue
            try:
                await self.session(reader, writer, until)
            except (OSError, EOFError, TimeoutError, asyncio.IncompleteReadError):
                pass
            finally:
                writer.close()
            await asyncio.sleep(0.2)

    async def session(self, reader, writer, until: float) -> None:
        from dispatch import jt808

        splitter, inbox = jt808.FrameSplitter(), []
        self.in_flight = {}

        async def receive() -> jt808.Message:
            while not inbox:
                data = await asyncio.wait_for(reader.read(65536), 10)
                if not data:
                    raise EOFError
                inbox.extend(splitter.feed(data))
            return jt808.decode_frame(inbox.pop(0))

        def send(body) -> int:
            self.serial = self.serial % 65535 + 1
            writer.write(jt808.encode_frame(jt808.Header(body.MSG_ID, self.phone, self.serial), body))
            return self.serial

        async def acknowledgements() -> None:
            while True:
                number = self.in_flight.pop(getattr((await receive()).body, "reply_serial", -1), None)
                if number is not None and number in self.pending:
                    self.acked.append((self.phone, self.pending.pop(number).time.isoformat()))
                    self.timeline.append(time.monotonic())

        if self.auth_code is None:  # registered once; a reconnecting terminal only authenticates
            send(jt808.Register(44, 300, "DRILL", "D1", f"{self.n:07d}", 1, ""))
            self.auth_code = (await receive()).body.auth_code
        send(jt808.Authenticate(self.auth_code))
        await receive()
        for number, body in list(self.pending.items()):  # resend what was never acknowledged
            self.in_flight[send(body)] = number
        receiver = asyncio.ensure_future(acknowledgements())
        try:
            while time.monotonic() < until:
                if receiver.done():
                    receiver.result()
                if len(self.in_flight) < self.window:
                    self.frame_no += 1
                    body = jt808.Location(
                        jt808.Alarm(0),
                        jt808.Status.FIXED | jt808.Status.GPS,
                        22.5 + self.n * 1e-4,
                        114.0 + self.frame_no * 1e-5,
                        10,
                        40.0,
                        self.frame_no % 360,
                        self.base - timedelta(seconds=self.frame_no),
                    )
                    self.pending[self.frame_no] = body
                    self.in_flight[send(body)] = self.frame_no
                await asyncio.sleep(self.interval)
            await asyncio.wait_for(asyncio.shield(self.drained()), 15)
        finally:
            receiver.cancel()

    async def drained(self) -> None:
        while self.pending:
            await asyncio.sleep(0.1)


def gps_process(codes: list, rate: float, window: int, base: str, until: float, out) -> None:
    acked, timeline = [], []
    interval, start = len(codes) / rate, datetime.fromisoformat(base)

    async def run():
        await asyncio.gather(
            *(Terminal(n, code, interval, window, start, acked, timeline).run(until) for n, code in enumerate(codes))
        )

    asyncio.run(run())
    out.put(("gps", acked, timeline))


def post(path: str, body: dict, headers: dict) -> int:
    """One POST on a new connection through HAProxy; 0 when no answer came."""
    try:
        conn = http.client.HTTPConnection("127.0.0.1", WEB_PORT, timeout=10)
        conn.request("POST", path, json.dumps(body), {**headers, "Content-Type": "application/json"})
        response = conn.getresponse()
        response.read()
        conn.close()
        return response.status
    except OSError:
        return 0


def case_reporter(points, rate: float, until: float, acked: list, timeline: list) -> None:
    headers = web_session.sign_in(WEB_PORT, "inspector", PASSWORD)
    i = 0
    while time.monotonic() < until:
        i += 1
        key = f"drill-{uuid.uuid4()}"
        x, y = points[i % len(points)]
        body = {
            "category_code": CATEGORIES[i % len(CATEGORIES)],
            "description": "drill",
            "location": {"type": "Point", "coordinates": [x, y]},
        }
        for _ in range(60):  # the same key until the platform acknowledges it
            status = post("/api/grid/cases/", body, {**headers, "Idempotency-Key": key})
            if status == 201:
                acked.append(key)
                timeline.append(time.monotonic())
                break
            time.sleep(0.5)
        time.sleep(1 / rate)


def incident_caller(points, incident_type: str, rate: float, until: float, acked: list, sent: list, timeline):
    headers = web_session.sign_in(WEB_PORT, "operator", PASSWORD)
    i = 0
    while time.monotonic() < until:
        i += 1
        marker = f"drill-{uuid.uuid4()}"
        x, y = points[(i * 7) % len(points)]
        body = {
            "type_code": incident_type,
            "description": marker,
            "confirm_new": True,
            "location": {"type": "Point", "coordinates": [x, y]},
        }
        sent.append(marker)
        if post("/api/dispatch/incidents/", body, headers) == 201:
            acked.append(marker)
            timeline.append(time.monotonic())
        else:
            time.sleep(0.5)
        time.sleep(1 / rate)


def http_process(points, incident_type, case_rate, incident_rate, until, out) -> None:
    cases, incidents, sent, case_times, incident_times = [], [], [], [], []
    threads = [
        threading.Thread(target=case_reporter, args=(points, case_rate, until, cases, case_times)),
        threading.Thread(
            target=incident_caller, args=(points, incident_type, incident_rate, until, incidents, sent, incident_times)
        ),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    out.put(("http", cases, incidents, sent, case_times, incident_times))


async def console(cookie: str, shared, record: dict) -> None:
    """Runs until it holds every event up to `final` (the event-log head once the load has ended, set by the
    drill) or DELIVERY_DEADLINE seconds after the load: a console is judged on all events, not on a cut-off.
    `shared`: the drill's values (until, final, subscribed: consoles that have had their first answer)."""
    import websockets

    until, final = shared["until"], shared["final"]

    headers = {"Cookie": f"sessionid={cookie}", "Origin": f"http://127.0.0.1:{WEB_PORT}"}
    since = None

    def running() -> bool:
        done = final.value and since is not None and since >= final.value
        if done and "complete" not in record:
            record["complete"] = time.monotonic()
        return not done and time.monotonic() < until.value + DELIVERY_DEADLINE

    while running():
        try:
            async with websockets.connect(
                f"ws://127.0.0.1:{WEB_PORT}/ws/ops/",
                additional_headers=headers,
                max_size=2**24,
                open_timeout=5,
                ping_interval=2,
                ping_timeout=3,
            ) as ws:
                await ws.send(json.dumps({"op": "subscribe", "topics": ["incidents", "cases"], "since": since}))
                while running():
                    try:
                        message = json.loads(await asyncio.wait_for(ws.recv(), 1))
                    except TimeoutError:
                        continue
                    if message.get("op") == "subscribed":
                        if "first" not in record:
                            with shared["subscribed"].get_lock():
                                shared["subscribed"].value += 1
                        record.setdefault("first", message["seq"])
                        since = since if since is not None else message["seq"]
                    elif message.get("op") == "reset":
                        record["resets"] += 1
                    elif "seq" in message and "op" not in message:
                        record["seqs"].append(message["seq"])
                        record["times"].append(time.monotonic())
                        since = message["seq"]
        except Exception:  # any failure of the connection: reconnect, as the wall does
            record["reconnects"] += 1
            await asyncio.sleep(0.5)


def console_process(cookies: list[str], shared, out) -> None:
    records = [{"seqs": [], "times": [], "resets": 0, "reconnects": 0} for _ in cookies]

    async def run():
        await asyncio.gather(
            *(console(cookie, shared, record) for cookie, record in zip(cookies, records, strict=True))
        )

    asyncio.run(run())
    out.put(("consoles", records))


def event_head() -> int:
    from django.db import connection

    connection.close()  # opened before the fault: it may lead to a node that is gone
    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(max(seq), 0) FROM core_event WHERE topic IN ('incidents', 'cases')")
        return cursor.fetchone()[0]


# ------------------------------------------------------------------------------------------------ one drill


def verify(acked_fixes, cases, incidents, sent_incidents, records, final: int) -> dict:
    from django.db import connection

    connection.close()  # opened before the fault: it may lead to a node that is gone
    phones = sorted({phone for phone, _ in acked_fixes})
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT terminal, fix_time, count(*) FROM dispatch_track WHERE terminal = ANY(%s) "
            "GROUP BY terminal, fix_time",
            [phones],
        )
        stored = {(t, f.astimezone(UTC).isoformat()): c for t, f, c in cursor.fetchall()}
        cursor.execute(
            "SELECT idempotency_key, count(*) FROM grid_case WHERE idempotency_key = ANY(%s) GROUP BY 1", [cases]
        )
        case_rows = dict(cursor.fetchall())
        cursor.execute(
            "SELECT description, count(*) FROM dispatch_incident WHERE description = ANY(%s) GROUP BY 1",
            [sent_incidents],
        )
        incident_rows = dict(cursor.fetchall())
        first = min((r["first"] for r in records if "first" in r), default=0)
        cursor.execute(
            "SELECT seq FROM core_event WHERE topic IN ('incidents', 'cases') AND seq > %s AND seq <= %s ORDER BY seq",
            [first, final],
        )
        logged = [row[0] for row in cursor.fetchall()]
    acked_keys = {(phone, datetime.fromisoformat(at).astimezone(UTC).isoformat()) for phone, at in acked_fixes}
    consoles_ok = missing = duplicated = out_of_order = 0
    failing = []
    for record in records:
        seqs, start = [seq for seq in record["seqs"] if seq <= final], record.get("first", 0)
        expected = [seq for seq in logged if seq > start]
        consoles_ok += seqs == expected
        if seqs != expected and len(failing) < 5:
            failing.append(
                f"console got {len(seqs)}/{len(expected)} (first {start}, last {seqs[-1] if seqs else None}, "
                f"target {final}; first missing {min(set(expected) - set(seqs), default=None)}; "
                f"{record['reconnects']} reconnects)"
            )
        missing += len(set(expected) - set(seqs))
        duplicated += len(seqs) - len(set(seqs))
        out_of_order += sum(1 for a, b in itertools.pairwise(seqs) if b < a)
    return {
        "fixes": len(acked_keys),
        "fixes_lost": sum(1 for key in acked_keys if key not in stored),
        "fixes_dup": sum(1 for count in stored.values() if count > 1),
        "cases": len(cases),
        "cases_lost": sum(1 for key in cases if key not in case_rows),
        "cases_dup": sum(1 for count in case_rows.values() if count > 1),
        "incidents": len(incidents),
        "incidents_lost": sum(1 for marker in incidents if marker not in incident_rows),
        "incidents_dup": sum(1 for count in incident_rows.values() if count > 1),
        "consoles_ok": consoles_ok,
        "console_missing": missing,
        "console_duplicated": duplicated,
        "console_out_of_order": out_of_order,
        "consoles": len(records),
        "resets": sum(r["resets"] for r in records),
        "reconnects": sum(r["reconnects"] for r in records),
        "events": len(logged),
        "failing": failing,
    }


def drill(fault: str, index: int, args, setup: dict) -> dict:
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    # The consoles are up (snapshot received) before the load starts, as on a floor whose walls run for days.
    shared = {
        "until": ctx.Value("d", time.monotonic() + 3600),
        "final": ctx.Value("q", 0),  # the event-log head once the load is over: what every console must reach
        "subscribed": ctx.Value("i", 0),
    }
    final = shared["final"]
    consoles = ctx.Process(target=console_process, args=(setup["cookies"], shared, out))
    consoles.start()
    deadline = time.monotonic() + 120
    while shared["subscribed"].value < len(setup["cookies"]) and time.monotonic() < deadline:
        time.sleep(0.2)
    started = time.monotonic()
    until = started + args.seconds
    shared["until"].value = until
    base = (datetime.now(UTC) - timedelta(hours=1 + index)).replace(microsecond=0).isoformat()
    processes = [
        ctx.Process(target=gps_process, args=(setup["auth_codes"], args.rate, args.window, base, until, out)),
        ctx.Process(target=http_process, args=(setup["points"], setup["incident_type"], 5, 2, until, out)),
    ]
    for process in processes:
        process.start()
    processes.append(consoles)
    time.sleep(args.seconds / 3)
    fault_at = time.monotonic()
    watch = HealthWatch(setup["cookies"][0], fault_at, until)
    watch.start()
    what, undo = inject(fault)
    if fault == "web-sigstop":
        time.sleep(20)
    undo()
    results = {}
    for _ in processes:
        item = out.get(timeout=args.seconds + 180)
        results[item[0]] = item[1:]
        if "gps" in results and "http" in results and not final.value:
            final.value = event_head()
            load_over = time.monotonic()
    for process in processes:
        process.join()
    acked_fixes, gps_times = results["gps"]
    cases, incidents, sent, case_times, incident_times = results["http"]
    (records,) = results["consoles"]
    outcome = verify(acked_fixes, cases, incidents, sent, records, final.value)
    complete = [r["complete"] for r in records if "complete" in r]
    outcome["delivered_s"] = max(complete) - load_over if len(complete) == len(records) else float("nan")
    streams = {"gps": gps_times, "cases": case_times, "incidents": incident_times}
    streams["events"] = sorted(t for r in records for t in r["times"])
    resume, began = {}, {}
    for name, times in streams.items():
        timeline = Timeline()
        timeline.successes = times
        resume[name], began[name] = timeline.longest_gap_after(fault_at, until)
    gps_window = [t for t in gps_times if started + 3 < t < fault_at]
    rate = len(gps_window) / max(fault_at - started - 3, 1)
    heal = revive_and_wait()
    watch.join()
    outcome["health"] = "{} {} after {:.1f} s".format(*watch.shown) if watch.shown else "nothing shown"
    return {"fault": fault, "what": what, "rate": rate, "resume": resume, "began": began, "heal": heal, **outcome}


def print_table(rows: list[dict]) -> None:
    print()
    print(
        f"{'fault':<13} {'fix/s':>6} {'fixes':>7} {'lost':>4} {'dup':>3} {'cases':>5} {'l/d':>5} {'inc':>4} "
        f"{'l/d':>5} {'consoles ok':>11} {'rst':>3} {'resume s gps/case/inc/ws':>25} {'whole s':>7}"
    )
    for r in rows:
        resume = "/".join(f"{r['resume'][k]:.1f}" for k in ("gps", "cases", "incidents", "events"))
        print(
            f"{r['fault']:<13} {r['rate']:>6.0f} {r['fixes']:>7} {r['fixes_lost']:>4} {r['fixes_dup']:>3} "
            f"{r['cases']:>5} {r['cases_lost']:>2}/{r['cases_dup']:<2} {r['incidents']:>4} "
            f"{r['incidents_lost']:>2}/{r['incidents_dup']:<2} {r['consoles_ok']:>5}/{r['consoles']:<5} "
            f"{r['resets']:>3} {resume:>25} {r['heal']:>7.1f}"
        )
    print()
    for r in rows:
        print(
            f"{r['fault']}: {r['what']}; {r['events']} events, {r['reconnects']} console reconnects; over all "
            f"consoles {r['console_missing']} events missing, {r['console_duplicated']} duplicated, "
            f"{r['console_out_of_order']} out of order; every console held every event "
            f"{r['delivered_s']:.1f} s after the load ended (nan: not all within {DELIVERY_DEADLINE} s); the "
            "longest stretches began "
            + ", ".join(f"{name} +{r['began'][name]:.1f} s" for name in ("gps", "cases", "incidents", "events"))
            + f" after the fault; the health panel showed {r['health']}"
        )
        for line in r["failing"]:
            print(f"  {line}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faults", nargs="+", choices=["none", *FAULTS], default=FAULTS)
    parser.add_argument("--seconds", type=float, default=40)
    parser.add_argument("--terminals", type=int, default=100)
    parser.add_argument("--rate", type=float, default=1500, help="GPS fixes per second, all terminals together")
    parser.add_argument("--window", type=int, default=8, help="JT/T 808 frames in flight per terminal")
    parser.add_argument("--consoles", type=int, default=50)
    args = parser.parse_args()
    if not cluster_whole():
        revive_and_wait()
    setup = prepare(args.terminals, args.consoles)
    rows = []
    for index, fault in enumerate(args.faults):
        print(f"drill {fault} ...", flush=True)
        setup["auth_codes"] = terminal_codes(args.terminals)
        rows.append(drill(fault, index, args, setup))
    print_table(rows)
    failed = [
        r["fault"]
        for r in rows
        if not r["fixes"]  # no GPS load got through at all
        or r["fixes_lost"]
        or r["fixes_dup"]
        or r["cases_lost"]
        or r["cases_dup"]
        or r["incidents_lost"]
        or r["incidents_dup"]
        or r["consoles_ok"] != r["consoles"]
    ]
    if failed:
        print(f"FAILED: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
