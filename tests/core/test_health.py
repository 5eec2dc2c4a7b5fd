"""System health (core/health.py) against the real PostgreSQL and Redis: the JSON API and who may read it, /metrics
and its token, the admin page 系统状态, components reading down when their probe meets a closed port, the live
console count, and the trouble alarm on the live feed."""

import asyncio
import contextlib
import http.server
import socket
import threading
import time

import pytest
from django.db import connection
from django.test import Client, override_settings

from core import health
from core.models import AuditEntry, Event
from tests.openapi import validate
from tests.ops_socket import connect

pytestmark = pytest.mark.django_db


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens once the socket is closed


def _redis_down(settings):
    settings.REDIS_URL = f"redis://127.0.0.1:{_closed_port()}/0"


@contextlib.contextmanager
def _database_port_closed():
    """The probe (and any new connection of this process) meets a closed port; open connections are unaffected."""
    real = connection.settings_dict["PORT"]
    connection.settings_dict["PORT"] = _closed_port()
    try:
        yield
    finally:
        connection.settings_dict["PORT"] = real


def _statuses(reading: health.Reading) -> dict[str, str]:
    return {c.name: c.status for c in reading.components}


def test_the_api_reads_every_component_and_the_figures(api, demo_city):
    health.beat("gps_ingest")
    health.beat("case_timers")
    before = health.read().gps_fixes_total
    health.count_fixes(7)
    body = api("operator").get("/api/core/health/").json()
    assert {c["name"]: c["status"] for c in body["components"]} == {
        "database": "up", "redis": "up", "gps_ingest": "up", "case_timers": "up",
    }  # fmt: skip
    assert body["status"] == "up"
    assert body["gps_fixes_total"] == before + 7
    assert body["events_published_total"] == (Event.objects.order_by("-seq").values_list("seq", flat=True).first() or 0)
    assert body["standbys"] == [] and body["replication_lag_seconds"] is None  # the test database has no standby
    assert isinstance(body["consoles_connected"], int) and isinstance(body["gps_fixes_per_second"], float)
    validate(body, "Health")  # the shape the wall's panel relies on, as /api/schema/ declares it


@pytest.mark.parametrize("username, code", [("leader", 200), ("admin", 200), ("planner", 403), ("inspector", 403)])
def test_operators_leaders_and_administrators_read_it(api, username, code):
    assert api(username).get("/api/core/health/").status_code == code


def test_anonymous_is_refused(client):
    assert client.get("/api/core/health/").status_code in (401, 403)


def test_a_closed_redis_port_reads_redis_down_and_heartbeats_unknown(settings, api):
    _redis_down(settings)
    validate(api("operator").get("/api/core/health/").json(), "Health")  # null figures, unknown heartbeats
    reading = health.read()
    assert _statuses(reading) == {"database": "up", "redis": "down", "gps_ingest": "unknown", "case_timers": "unknown"}
    assert reading.status == "down" and reading.gps_fixes_total is None
    assert reading.events_published_total is not None  # read from PostgreSQL


def test_a_closed_database_port_reads_database_down_within_the_probe_timeout():
    with _database_port_closed():
        started = time.monotonic()
        reading = health.read()
    assert time.monotonic() - started < 3
    assert _statuses(reading)["database"] == "down" and "OperationalError" in reading.components[0].detail
    assert reading.events_published_total is None


def test_a_loop_without_heartbeat_reads_down(settings):
    health.redis_client().delete("cityops:health:heartbeat:case_timers")
    assert _statuses(health.read())["case_timers"] == "down"
    health.beat("case_timers")
    assert _statuses(health.read())["case_timers"] == "up"


