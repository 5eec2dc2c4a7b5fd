"""The platform's health in one reading: each component up, degraded, down (or unknown), and the figures behind it.

`read()` is the one selector behind /metrics, GET /api/core/health/, the admin page 系统状态 and the trouble alarm
(`keep_watch`, run by the case-timer process). Every figure lives in PostgreSQL or Redis, never in one process's
memory, so each web worker gives the same answer: the ingest and case-timer loops write heartbeats (Redis keys with a
time to live), GPS fixes are counted in Redis by the one ingest path, each web process keeps a Redis key with its
open consoles (expiring with the process), and the events published are the event log's head.

The probes use their own connections with short timeouts, so a hung dependency makes the reading say "down" within
about two seconds instead of waiting on the web's connection pool.
"""

import csv
import io
import logging
import os
import socket
import threading
import time
import urllib.request
from dataclasses import asdict, dataclass, field

import psycopg
import redis
from django.conf import settings
from django.db import connection, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

UP, DEGRADED, DOWN, UNKNOWN = "up", "degraded", "down", "unknown"
COMPONENTS = ("database", "redis", "gps_ingest", "case_timers", "web_nodes", "ingest_nodes")
# On a replicated installation, the nodes as the load balancer's own checks see them: component → HAProxy proxy.
NODE_POOLS = {"web_nodes": "web_nodes", "ingest_nodes": "jt808"}
BEAT_EVERY_S = 5.0
HEARTBEAT_TTL_S = 3 * BEAT_EVERY_S  # a loop that missed three beats is down
CONSOLES_TTL_S = 30.0  # a killed web process's consoles stop counting after this
RATE_WINDOW_S = 60  # GPS fixes per second: averaged over the last minute, in 10 s buckets
_BUCKET_S = 10
_PREFIX = "cityops:health:"
COMPONENT_LABELS = {
    "database": gettext_lazy("Database (PostgreSQL)"),
    "redis": gettext_lazy("Redis"),
    "gps_ingest": gettext_lazy("GPS ingest (JT/T 808)"),
    "case_timers": gettext_lazy("Case timers"),
    "web_nodes": gettext_lazy("Web nodes"),
    "ingest_nodes": gettext_lazy("GPS ingest nodes"),
}
STATUS_LABELS = {UP: gettext_lazy("up"), DEGRADED: gettext_lazy("degraded"), DOWN: gettext_lazy("down"),
                 UNKNOWN: gettext_lazy("unknown")}  # fmt: skip

log = logging.getLogger(__name__)


@dataclass
class Component:
    name: str
    status: str
    detail: str = ""


@dataclass
class Standby:
    name: str
    state: str
    sync_state: str
    lag_seconds: float | None


@dataclass
class Reading:
    """One look at the platform; `status` is the worst of the components' (unknown counts as degraded)."""

    components: list[Component]
    standbys: list[Standby] = field(default_factory=list)
    replication_lag_seconds: float | None = None  # the largest replay lag of a standby (or of this server, if one)
    gps_fixes_total: int | None = None
    gps_fixes_per_second: float | None = None
    consoles_connected: int | None = None
    events_published_total: int | None = None
    at: float = field(default_factory=time.time)

    @property
    def status(self) -> str:
        statuses = {c.status for c in self.components}
        if DOWN in statuses:
            return DOWN
        return UP if statuses == {UP} else DEGRADED

    def as_dict(self) -> dict:
        """The shape of GET /api/core/health/ (core.api.HealthSerializer)."""
        components = [{**asdict(c), "label": str(COMPONENT_LABELS[c.name])} for c in self.components]
        return {**asdict(self), "status": self.status, "components": components}


_clients: dict[int, redis.Redis] = {}


def redis_client() -> redis.Redis:
    """This process's client with short timeouts (a new one after a fork or a change of settings.REDIS_URL)."""
    key = hash((os.getpid(), settings.REDIS_URL))
    if key not in _clients:
        _clients[key] = redis.Redis.from_url(
            settings.REDIS_URL, socket_timeout=settings.CITYOPS_HEALTH_TIMEOUT_S,
            socket_connect_timeout=settings.CITYOPS_HEALTH_TIMEOUT_S,
        )  # fmt: skip
    return _clients[key]


