"""Signed-in users keep working while Redis is away (sessions: database with a Redis copy), a sign-out during the
outage stays signed out when Redis answers again, and loops that use PostgreSQL or Redis live through failures.

Redis here is a private redis-server on a scratch port, stopped and frozen (DEBUG SLEEP) by the test."""

import asyncio
import logging
import shutil
import socket
import subprocess
import threading
import time

import pytest
from django.core.cache import caches
from django.test import Client, override_settings

from core.resilience import Outage
from tests.conftest import _free_port

pytestmark = pytest.mark.django_db


class ScratchRedis:
    def __init__(self):
        self.port = _free_port()
        self.process = None

    def start(self):
        self.process = subprocess.Popen(
            [shutil.which("redis-server"), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        for _ in range(100):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        raise RuntimeError("scratch redis did not start")

    def stop(self):
        self.process.kill()
        self.process.wait()

    def cli(self, *args):
        subprocess.run([shutil.which("redis-cli"), "-p", str(self.port), *args], capture_output=True, check=True)


@pytest.fixture
def redis_sessions(settings):
    redis = ScratchRedis()
    redis.start()
    sessions = {**settings.CACHES["sessions"], "LOCATION": f"redis://127.0.0.1:{redis.port}/0"}
    with override_settings(CACHES={**settings.CACHES, "sessions": sessions}):
        yield redis
    if redis.process.poll() is None:
        redis.stop()


def signed_in(client: Client) -> bool:
    return client.get("/api/core/me/").status_code == 200


def test_signed_in_users_keep_working_and_can_sign_in_while_redis_is_down(redis_sessions, demo_city, settings):
    client = Client()
    client.post("/login/", {"username": "operator", "password": settings.CITYOPS_DEMO_PASSWORD})
    assert signed_in(client)
    assert any(key for key in caches["sessions"]._cache.get_client().scan_iter("session:*"))  # really cached
    redis_sessions.stop()
    assert [signed_in(client) for _ in range(5)] == [True] * 5
    fresh = Client()
    assert fresh.post("/login/", {"username": "planner", "password": settings.CITYOPS_DEMO_PASSWORD}).status_code == 302
    assert signed_in(fresh)


def test_a_sign_out_during_an_outage_is_not_undone_by_the_stale_copy(redis_sessions, demo_city, settings):
    client = Client()
    client.post("/login/", {"username": "operator", "password": settings.CITYOPS_DEMO_PASSWORD})
    cookie = client.cookies["sessionid"].value
    assert signed_in(client)
    # Freeze Redis (it keeps its data): every call times out, as in a network partition.
    freezer = threading.Thread(target=redis_sessions.cli, args=("DEBUG", "SLEEP", "2"))
    freezer.start()
    time.sleep(0.2)
    client.post("/logout/")
    freezer.join()
    time.sleep(1.2)  # past the back-off
    replay = Client()
    replay.cookies["sessionid"] = cookie
    assert not signed_in(replay)
    assert not signed_in(replay)


def test_an_outage_is_one_story_in_the_log_not_a_traceback_per_attempt(caplog):
    outage = Outage("test dependency", logging.getLogger("test.outage"), first_delay_s=0.1, max_delay_s=1.0)
    with caplog.at_level(logging.WARNING, logger="test.outage"):
        delays = [outage.failed(ConnectionError("refused")) for _ in range(50)]
        outage.succeeded()
    assert max(delays) <= 1.0 and delays[-1] > delays[0]
    messages = [record.getMessage() for record in caplog.records]
    assert len(messages) == 2  # the first failure and the recovery (no 30 s report in this short run)
    assert "retrying with back-off" in messages[0] and caplog.records[0].exc_info is not None
    assert "recovered after 50 failed attempts" in messages[1]
    assert not outage.ongoing


async def test_a_console_whose_set_up_fails_is_told_to_try_again_later(demo_city):
    """Redis away when a console connects: the socket is accepted and closed with 1013 (try again later), which
    the console's OpsSocket answers by reconnecting with back-off — not a failed handshake."""
    from tests.ops_socket import connect

    dead = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [{"address": f"redis://127.0.0.1:{_free_port()}/0"}]},
        }
    }
    with override_settings(CHANNEL_LAYERS=dead):
        communicator, connected = await connect("operator")
        assert connected
        assert await communicator.receive_output(timeout=10) == {"type": "websocket.close", "code": 1013}


