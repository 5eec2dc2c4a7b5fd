"""GPS devices as attackers, against real servers (uvicorn; `manage.py run_gps_ingest`) started with low limits:
OsmAnd floods get 429 and store no more than the limit, wrong ids cannot be told apart even when limited, a source
guessing JT/T 808 auth codes is cut off with one alarm on a console and an audit row, and connections from one
address are capped. Each attacker speaks from its own loopback address (127.0.0.x)."""

import asyncio
import http.client
import secrets
import socket
from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest
from channels.db import database_sync_to_async

from core.models import AuditEntry, Event
from dispatch import jt808
from dispatch.demo import demo_terminal
from dispatch.jt808 import GeneralResult
from dispatch.models import TrackPoint, Vehicle
from dispatch.tracks import issue_osmand_token, register_jt808_terminal, release_jt808_registration, revoke_osmand_token
from tests.conftest import GpsIngestProcess, _test_process_env, uvicorn_server
from tests.dispatch.test_ingest import Terminal
from tests.ops_socket import connect

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("empty_track")]

DEVICE_RATE, ADDRESS_RATE = 5, 12  # positions a minute
FAILURE_LIMIT, CONNECTION_CAP = 3, 3
PHONE = demo_terminal(1)[0]



@pytest.fixture(scope="module")
def limited_web(django_db_setup):
    """A real uvicorn whose OsmAnd limits are low enough to reach in a test; yields its port."""
    env = {
        **_test_process_env(),
        "CITYOPS_DB_POOL": "1",
        "CITYOPS_OSMAND_DEVICE_RATE": f"{DEVICE_RATE}/minute",
        "CITYOPS_OSMAND_ADDRESS_RATE": f"{ADDRESS_RATE}/minute",
    }
    with uvicorn_server(env, "test-asgi-limited.log") as server:
        yield server.port


@pytest.fixture
def guarded_ingest(django_db_setup, monkeypatch):
    """A real JT/T 808 ingest process with a low failure limit and connection cap."""
    monkeypatch.setenv("CITYOPS_JT808_AUTH_FAILURE_LIMIT", str(FAILURE_LIMIT))
    monkeypatch.setenv("CITYOPS_JT808_CONNECTIONS_PER_ADDRESS", str(CONNECTION_CAP))
    ingest = GpsIngestProcess()
    ingest.start()
    yield ingest
    ingest.stop()


def position(port: int, source: str, device_id: str, second: int) -> http.client.HTTPResponse:
    """One OsmAnd position over HTTP from the loopback address `source`; the answer, read."""
    stamp = int(datetime.now(UTC).timestamp()) - 60 + second
    query = urlencode({"id": device_id, "lat": "22.55", "lon": f"{114.05 + second * 1e-4:.4f}", "timestamp": stamp})
    client = http.client.HTTPConnection("127.0.0.1", port, timeout=10, source_address=(source, 0))
    client.request("GET", f"/gps/osmand?{query}")
    response = client.getresponse()
    response.body = response.read()
    client.close()
    return response


def tokens(count: int) -> list[str]:
    return [issue_osmand_token(None, unit) for unit in Vehicle.objects.exclude(osmand_id=None).order_by("pk")[:count]]


def test_an_osmand_flood_from_one_address_gets_429_and_stores_no_more_than_the_limit(limited_web):
    devices = tokens(4)
    answers = [position(limited_web, "127.0.0.2", token, n) for n in range(4) for token in devices]
    assert [a.status for a in answers] == [200] * ADDRESS_RATE + [429] * (4 * len(devices) - ADDRESS_RATE)
    assert all(1 <= int(a.getheader("Retry-After")) <= 60 for a in answers if a.status == 429)
    assert TrackPoint.objects.count() == ADDRESS_RATE
    # the limit is the address's: the same phone from elsewhere goes on
    assert position(limited_web, "127.0.0.3", devices[0], 10).status == 200


def test_one_device_flooding_is_limited_from_any_address(limited_web):
    (token,) = tokens(1)
    answers = [position(limited_web, "127.0.0.4", token, n).status for n in range(DEVICE_RATE + 2)]
    assert answers == [200] * DEVICE_RATE + [429] * 2
    assert position(limited_web, "127.0.0.5", token, 20).status == 429
    assert TrackPoint.objects.count() == DEVICE_RATE


