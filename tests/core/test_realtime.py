"""The live feed end to end on the real Redis channel layer and the real PostGIS event log."""

import asyncio
import uuid

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from channels_redis.pubsub import RedisPubSubChannelLayer
from django.contrib.auth.models import Group
from django.contrib.gis.geos import Point

from core import consumers, socket_leases
from core.consumers import OpsConsumer
from core.events import publish
from core.health import redis_client
from core.models import Event, Organisation, Role, User
from tests.ops_socket import connect, subscribe

pytestmark = pytest.mark.django_db(transaction=True)

INSIDE = Point(114.05, 22.54, srid=4326)
FAR_AWAY = Point(116.40, 39.90, srid=4326)  # Beijing


def test_the_channel_layer_is_real_redis():
    assert isinstance(get_channel_layer(), RedisPubSubChannelLayer)


async def test_a_group_message_reaches_every_local_channel_decoded_once():
    layer = get_channel_layer()
    group = f"decode-once-{uuid.uuid4().hex}"
    channels = [await layer.new_channel() for _ in range(3)]
    for channel in channels:
        await layer.group_add(group, channel)
    await layer.group_send(group, {"type": "ops.vehicles", "features": [{"id": 7}]})
    received = [await asyncio.wait_for(layer.receive(channel), 5) for channel in channels]
    assert received[0] == {"type": "ops.vehicles", "features": [{"id": 7}]}
    assert received[1] is received[0] and received[2] is received[0]
    for channel in channels:
        await layer.group_discard(group, channel)


@sync_to_async
def publish_incident(number: int, geom=INSIDE, orgs=(), topic="incidents") -> int:
    data = {"type": "Feature", "id": number, "geometry": None, "properties": {"n": number}}
    type_ = {"incidents": "incident.updated", "cases": "case.updated"}[topic]
    return publish(topic, type_, data, geom=geom, orgs=orgs).seq


async def receive_deltas(communicator, count: int) -> list[dict]:
    return [await communicator.receive_json_from(timeout=5) for _ in range(count)]


async def test_anonymous_websocket_is_refused(demo_city):
    communicator, connected = await connect(None)
    assert not connected
    await communicator.disconnect()


async def test_published_event_is_delivered_live(demo_city):
    communicator, connected = await connect("operator")
    assert connected
    answer = await subscribe(communicator, topics=["incidents"])
    assert answer[-1]["op"] == "subscribed"
    seq = await publish_incident(1)
    delta = await communicator.receive_json_from(timeout=5)
    assert delta == {
        "seq": seq,
        "topic": "incidents",
        "type": "incident.updated",
        "data": {"type": "Feature", "id": 1, "geometry": None, "properties": {"n": 1}},
    }
    await communicator.disconnect()


async def test_reconnect_with_since_returns_exactly_the_missed_events_in_order(demo_city):
    communicator, _ = await connect("operator")
    await subscribe(communicator, topics=["incidents"])
    last_seen = await publish_incident(1)
    assert (await communicator.receive_json_from(timeout=5))["seq"] == last_seen
    await communicator.disconnect()

    missed = [await publish_incident(n) for n in (2, 3, 4)]
    other_topic = await publish_incident(99, topic="cases")  # not part of this console's stream

    communicator, _ = await connect("operator")
    answer = await subscribe(communicator, topics=["incidents"], since=last_seen)
    deltas, done = answer[:-1], answer[-1]
    assert [d["seq"] for d in deltas] == missed
    assert [d["data"]["properties"]["n"] for d in deltas] == [2, 3, 4]
    assert done == {"op": "subscribed", "topics": ["incidents"], "seq": other_topic, "replayed": 3}
    assert await communicator.receive_nothing(timeout=0.3)
    await communicator.disconnect()