@pytest.mark.django_db(transaction=True)
async def test_a_console_whose_replay_fails_is_closed_with_1013_and_not_counted_any_more(demo_city, monkeypatch):
    """The database failing under a connected console (here: its replay) closes it with "try again later" —
    the console reconnects with `since` — once: an event queued for it afterwards is dropped (a second close or a
    send to the closed socket ended the consumer under uvicorn, leaking the slot), and its slot is given back."""
    from asgiref.sync import sync_to_async
    from django.db import OperationalError

    from core import consumers, selectors
    from core.events import publish
    from tests.ops_socket import connect

    def database_gone(*args, **kwargs):
        raise OperationalError("terminating connection due to administrator command")

    communicator, connected = await connect("operator")
    assert connected
    user_id = next(iter(consumers.OpsConsumer._open))
    monkeypatch.setattr(selectors, "events_after", database_gone)
    await communicator.send_json_to({"op": "subscribe", "topics": ["incidents"], "since": 0})
    assert await communicator.receive_output(timeout=10) == {"type": "websocket.close", "code": 1013}
    await sync_to_async(publish)("incidents", "incident.updated", {})  # reaches it before its disconnect
    assert await communicator.receive_nothing(timeout=2)  # no second close, no send to the closed socket
    await communicator.disconnect()
    assert user_id not in consumers.OpsConsumer._open


@pytest.mark.django_db(transaction=True)
async def test_consoles_catch_up_while_redis_is_away_and_hear_live_events_again_once_it_is_back(demo_city, settings):
    """The head watch's tick does not travel through Redis, so with Redis dead an event whose fan-out was lost
    still reaches the console from the event log; once Redis is back, the layer has re-subscribed by itself and
    live messages flow again (no catch-up involved: it is set to a minute by then)."""
    from asgiref.sync import sync_to_async
    from channels.layers import get_channel_layer

    from core.events import channel_message
    from core.models import Event
    from core.realtime import EVENT_GROUP
    from tests.ops_socket import connect, subscribe

    redis = ScratchRedis()
    redis.start()
    layer = {**settings.CHANNEL_LAYERS["default"], "CONFIG": {"hosts": [f"redis://127.0.0.1:{redis.port}/0"]}}
    settings.CITYOPS_WS_CATCHUP_SECONDS = 0.2
    record = sync_to_async(lambda: Event.objects.create(topic="incidents", type="incident.updated", data={}).seq)
    try:
        with override_settings(CHANNEL_LAYERS={"default": layer}):
            communicator, _ = await connect("operator")
            await subscribe(communicator, topics=["incidents"])
            redis.stop()
            during = await record()  # committed; its fan-out cannot happen
            assert (await communicator.receive_json_from(timeout=5))["seq"] == during

            settings.CITYOPS_WS_CATCHUP_SECONDS = 60
            await asyncio.sleep(0.5)  # the watch is now in its minute-long sleep
            redis.start()  # on the same port, as its supervisor restarts it
            after = await record()
            message = channel_message(await Event.objects.aget(seq=after), during)
            for _ in range(40):  # until the layer's subscription is back (a repeat is dropped by seq)
                await get_channel_layer().group_send(EVENT_GROUP, message)
                if not await communicator.receive_nothing(timeout=0.5):
                    assert (await communicator.receive_json_from())["seq"] == after
                    break
            else:
                pytest.fail("no live message reached the console after Redis came back")
            await communicator.disconnect()
    finally:
        if redis.process.poll() is None:
            redis.stop()
