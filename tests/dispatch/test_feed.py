"""The coalescing vehicle feed: newest position per vehicle, at most one per vehicle per interval in the long run
with no drift for a terminal that reports at that pace, and the exact moment a held position may go (the ingest
sleeps until then instead of polling)."""

import itertools
import random

import pytest

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
    assert feed.next_due(10.25) == 0.25  # its slot is 11.0; half an interval early is allowed
    assert feed.take(10.25) == []
    assert [f["geometry"]["coordinates"][0] for f in feed.take(10.5)] == [114.2]


def test_next_due_is_the_earliest_held_vehicle():
    feed = VehicleFeed(interval=1.0)
    feed.add([feature(1, 114.0)])
    feed.take(0.0)  # vehicle 1's next slot is 1.0: it may go from 0.5
    feed.add([feature(2, 114.0)])
    feed.take(0.2)  # vehicle 2's from 0.7
    feed.add([feature(1, 114.1), feature(2, 114.1)])
    assert feed.next_due(0.3) == pytest.approx(0.2)
    assert [f["id"] for f in feed.take(0.5)] == [1]
    assert feed.next_due(0.5) == pytest.approx(0.2)


def test_a_terminal_reporting_at_the_feed_pace_is_never_held_whatever_its_jitter():
    """1 Hz fixes arriving up to 0.2 s early or late: each goes the moment it arrives (no drift to a second old)."""
    feed, rng = VehicleFeed(interval=1.0), random.Random(7)
    for n in range(600):
        arrival = n + rng.uniform(-0.2, 0.2)
        feed.add([feature(1, 114.0 + n * 1e-5)])
        assert [f["geometry"]["coordinates"][0] for f in feed.take(arrival)] == [114.0 + n * 1e-5], n


def test_a_10_hz_terminal_costs_the_consoles_1_hz():
    feed, sent = VehicleFeed(interval=1.0), []
    for n in range(600):  # one minute at 10 Hz, the feed asked at each fix
        feed.add([feature(1, 114.0 + n * 1e-5)])
        sent += [n / 10 for _ in feed.take(n / 10)]
    assert 60 <= len(sent) <= 61
    assert min(b - a for a, b in itertools.pairwise(sent)) >= 0.5