def test_wrong_ids_cannot_be_told_apart_even_when_rate_limited(limited_web):
    """A unit's plain device id, a rotated-out token and a guess get the same answers, and once limited the same
    429 as a real token: the limit is counted on whatever id arrives, before it is looked up."""
    unit = Vehicle.objects.exclude(osmand_id=None).order_by("pk").first()
    old = issue_osmand_token(None, unit)
    current = issue_osmand_token(None, unit)
    ids = {"127.0.0.6": unit.osmand_id, "127.0.0.7": old, "127.0.0.8": secrets.token_urlsafe(24)}
    seen = {
        source: [position(limited_web, source, id_, n) for n in range(DEVICE_RATE + 2)] for source, id_ in ids.items()
    }
    answers = {source: [(a.status, a.body) for a in replies] for source, replies in seen.items()}
    assert len({tuple(a) for a in answers.values()}) == 1
    assert [status for status, _ in answers["127.0.0.6"]] == [403] * DEVICE_RATE + [429] * 2
    real = [position(limited_web, "127.0.0.9", current, n) for n in range(DEVICE_RATE + 2)]
    assert [a.status for a in real] == [200] * DEVICE_RATE + [429] * 2
    limited = [a for replies in [*seen.values(), real] for a in replies if a.status == 429]
    assert len({(a.body, tuple(sorted(name for name, _ in a.getheaders()))) for a in limited}) == 1
    assert TrackPoint.objects.count() == DEVICE_RATE


async def terminal_from(port: int, source: str, phone: str = PHONE) -> Terminal:
    reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))
    return Terminal(phone, reader, writer)


async def closed_without_answer(terminal: Terminal) -> bool:
    try:
        await terminal.send(jt808.Heartbeat())
        await terminal.receive(timeout=5)
    except (EOFError, ConnectionError):
        return True
    return False


async def test_a_source_guessing_auth_codes_is_cut_off_with_one_alarm_and_an_audit_row(guarded_ingest):
    console, connected = await connect("operator")
    assert connected
    await console.send_json_to({"op": "subscribe", "topics": ["alarms"]})
    while (await console.receive_json_from(timeout=5))["op"] != "subscribed":
        pass
    unit = await Vehicle.objects.aget(jt808_phone=PHONE)
    code = await database_sync_to_async(register_jt808_terminal)(unit)

    guesser = await terminal_from(guarded_ingest.port, "127.0.0.20")
    for n in range(FAILURE_LIMIT):
        await guesser.send(jt808.Authenticate(f"guess-{n}"))
        assert (await guesser.receive()).body.result == GeneralResult.FAILURE
    with pytest.raises(EOFError):
        await guesser.receive()  # cut off after the last allowed failure

    alarm = await console.receive_json_from(timeout=10)
    assert (alarm["topic"], alarm["type"]) == ("alarms", "alarm.device_auth_failed")
    props = alarm["data"]["properties"]
    assert (props["kind"], props["source"], props["terminal"], props["vehicle_id"]) == (
        "device_auth_failed",
        "127.0.0.20",
        PHONE,
        unit.pk,
    )
    # the address stays cut off, even with the right code
    again = await terminal_from(guarded_ingest.port, "127.0.0.20")
    assert await closed_without_answer(again)
    # the terminal was tried too often: another address guessing it is cut off at its first failure, no new alarm
    other = await terminal_from(guarded_ingest.port, "127.0.0.21")
    await other.send(jt808.Authenticate("guess-again"))
    assert (await other.receive()).body.result == GeneralResult.FAILURE
    with pytest.raises(EOFError):
        await other.receive()
    # the real terminal, with its code, is not locked out
    real = await terminal_from(guarded_ingest.port, "127.0.0.22")
    await real.authenticate(code)
    await real.close()

    assert await Event.objects.filter(type="alarm.device_auth_failed").acount() == 1
    audit = [a async for a in AuditEntry.objects.filter(action="device.auth_failed")]
    assert len(audit) == 1 and (audit[0].target_type, audit[0].target_id) == ("dispatch.vehicle", str(unit.pk))
    assert audit[0].changes["source"] == "127.0.0.20" and "127.0.0.20" in audit[0].summary
    await console.disconnect()


