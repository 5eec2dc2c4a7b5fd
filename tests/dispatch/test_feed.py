"""The coalescing vehicle feed: newest position per vehicle, at most one per vehicle per interval, and the
exact moment a held position may go (the ingest sleeps until then instead of polling)."""

from dispatch.tracks import VehicleFeed


def feature(uid: int, x: float) -> dict:
    return {"id": uid, "geometry": {"type": "Point", "coordinates": [x, 22.5]}}


def test_new_vehicles_go_at_once_and_a_vehicle_sent_recently_waits_for_its_interval():
    feed = VehicleFeed(interval=1.0)
    assert feed.next_due(0.0) is None
    feed.add([feature(1, 114.0), feature(2, 114.0)])
    assert feed.next_due(10.0) == 0.0
    assert [f["id"] for f in feed.take(10.0)] == [1, 2]
    assert feed.next_due(10.2) is None

    feed.add([feature(1, 114.1)])
    feed.add([feature(1, 114.2)])  # only the newest is kept
    assert feed.next_due(10.25) == 0.75
    assert feed.take(10.25) == []
    assert [f["geometry"]["coordinates"][0] for f in feed.take(11.0)] == [114.2]


def test_next_due_is_the_earliest_held_vehicle():
    feed = VehicleFeed(interval=1.0)
    feed.add([feature(1, 114.0)])
    feed.take(0.0)
    feed.add([feature(2, 114.0)])
    feed.take(0.5)
    feed.add([feature(1, 114.1), feature(2, 114.1)])
    assert feed.next_due(0.6) == 0.4
    assert [f["id"] for f in feed.take(1.0)] == [1]
    assert feed.next_due(1.0) == 0.5
