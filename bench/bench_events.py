"""Event log figures: publish rate, live delivery latency over the real Redis layer, replay time.

Run after `bin/cityops setup`:  .venv/bin/python bench/bench_events.py [--events 2000]
Uses its own database `cityops_bench` on the same server (created and migrated here).
"""

import argparse
import asyncio
import statistics
import time

from benchdb import prepare_database


async def main(count: int) -> None:
    import django

    django.setup()
    from asgiref.sync import sync_to_async
    from channels.testing import WebsocketCommunicator
    from django.contrib.auth.models import Group
    from django.contrib.gis.geos import Point
    from django.test import Client

    from cityops.asgi import application
    from core.events import publish
    from core.models import Event, User
    from core.realtime import Viewer
    from core.selectors import events_after

    @sync_to_async
    def setup_user():
        Event.objects.all().delete()
        user, _ = User.objects.get_or_create(username="bench-operator")
        user.groups.add(Group.objects.get(name="operator"))
        client = Client()
        client.force_login(user)
        return user, f"sessionid={client.cookies['sessionid'].value}".encode()

    user, cookie = await setup_user()
    point = Point(114.05, 22.54, srid=4326)

    @sync_to_async
    def publish_batch(n: int) -> float:
        started = time.perf_counter()
        for i in range(n):
            publish("incidents", "incident.updated", {"id": i, "t": time.time()}, geom=point)
        return time.perf_counter() - started

    elapsed = await publish_batch(count)
    print(f"publish (one transaction each, lock + insert + fan-out): {count / elapsed:,.0f} events/s")

    communicator = WebsocketCommunicator(
        application, "/ws/ops/", headers=[(b"origin", b"http://localhost"), (b"cookie", cookie)]
    )
    await communicator.connect()
    await communicator.send_json_to({"op": "subscribe", "topics": ["incidents"]})
    while (await communicator.receive_json_from(timeout=10)).get("op") != "subscribed":
        pass
    latencies = []
    for i in range(200):
        await sync_to_async(publish)("incidents", "incident.updated", {"id": i, "t": time.time()}, geom=point)
        delta = await communicator.receive_json_from(timeout=10)
        latencies.append((time.time() - delta["data"]["t"]) * 1000)
    await communicator.disconnect()
    latencies.sort()
    print(
        "publish → WebSocket delivery (Redis layer, in-process consumer):"
        f" median {statistics.median(latencies):.2f} ms,"
        f" p95 {latencies[int(len(latencies) * 0.95)]:.2f} ms"
    )

    viewer = await sync_to_async(Viewer.for_user)(user)
    started = time.perf_counter()
    events, _ = await sync_to_async(events_after)(0, ["incidents"], viewer, (113.9, 22.4, 114.2, 22.7))
    print(f"replay of {len(events)} events from the log: {(time.perf_counter() - started) * 1000:.1f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=2000)
    args = parser.parse_args()
    prepare_database()
    asyncio.run(main(args.events))