def beat(component: str) -> None:
    """Say that `component`'s loop is alive; call it at least every BEAT_EVERY_S. A Redis outage only logs."""
    try:
        redis_client().set(f"{_PREFIX}heartbeat:{component}", time.time(), ex=int(HEARTBEAT_TTL_S))
    except redis.RedisError as exc:
        log.warning("heartbeat of %s not written: %s", component, exc)


class _FixCount:
    """Fixes stored but not yet counted in Redis. After a Redis failure the writers do not try again for
    BEAT_EVERY_S (a hung Redis would otherwise hold every batch for the probe timeout); the count is added later."""

    lock = threading.Lock()
    pending = 0
    retry_at = 0.0


def count_fixes(count: int) -> None:
    """Count GPS fixes stored (all paths call it through dispatch.tracks.ingest_fixes); a Redis outage only logs."""
    with _FixCount.lock:
        _FixCount.pending += count
        if _FixCount.pending <= 0 or time.monotonic() < _FixCount.retry_at:
            return
        count, _FixCount.pending = _FixCount.pending, 0
        bucket = f"{_PREFIX}gps_fixes:{int(time.time()) // _BUCKET_S}"
        try:
            with redis_client().pipeline(transaction=False) as pipe:
                pipe.incrby(f"{_PREFIX}gps_fixes_total", count).incrby(bucket, count).expire(bucket, RATE_WINDOW_S * 2)
                pipe.execute()
        except redis.RedisError as exc:
            _FixCount.pending += count
            _FixCount.retry_at = time.monotonic() + BEAT_EVERY_S
            log.warning("%d GPS fixes not counted yet: %s", count, exc)


class _Consoles:
    """This web process's open consoles, published as a Redis key that expires if the process dies."""

    count = 0
    reporting_pid = 0
    key = ""

    @classmethod
    def changed(cls, by: int) -> None:
        from .events import call_later  # the fan-out thread writes to Redis, not the console's event loop

        cls.count += by
        if cls.reporting_pid != os.getpid():
            cls.reporting_pid = os.getpid()
            cls.key = f"{_PREFIX}consoles:{socket.gethostname()}:{os.getpid()}"
            call_later(CONSOLES_TTL_S / 3, cls._report_and_repeat)
        call_later(0, cls._report)

    @classmethod
    def _report(cls) -> None:
        try:
            redis_client().set(cls.key, cls.count, ex=int(CONSOLES_TTL_S))
        except redis.RedisError as exc:
            log.warning("console count not written: %s", exc)

    @classmethod
    def _report_and_repeat(cls) -> None:
        from .events import call_later

        cls._report()
        call_later(CONSOLES_TTL_S / 3, cls._report_and_repeat)


def console_opened() -> None:
    _Consoles.changed(+1)


def console_closed() -> None:
    _Consoles.changed(-1)


def probe_connection() -> psycopg.Connection:
    """A connection of its own with short timeouts, never the request pool's (which may be waiting on a dead server
    itself); libpq waits at least 2 s to connect. The health probes use it, and so do the work caps
    (core.limits), whose slots are locks that must go with their connection."""
    db = settings.DATABASES["default"]
    return psycopg.connect(
        host=db["HOST"], port=db["PORT"] or None, dbname=db["NAME"], user=db["USER"], password=db["PASSWORD"] or None,
        connect_timeout=max(2, round(settings.CITYOPS_HEALTH_TIMEOUT_S)),
        options=f"-c statement_timeout={int(settings.CITYOPS_HEALTH_TIMEOUT_S * 1000)}",
    )  # fmt: skip


