"""Delivery by the real jobs worker (`manage.py procrastinate worker`, as bin/cityops runs it) to the receiver
simulator: the receiver down for a while, then up, loses nothing and gets nothing twice; a worker killed mid-push
(SIGKILL) loses nothing either — the receiver may see the one record in flight twice, with the same id."""

import time

import pytest
from django.contrib.gis.geos import Point

from core.models import AdminArea, Organisation, User
from exchange.models import Record
from grid import services as grid

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def delivery(monkeypatch, django_db_blocker, exchange_on, demo_city):
    """(receiver simulator, a real jobs worker whose environment points at it; retries 0.2 s, at most 1 s apart)."""
    from tests.jobs_worker import on_an_empty_queue

    from .conftest import TOKEN

    for name, value in {
        "CITYOPS_EXCHANGE_URL": exchange_on.url, "CITYOPS_EXCHANGE_TOKEN": TOKEN,
        "CITYOPS_EXCHANGE_PLATFORM_CODE": "440300", "CITYOPS_EXCHANGE_RETRY_SECONDS": "0.2",
        "CITYOPS_EXCHANGE_RETRY_MAX_SECONDS": "1", "CITYOPS_EXCHANGE_TIMEOUT_S": "2",
    }.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    with on_an_empty_queue(django_db_blocker) as worker:
        yield exchange_on, worker


def file_cases(count: int, stepped: int) -> list[str]:
    """`count` reported cases in one batch; the first `stepped` also filed and dispatched (3 records each)."""
    spots = [a.geom.point_on_surface for a in AdminArea.objects.filter(level="community").order_by("code")[:20]]
    calltaker = User.objects.get(username="calltaker")
    points = [Point(spot.x, spot.y, srid=4326) for spot in spots]
    reports = [(f"exchange-{i}", grid.Report("01002", points[i % len(points)], f"第{i}件")) for i in range(count)]
    cases = [filed.case for filed in grid.report_cases(calltaker, reports)]
    leader, dispatcher = User.objects.get(username="leader"), User.objects.get(username="griddispatcher")
    department = Organisation.objects.get(code="SZ-URBAN")
    for case in cases[:stepped]:
        case = grid.transition(leader, case, "file")
        grid.transition(dispatcher, case, "dispatch", grid.Step(department=department))
    return [case.number for case in cases]


def wait_until(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def check_nothing_lost(receiver, numbers: list[str], stepped: int) -> None:
    expected = Record.objects.count()
    assert expected == len(numbers) + 2 * stepped
    assert set(receiver.records) == set(Record.objects.values_list("record_id", flat=True))  # every record arrived
    assert Record.objects.filter(state="sent").count() == expected  # and our side knows it
    for number in numbers[:stepped]:
        assert receiver.order_of(number) == [1, 2, 3]


def test_the_receiver_down_for_a_while_then_up_loses_nothing_and_gets_nothing_twice(delivery, capsys):
    receiver, _worker = delivery
    receiver.stop()
    numbers = file_cases(400, stepped=10)
    wait_until(lambda: Record.objects.filter(attempts__gte=2).exists(), 30, "retries while the receiver is down")
    waiting = Record.objects.filter(state="pending").count()
    probes = list(Record.objects.filter(attempts__gte=1).values_list("attempts", "last_error"))
    assert waiting == 420 and not receiver.records
    assert len(probes) == 1 and "Refused" in probes[0][1]  # one probe at a time, not a timeout per record

    receiver.start()
    wait_until(lambda: receiver.records, 30, "the first record after the receiver is back")
    started = time.monotonic()
    wait_until(lambda: len(receiver.records) == 420, 60, "every record")
    took = time.monotonic() - started
    wait_until(lambda: not Record.objects.exclude(state="sent").exists(), 30, "our side to mark them sent")
    check_nothing_lost(receiver, numbers, stepped=10)
    assert receiver.duplicates() == 0
    with capsys.disabled():
        print(f"\nexchange: 420 records pushed after the receiver came back in {took:.2f} s "
              f"({419 / took:.0f} records/s, one POST each, real worker)")  # fmt: skip


def test_a_worker_killed_mid_push_loses_nothing(delivery, capsys):
    receiver, worker = delivery
    receiver.delay_s = 0.01  # a slow receiver: the push is still running when the worker is killed
    numbers = file_cases(300, stepped=10)
    wait_until(lambda: len(receiver.records) >= 60, 60, "the push to be under way")
    worker.kill()
    assert len(receiver.records) < 320
    worker.start()  # supervisord's restart
    wait_until(lambda: len(receiver.records) == 320, 60, "every record after the restart")
    wait_until(lambda: not Record.objects.exclude(state="sent").exists(), 30, "our side to mark them sent")
    check_nothing_lost(receiver, numbers, stepped=10)
    with capsys.disabled():
        print(f"\nexchange: worker killed mid-push; the receiver saw {receiver.duplicates()} duplicate(s), same id")
    assert receiver.duplicates() <= 1