async def test_a_lost_fan_out_message_is_recovered_from_the_event_log(demo_city):
    communicator, _ = await connect("operator")
    await subscribe(communicator, topics=["incidents"])

    @sync_to_async
    def commit_without_fan_out() -> int:  # what a message dropped by the channel layer looks like
        return Event.objects.create(topic="incidents", type="incident.updated", data={"lost": True}).seq

    lost = await commit_without_fan_out()
    after = await publish_incident(2)
    deltas = await receive_deltas(communicator, 2)
    assert [d["seq"] for d in deltas] == [lost, after]
    assert deltas[0]["data"] == {"lost": True}
    await communicator.disconnect()


async def test_a_lost_last_event_is_delivered_by_the_periodic_catch_up(demo_city, settings):
    settings.CITYOPS_WS_CATCHUP_SECONDS = 0.2
    communicator, _ = await connect("operator")
    await subscribe(communicator, topics=["incidents"])
    lost = await sync_to_async(
        lambda: Event.objects.create(topic="incidents", type="incident.updated", data={"lost": True}).seq
    )()
    delta = await communicator.receive_json_from(timeout=3)
    assert (delta["seq"], delta["data"]) == (lost, {"lost": True})
    await communicator.disconnect()


async def test_bbox_filters_live_and_replayed_events(demo_city):
    communicator, _ = await connect("operator")
    bbox = [113.9, 22.4, 114.2, 22.7]
    await subscribe(communicator, topics=["incidents"], bbox=bbox)
    await publish_incident(1, geom=FAR_AWAY)
    inside = await publish_incident(2, geom=INSIDE)
    assert (await communicator.receive_json_from(timeout=5))["seq"] == inside
    await communicator.disconnect()

    await publish_incident(3, geom=FAR_AWAY)
    inside_again = await publish_incident(4, geom=INSIDE)
    communicator, _ = await connect("operator")
    answer = await subscribe(communicator, topics=["incidents"], bbox=bbox, since=inside)
    assert [m.get("seq") for m in answer[:-1]] == [inside_again]
    await communicator.disconnect()


async def test_events_scoped_to_an_organisation_reach_only_its_members(demo_city):
    @sync_to_async
    def fire_operator():
        fire = Organisation.objects.get(code="SZ-FIRE-119")
        police = Organisation.objects.get(code="SZ-PSB-110")
        user = User.objects.create_user("fire-op", organisation=fire)
        user.groups.add(Group.objects.get(name=Role.OPERATOR))
        return fire.pk, police.pk

    fire_id, police_id = await fire_operator()
    communicator, _ = await connect("fire-op")
    await subscribe(communicator, topics=["incidents"])
    await publish_incident(1, orgs=[police_id])
    fire_event = await publish_incident(2, orgs=[fire_id])
    shared = await publish_incident(3)
    deltas = await receive_deltas(communicator, 2)
    assert [d["seq"] for d in deltas] == [fire_event, shared]
    await communicator.disconnect()


@pytest.mark.parametrize(
    ("message", "fragment"),
    [
        ("this is not json", "not valid JSON"),
        ('["subscribe"]', "must be a JSON object"),
        ('{"op": "sub"}', "unknown op"),
        ('{"op": "subscribe", "topics": "incidents"}', "'topics' must be"),
        ('{"op": "subscribe", "topics": ["weather"]}', "unknown topics"),
        ('{"op": "subscribe", "topics": ["incidents"], "bbox": [1, 2, 3]}', "'bbox' must be"),
        ('{"op": "subscribe", "topics": ["incidents"], "bbox": [114, 22, 113, 23]}', "minx<=maxx"),
        ('{"op": "subscribe", "topics": ["incidents"], "since": -5}', "'since' must be"),
        ('{"op": "subscribe", "topics": ["incidents"], "since": "12"}', "'since' must be"),
    ],
)
async def test_malformed_messages_get_an_error_and_the_socket_stays_up(demo_city, message, fragment):
    communicator, _ = await connect("operator")
    await communicator.send_to(text_data=message)
    error = await communicator.receive_json_from(timeout=5)
    assert error["op"] == "error"
    assert fragment in error["error"]
    answer = await subscribe(communicator, topics=["incidents"])
    assert answer[-1]["op"] == "subscribed"
    await communicator.disconnect()