def _database() -> tuple[Component, list[Standby], float | None, int | None]:
    try:
        with probe_connection() as conn:
            head = conn.execute("SELECT coalesce(max(seq), 0) FROM core_event").fetchone()[0]
            standbys = [
                Standby(name, state, sync_state, lag)
                for name, state, sync_state, lag in conn.execute(
                    "SELECT application_name, state, sync_state, extract(epoch FROM replay_lag)::float8"
                    " FROM pg_stat_replication ORDER BY application_name"
                )
            ]
            own_lag = conn.execute(
                "SELECT CASE WHEN pg_is_in_recovery()"
                " THEN extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8 END"
            ).fetchone()[0]
    except psycopg.Error as exc:
        return Component("database", DOWN, f"{type(exc).__name__}: {str(exc).strip().splitlines()[0]}"), [], None, None
    lags = [s.lag_seconds for s in standbys if s.lag_seconds is not None] + ([own_lag] if own_lag is not None else [])
    lag = max(lags, default=None)
    if lag is not None and lag > settings.CITYOPS_HEALTH_MAX_LAG_S:
        return Component("database", DEGRADED, _("replication lag %.1f s") % lag), standbys, lag, head
    return Component("database", UP), standbys, lag, head


def _nodes() -> list[Component]:
    """Each node pool as HAProxy's health checks see it (settings.CITYOPS_HAPROXY_STATS_URL; none on a single
    node): up when every node serves, degraded naming the nodes that do not, down when none does."""
    url = settings.CITYOPS_HAPROXY_STATS_URL
    if not url:
        return []
    if not url.startswith(("http://", "https://")):
        return [Component(name, UNKNOWN, _("the load balancer's address is not http(s)")) for name in NODE_POOLS]
    stats = url.rstrip("/") + "/;csv"
    try:
        with urllib.request.urlopen(stats, timeout=settings.CITYOPS_HEALTH_TIMEOUT_S) as answer:  # noqa: S310 - http(s) only
            text = answer.read().decode()
    except (OSError, ValueError) as exc:
        return [Component(name, UNKNOWN, _("load balancer unreachable: %s") % exc) for name in NODE_POOLS]
    rows = list(csv.DictReader(io.StringIO(text.removeprefix("# "))))
    components = []
    for name, proxy in NODE_POOLS.items():
        servers = [r for r in rows if r["pxname"] == proxy and r["svname"] not in ("FRONTEND", "BACKEND")]
        idle = [r["svname"] for r in servers if not r["status"].startswith("UP")]
        if not servers:
            components.append(Component(name, UNKNOWN, _("the load balancer has no pool %s") % proxy))
        elif len(idle) == len(servers):
            components.append(Component(name, DOWN, _("not serving: %s") % ", ".join(idle)))
        elif idle:
            components.append(Component(name, DEGRADED, _("not serving: %s") % ", ".join(idle)))
        else:
            components.append(Component(name, UP))
    return components