def test_metrics_need_the_bearer_token(client, settings):
    settings.CITYOPS_METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 404
    settings.CITYOPS_METRICS_TOKEN = "scrape-secret"
    refused = client.get("/metrics", headers={"Authorization": "Bearer wrong"})
    assert refused.status_code == 401 and refused["WWW-Authenticate"] == "Bearer"
    health.beat("gps_ingest")
    response = client.get("/metrics", headers={"Authorization": "Bearer scrape-secret"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    for line in (
        'cityops_component_up{component="database"} 1.0',
        'cityops_component_up{component="gps_ingest"} 1.0',
        'cityops_component_status{component="redis",status="up"} 1.0',
        "# TYPE cityops_gps_fixes_total counter",
        "# TYPE cityops_events_published_total counter",
        "cityops_consoles_connected ",
    ):
        assert line in text


def test_metrics_show_a_down_component(client, settings):
    settings.CITYOPS_METRICS_TOKEN = "scrape-secret"
    _redis_down(settings)
    text = client.get("/metrics", headers={"Authorization": "Bearer scrape-secret"}).content.decode()
    assert 'cityops_component_up{component="redis"} 0.0' in text
    assert 'cityops_component_status{component="gps_ingest",status="unknown"} 1.0' in text


def test_the_admin_page_shows_the_reading_in_chinese(user_for, settings):
    _redis_down(settings)
    client = Client()
    client.force_login(user_for("admin"))
    with override_settings(LANGUAGE_CODE="zh-hans"):
        page = client.get("/admin/system-health/", headers={"Accept-Language": "zh-hans"})
        index = client.get("/admin/", headers={"Accept-Language": "zh-hans"})
    assert page.status_code == 200
    text = page.content.decode()
    assert "系统状态" in text and "故障" in text and "<script>" not in text
    assert "/admin/system-health/" in index.content.decode()


def test_the_admin_page_is_for_administrators(user_for):
    client = Client()
    client.force_login(user_for("operator"))
    assert client.get("/admin/system-health/").status_code in (302, 403)


def test_the_alarm_announces_a_component_going_down_once_and_coming_back(settings, demo_city):
    watch = health.Watch()
    real = settings.REDIS_URL
    _redis_down(settings)
    down = health.read()
    watch.check(down)
    watch.check(down)  # still down: no second alarm
    alarms = list(Event.objects.filter(type__startswith="system.component_").order_by("seq"))
    assert [(e.type, e.data["properties"]["component"]) for e in alarms] == [("system.component_down", "redis")]
    assert alarms[0].topic == "alarms" and alarms[0].data["geometry"] is None
    assert AuditEntry.objects.filter(action="system.component_down", target_id=str(alarms[0].seq)).exists()

    restarted = health.Watch()  # the case-timer process restarted: it reads what was announced from the event log
    settings.REDIS_URL = real
    health.beat("gps_ingest")
    health.beat("case_timers")
    restarted.check(health.read())
    alarms = Event.objects.filter(type__startswith="system.component_").order_by("seq")
    assert list(alarms.values_list("type", flat=True)) == ["system.component_down", "system.component_up"]
    assert AuditEntry.objects.filter(action="system.component_up").count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_database_outage_is_announced_when_the_database_answers_again(demo_city):
    watch = health.Watch()
    connection.close()
    with _database_port_closed():
        watch.check(health.read())  # neither the probe nor the alarm's write reaches the database
    assert not Event.objects.filter(type__startswith="system.component_").exists()
    watch.check(health.read())
    events = list(Event.objects.filter(type__startswith="system.component_").order_by("seq"))
    assert [(e.type, e.data["properties"]["component"]) for e in events] == [
        ("system.component_down", "database"), ("system.component_up", "database"),
    ]  # fmt: skip


@pytest.mark.django_db(transaction=True)
async def test_consoles_connected_counts_open_live_feeds(demo_city):
    async def consoles() -> int:
        return (await asyncio.to_thread(health.read)).consoles_connected

    async def settles(expected: int) -> bool:
        for _ in range(50):
            if await consoles() == expected:
                return True
            await asyncio.sleep(0.1)
        return False

    before = await consoles()
    communicator, accepted = await connect("operator")
    assert accepted
    assert await settles(before + 1)
    await communicator.disconnect()
    assert await settles(before)


def test_a_heartbeat_not_yet_written_at_start_up_raises_no_alarm(demo_city):
    health.redis_client().delete("cityops:health:heartbeat:case_timers")
    health.beat("gps_ingest")
    watch = health.Watch()  # started with the loops, which have not beaten yet
    watch.check(health.read())
    assert not Event.objects.filter(type__startswith="system.component_").exists()
    watch.started -= health.HEARTBEAT_TTL_S  # the start-up grace is over and still no heartbeat
    watch.check(health.read())
    alarm = Event.objects.get(type__startswith="system.component_")
    assert (alarm.type, alarm.data["properties"]["component"]) == ("system.component_down", "case_timers")


def test_fixes_stored_while_redis_is_away_are_counted_when_it_answers(settings):
    before = health.read().gps_fixes_total
    real = settings.REDIS_URL
    _redis_down(settings)
    health.count_fixes(3)
    started = time.monotonic()
    health.count_fixes(4)  # Redis is not tried again during the pause: the ingest's batch does not wait
    assert time.monotonic() - started < 0.05
    settings.REDIS_URL = real
    assert health.read().gps_fixes_total == before
    health._FixCount.retry_at = 0  # the pause is over
    health.count_fixes(1)
    assert health.read().gps_fixes_total == before + 8


HAPROXY_CSV = (
    "# pxname,svname,qcur,status,check_status\n"
    "web,FRONTEND,,OPEN,\n"
    "web_nodes,web-a,0,{web_a},L7OK\n"
    "web_nodes,web-b,0,{web_b},L7OK\n"
    "web_nodes,BACKEND,0,UP,\n"
    "jt808,ingest-a,0,{ingest_a},L4OK\n"
    "jt808,ingest-b,0,{ingest_b},L4OK\n"
    "postgres_primary,pg-b,0,DOWN,L7STS\n"  # a standby answers 503 on /primary: not a node fault
)


@contextlib.contextmanager
def haproxy_stats(**statuses):
    """A real HTTP server answering HAProxy's `/;csv` statistics with the servers' given statuses."""
    body = HAPROXY_CSV.format(**{"web_a": "UP", "web_b": "UP", "ingest_a": "UP", "ingest_b": "UP", **statuses})

    class Stats(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            found = self.path == "/;csv"
            self.send_response(200 if found else 404)
            self.end_headers()
            self.wfile.write(body.encode() if found else b"")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Stats)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()


@pytest.mark.parametrize(
    ("statuses", "web", "ingest"),
    [
        ({}, ("up", ""), ("up", "")),
        ({"web_b": "DOWN"}, ("degraded", "web-b"), ("up", "")),  # a web node killed or frozen (its /livez fails)
        ({"ingest_a": "DOWN 1/2"}, ("up", ""), ("degraded", "ingest-a")),  # coming back, not serving yet
        ({"web_a": "UP 1/3"}, ("up", ""), ("up", "")),  # a check failed, still serving
        ({"ingest_a": "DOWN", "ingest_b": "MAINT"}, ("up", ""), ("down", "ingest-a, ingest-b")),
    ],
)
def test_a_replicated_installation_shows_its_nodes_as_the_load_balancer_sees_them(settings, statuses, web, ingest):
    with haproxy_stats(**statuses) as url:
        settings.CITYOPS_HAPROXY_STATS_URL = url
        reading = {c.name: (c.status, c.detail) for c in health.read().components}
    for name, (status, servers) in (("web_nodes", web), ("ingest_nodes", ingest)):
        assert reading[name][0] == status and servers in reading[name][1], reading


def test_an_unreachable_load_balancer_reads_unknown_and_a_single_node_has_no_nodes(settings):
    settings.CITYOPS_HAPROXY_STATS_URL = f"http://127.0.0.1:{_closed_port()}/"
    nodes = {n: s for n, s in _statuses(health.read()).items() if n.endswith("_nodes")}
    assert nodes == {"web_nodes": "unknown", "ingest_nodes": "unknown"}
    settings.CITYOPS_HAPROXY_STATS_URL = ""
    assert not {n for n in _statuses(health.read()) if n.endswith("_nodes")}


def test_two_watchers_one_per_host_announce_each_change_once(settings, demo_city):
    """Each host's case-timer process watches; both saw what the other does not know it wrote."""
    first, second = health.Watch(), health.Watch()
    first.started = second.started = time.monotonic() - health.HEARTBEAT_TTL_S
    for watch in (first, second):
        watch.check(health.read())  # both learn that nothing is announced
    real = settings.REDIS_URL
    _redis_down(settings)
    down = health.read()
    first.check(down)
    second.check(down)
    settings.REDIS_URL = real
    health.beat("gps_ingest")
    health.beat("case_timers")
    back = health.read()
    second.check(back)
    first.check(back)
    alarms = Event.objects.filter(type__startswith="system.component_", data__properties__component="redis")
    assert list(alarms.order_by("seq").values_list("type", flat=True)) == [
        "system.component_down", "system.component_up",
    ]  # fmt: skip