async def test_an_unknown_terminal_registering_over_and_over_is_cut_off(guarded_ingest):
    for n in range(FAILURE_LIMIT):
        terminal = await terminal_from(guarded_ingest.port, "127.0.0.23", phone=f"1300000000{n}")
        assert (await terminal.register(plate="粤B00000")).auth_code == ""
        with pytest.raises(EOFError):
            await terminal.receive()
    assert await closed_without_answer(await terminal_from(guarded_ingest.port, "127.0.0.23"))
    entry = await AuditEntry.objects.aget(action="device.auth_failed")
    assert entry.target_type == "core.event" and entry.changes["bursts"] == ["source"]


async def test_connections_beyond_the_cap_from_one_address_are_refused(guarded_ingest):
    async def answered(terminal: Terminal) -> bool:
        return not await closed_without_answer(terminal)

    held = [await terminal_from(guarded_ingest.port, "127.0.0.30") for _ in range(CONNECTION_CAP)]
    assert [await answered(t) for t in held] == [True] * CONNECTION_CAP
    assert await closed_without_answer(await terminal_from(guarded_ingest.port, "127.0.0.30"))
    assert await answered(await terminal_from(guarded_ingest.port, "127.0.0.31"))  # other addresses are served
    await held.pop().close()
    await asyncio.sleep(0.2)
    assert await answered(await terminal_from(guarded_ingest.port, "127.0.0.30"))


@pytest.fixture
def ingest_behind_a_balancer(django_db_setup, monkeypatch):
    """The ingest with a low failure limit, trusting the load balancer at 127.0.0.40 (PROXY protocol v1)."""
    monkeypatch.setenv("CITYOPS_JT808_AUTH_FAILURE_LIMIT", str(FAILURE_LIMIT))
    monkeypatch.setenv("CITYOPS_JT808_TRUSTED_PROXIES", "127.0.0.40")
    ingest = GpsIngestProcess()
    ingest.start()
    yield ingest
    ingest.stop()


async def through_balancer(port: int, client: str, phone: str = PHONE) -> Terminal:
    """A terminal at `client` reaching the ingest through the balancer, which announces it in a PROXY line."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=("127.0.0.40", 0))
    writer.write(f"PROXY TCP4 {client} 127.0.0.1 40000 {port}\r\n".encode())
    return Terminal(phone, reader, writer)


async def test_behind_a_load_balancer_the_terminal_address_is_counted_not_the_balancers(ingest_behind_a_balancer):
    """Every terminal behind HAProxy shares its address: one guessing terminal must cut off itself, not the
    fleet. The balancer's health check (connect, close) and a connection without a PROXY line change nothing."""
    port = ingest_behind_a_balancer.port
    unit = await Vehicle.objects.aget(jt808_phone=PHONE)
    code = await database_sync_to_async(register_jt808_terminal)(unit)
    health_check = socket.create_connection(("127.0.0.1", port), source_address=("127.0.0.40", 0))
    health_check.close()
    guesser = await through_balancer(port, "10.20.30.40")
    for n in range(FAILURE_LIMIT):
        await guesser.send(jt808.Authenticate(f"guess-{n}"))
        assert (await guesser.receive()).body.result == GeneralResult.FAILURE
    with pytest.raises(EOFError):
        await guesser.receive()
    assert await closed_without_answer(await through_balancer(port, "10.20.30.40"))  # that terminal stays cut off
    real = await through_balancer(port, "10.20.30.41")
    await real.authenticate(code)  # the fleet behind the same balancer goes on
    await real.close()
    unannounced = await terminal_from(port, "127.0.0.40")
    assert await closed_without_answer(unannounced)
    audit = await AuditEntry.objects.aget(action="device.auth_failed")
    assert audit.changes["source"] == "10.20.30.40"


def test_device_credentials_are_audited_under_device():
    unit = Vehicle.objects.filter(jt808_auth_code="").exclude(osmand_id=None).first()
    issue_osmand_token(None, unit)
    issue_osmand_token(None, unit)
    revoke_osmand_token(None, unit)
    register_jt808_terminal(unit)
    release_jt808_registration(None, unit)
    actions = AuditEntry.objects.filter(target_type="dispatch.vehicle", target_id=str(unit.pk)).order_by("pk")
    assert list(actions.values_list("action", flat=True)) == [
        "device.osmand_token_issued",
        "device.osmand_token_rotated",
        "device.osmand_token_revoked",
        "device.jt808_registered",
        "device.jt808_released",
    ]