def read() -> Reading:
    """Probe PostgreSQL, Redis and the load balancer now and read the heartbeats and counters."""
    database, standbys, lag, head = _database()
    reading = Reading([database, *_nodes()], standbys, lag, events_published_total=head)
    current = int(time.time()) // _BUCKET_S  # the bucket being filled is left out: the rate is of complete ones
    buckets = [f"{_PREFIX}gps_fixes:{b}" for b in range(current - RATE_WINDOW_S // _BUCKET_S, current)]
    try:
        client = redis_client()
        consoles = [key for key in client.scan_iter(f"{_PREFIX}consoles:*", count=1000)]
        with client.pipeline(transaction=False) as pipe:
            pipe.get(f"{_PREFIX}heartbeat:gps_ingest").get(f"{_PREFIX}heartbeat:case_timers")
            pipe.get(f"{_PREFIX}gps_fixes_total").mget(buckets)
            if consoles:
                pipe.mget(consoles)
            ingest_beat, timers_beat, fixes, recent, *open_consoles = pipe.execute()
    except redis.RedisError as exc:
        reason = f"{type(exc).__name__}: {exc}"
        unknown = _("Redis unreachable: heartbeat unknown")
        reading.components += [Component("redis", DOWN, reason), Component("gps_ingest", UNKNOWN, unknown),
                               Component("case_timers", UNKNOWN, unknown)]  # fmt: skip
        return reading
    reading.components.append(Component("redis", UP))
    for name, beat_at in (("gps_ingest", ingest_beat), ("case_timers", timers_beat)):
        if beat_at is None:
            reading.components.append(Component(name, DOWN, _("no heartbeat for %d s") % HEARTBEAT_TTL_S))
        else:
            reading.components.append(Component(name, UP))
    reading.gps_fixes_total = int(fixes or 0)
    reading.gps_fixes_per_second = sum(int(n or 0) for n in recent) / RATE_WINDOW_S
    reading.consoles_connected = sum(int(n or 0) for n in (open_consoles[0] if open_consoles else []))
    return reading


class Watch:
    """The trouble alarm: one `system.component_down` on the live feed's alarms topic (and an audit row) when a
    component turns down, one `system.component_up` when it is back. What was last announced is read from the event
    log, so a restarted watcher neither repeats nor forgets an alarm. A database outage cannot be written while it
    lasts: it is announced, with its start, as soon as the database answers again. A missing heartbeat counts only
    once the watcher has run for HEARTBEAT_TTL_S: the loops started with it have not beaten yet."""

    HEARTBEATS = ("gps_ingest", "case_timers")

    def __init__(self):
        self.announced: dict[str, str] = {}
        self.unannounced_down: dict[str, tuple[float, str]] = {}  # seen down, not yet written: since, detail
        self.started = time.monotonic()

    def check(self, reading: Reading) -> None:
        starting = time.monotonic() - self.started < HEARTBEAT_TTL_S
        for component in reading.components:
            if component.status == UNKNOWN or (starting and component.name in self.HEARTBEATS):
                continue
            if component.status == DOWN:
                self.unannounced_down.setdefault(component.name, (reading.at, component.detail))
            try:
                self._announce(component)
            except Exception as exc:  # the database is away: try again at the next check
                log.warning("health alarm for %s not written yet: %s", component.name, exc)

    def _announce(self, component: Component) -> None:
        """Publish what is due for the component. Each host's case-timer process watches: under the event log's
        lock, what was last announced is read again, so a second watcher repeats nothing the first one wrote."""
        from .events import EVENT_LOCK_KEY, publish_many
        from .services import record_audit

        name = component.name
        if name not in self.announced:
            self.announced[name] = self._last_announced(name)
        if self._due(name, component):
            with transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_xact_lock(%s)", [EVENT_LOCK_KEY])
                self.announced[name] = self._last_announced(name)
                events = self._due(name, component)
                for row in publish_many("alarms", events) if events else ():
                    record_audit(None, row.type, row, row.data["properties"]["message"])
            self.announced[name] = DOWN if component.status == DOWN else UP
        if component.status != DOWN or self.announced[name] == DOWN:
            self.unannounced_down.pop(name, None)

    @staticmethod
    def _last_announced(name: str) -> str:
        from .models import Event

        last = (
            Event.objects.filter(topic="alarms", type__startswith="system.component_", data__properties__component=name)
            .order_by("-seq").values_list("type", flat=True).first()
        )  # fmt: skip
        return DOWN if last == "system.component_down" else UP

    def _due(self, name: str, component: Component) -> list:
        """The alarm events the component's state calls for, given what was last announced."""
        pending = self.unannounced_down.get(name)
        events = []
        if pending and self.announced[name] != DOWN:
            since, detail = pending
            events.append(("system.component_down", self._feature(name, DOWN, detail, since), None, ()))
        if component.status != DOWN and (events or self.announced[name] == DOWN):
            events.append(("system.component_up", self._feature(name, component.status, ""), None, ()))
        return events

    @staticmethod
    def _feature(name: str, status: str, detail: str, since: float | None = None) -> dict:
        label = str(COMPONENT_LABELS[name])
        message = _("%(component)s is down: %(detail)s") if status == DOWN else _("%(component)s is back")
        return {
            "type": "Feature",
            "geometry": None,
            "properties": {
                "kind": "system",
                "component": name,
                "component_label": label,
                "status": status,
                "message": message % {"component": label, "detail": detail},
                "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(since or time.time())),
            },
        }


def keep_watch(seconds: float, watch: Watch) -> None:
    """Wait `seconds` while beating for the case timers and checking the platform every BEAT_EVERY_S (the case-timer
    loop's sleep: the alarm needs no process of its own)."""
    deadline = time.monotonic() + seconds
    while True:
        beat("case_timers")
        watch.check(read())
        left = deadline - time.monotonic()
        if left <= 0:
            return
        time.sleep(min(BEAT_EVERY_S, left))