async def test_a_role_cannot_subscribe_to_topics_it_may_not_see(demo_city):
    communicator, _ = await connect("inspector")
    answer = await subscribe(communicator, topics=["cases", "incidents"])
    assert answer == [{"op": "error", "error": "your role may not subscribe to ['incidents']"}]
    await publish_incident(1)
    assert await communicator.receive_nothing(timeout=0.3)
    await communicator.disconnect()


async def test_snapshot_without_since_reports_the_head(demo_city):
    head = await publish_incident(1)
    communicator, _ = await connect("leader")
    answer = await subscribe(communicator, topics=["incidents", "cases"])
    snapshots = [m for m in answer if m.get("op") == "snapshot"]
    assert {m["topic"] for m in snapshots} == {"incidents", "cases"}
    assert all(m["seq"] == head for m in snapshots)
    assert answer[-1] == {"op": "subscribed", "topics": ["cases", "incidents"], "seq": head, "replayed": 0}
    await communicator.disconnect()


async def test_a_large_snapshot_comes_in_bounded_pages_holding_every_feature(demo_city, monkeypatch):
    from grid.models import Case
    from grid.workflow import TERMINAL_STATES

    monkeypatch.setattr(consumers, "SNAPSHOT_PAGE", 5)  # the small city's open cases make several pages
    open_cases = await Case.objects.exclude(stage__in=[str(s) for s in TERMINAL_STATES]).acount()
    communicator, _ = await connect("griddispatcher")
    answer = await subscribe(communicator, topics=["cases"])
    pages = [m for m in answer if m.get("op") == "snapshot"]
    assert open_cases > 5
    assert len(pages) > 1 and all(len(m["features"]) <= 5 for m in pages)
    assert [m["page"] for m in pages] == list(range(len(pages))) and {m["pages"] for m in pages} == {len(pages)}
    ids = [f["id"] for m in pages for f in m["features"]]
    assert len(ids) == len(set(ids)) == min(open_cases, 5000)
    await communicator.disconnect()


async def test_concurrent_publishers_are_delivered_in_seq_order(demo_city):
    communicator, _ = await connect("operator")
    await subscribe(communicator, topics=["incidents"])
    seqs = await asyncio.gather(*(publish_incident(n) for n in range(8)))
    deltas = await receive_deltas(communicator, 8)
    assert [d["seq"] for d in deltas] == sorted(seqs)
    await communicator.disconnect()


async def test_one_user_may_hold_only_so_many_sockets(demo_city, settings):
    operator = await User.objects.aget(username="operator")
    held = max(OpsConsumer._open.get(operator.pk, 0), redis_client().zcard(socket_leases._key(operator.pk)))
    settings.CITYOPS_WS_PER_USER = held + 3  # sockets a failed test left count too
    open_ = [await connect("operator") for _ in range(3)]
    assert all(accepted for _, accepted in open_)
    _refused, accepted = await connect("operator")
    assert not accepted
    other, other_accepted = await connect("calltaker")  # another user is not affected
    assert other_accepted
    await open_[0][0].disconnect()
    again, accepted_again = await connect("operator")  # a closed socket frees its place
    assert accepted_again
    for communicator in [*(c for c, _ in open_[1:]), other, again]:
        await communicator.disconnect()


@pytest.mark.parametrize(
    "message",
    ["[" * 100_000 + "]" * 100_000, '{"op": "subscribe", "topics": ["' + "x" * 20_000 + '"]}'],
    ids=["nested", "long"],
)
async def test_a_hostile_message_is_answered_unread_and_the_socket_stays_usable(demo_city, message):
    communicator, _ = await connect("operator")
    await communicator.send_to(text_data=message)
    answer = await communicator.receive_json_from(timeout=5)
    assert answer["op"] == "error" and ("deeper" in answer["error"] or "longer" in answer["error"])
    await communicator.send_json_to({"op": "subscribe", "topics": ["incidents"]})
    assert (await communicator.receive_json_from(timeout=10))["op"] == "snapshot"
    await communicator.disconnect()
