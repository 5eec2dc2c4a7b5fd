"""The outbox and the pump against the receiver simulator (in this process): one record per history line, written
with it; sent in order per case; a 500 retried, a 4xx kept as failed until an operator retries it."""

import time

import pytest
from django.contrib.gis.geos import Point
from django.db import transaction

from core.models import Organisation, User
from exchange import services
from exchange.models import Record
from grid import services as grid
from grid.models import Case

pytestmark = pytest.mark.django_db


def report(spot: Point, text: str = "井盖缺失") -> Case:
    case, _ = grid.report_case(
        User.objects.get(username="calltaker"),
        grid.Report("01002", Point(spot.x, spot.y, srid=4326), description=text, address="深南大道 1 号"),
    )
    return case


def file_and_dispatch(case: Case) -> Case:
    case = grid.transition(User.objects.get(username="leader"), case, "file")
    step = grid.Step(department=Organisation.objects.get(code="SZ-URBAN"))
    return grid.transition(User.objects.get(username="griddispatcher"), case, "dispatch", step)


def pump_until(condition, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the pump did not get there"
        services.push_due(budget_s=2)
        time.sleep(0.02)


def test_each_history_line_becomes_one_record_with_the_case_as_it_stood(exchange_on, spot):
    case = file_and_dispatch(report(spot))
    records = list(Record.objects.filter(case=case).order_by("seq"))
    assert [r.record_id for r in records] == [f"{case.number}-000{i}" for i in (1, 2, 3)]
    assert [r.payload["step"]["action"]["code"] for r in records] == ["report", "file", "dispatch"]
    assert [r.payload["case"]["status"]["name"] for r in records] == ["已上报", "已立案", "已派遣"]
    first, last = records[0].payload, records[-1].payload
    assert first["case"]["department"] is None and first["case"]["filed_at"] is None
    assert last["case"]["department"] == {"code": "SZ-URBAN", "name": case.department.name}
    assert last["step"]["department"]["code"] == "SZ-URBAN"
    assert last["case"]["location"] == {"crs": "EPSG:4490", "lon": round(spot.x, 7), "lat": round(spot.y, 7)}
    assert last["case"]["minor_class"]["code"] == "01002" and last["case"]["source"]["name"] == "热线受理"
    assert last["case"]["grid_code"] == case.grid.code and last["platform_code"] == "440300"
    assert "reporter_contact" not in str(last) and "calltaker" not in str(last)  # no person goes upward


def test_a_change_that_rolls_back_leaves_no_record_and_none_are_written_while_off(exchange_on, spot, settings):
    case = report(spot)
    with pytest.raises(RuntimeError), transaction.atomic():
        grid.transition(User.objects.get(username="leader"), case, "file")
        raise RuntimeError("the request failed after the transition")
    assert Record.objects.filter(case=case).count() == 1
    settings.CITYOPS_EXCHANGE_URL = ""
    grid.transition(User.objects.get(username="leader"), case, "file")
    assert Record.objects.filter(case=case).count() == 1


def test_records_arrive_in_order_per_case_and_a_500_is_tried_again(exchange_on, spot):
    receiver = exchange_on
    cases = [file_and_dispatch(report(spot, f"第{i}件")) for i in range(4)]
    receiver.fail_next = [500, 503]
    pump_until(lambda: not Record.objects.exclude(state="sent").exists())
    for case in cases:
        assert receiver.order_of(case.number) == [1, 2, 3]
    assert len(receiver.records) == 12 and receiver.duplicates() == 0
    retried = Record.objects.filter(attempts__gt=1)
    assert retried.count() == 2 and {r.last_status for r in retried} == {200}
    assert receiver.records[f"{cases[0].number}-0003"]["case"]["status"]["code"] == "dispatched"


def test_a_4xx_is_kept_failed_with_the_reason_and_holds_back_its_case_until_retried(exchange_on, spot, user_for):
    receiver = exchange_on
    held, other = report(spot, "被拒"), report(spot, "正常")
    receiver.fail_next = [422]
    services.push_due(budget_s=2)
    refused = Record.objects.get(case=held, seq=1)
    assert refused.state == "failed" and refused.last_status == 422 and "grid_code" in refused.last_error
    file_and_dispatch(held)
    file_and_dispatch(other)
    pump_until(lambda: len(receiver.order_of(other.number)) == 3)
    assert receiver.order_of(held.number) == []  # its later steps wait behind the refused one
    assert Record.objects.filter(case=held, state="pending").count() == 2

    assert services.retry(user_for("admin"), Record.objects.filter(case=held)) == 1
    pump_until(lambda: len(receiver.order_of(held.number)) == 3)
    assert receiver.order_of(held.number) == [1, 2, 3] and receiver.duplicates() == 0


def test_a_receiver_down_or_too_slow_costs_one_probe_and_every_record_waits(exchange_on, spot, settings):
    receiver = exchange_on
    for i in range(3):
        report(spot, f"第{i}件")
    receiver.stop()
    # a whole second between tries, so that a loaded machine does not reach the retry time between two rounds
    settings.CITYOPS_EXCHANGE_RETRY_SECONDS = settings.CITYOPS_EXCHANGE_RETRY_MAX_SECONDS = 1.0
    tally = services.push_due(budget_s=2)
    assert (tally.sent, tally.retried) == (0, 1) and "Refused" in tally.link_down
    assert services.push_due(budget_s=2).retried == 0  # every record waits for the link's retry time
    time.sleep(1.05)
    receiver.start()
    receiver.delay_s, settings.CITYOPS_EXCHANGE_TIMEOUT_S = 0.5, 0.1
    tally = services.push_due(budget_s=2)
    assert (tally.sent, tally.retried) == (0, 1) and "timed out" in tally.link_down
    receiver.delay_s = 0
    pump_until(lambda: len(receiver.records) == 3)
    assert Record.objects.filter(state="sent").count() == 3
    assert Record.objects.order_by("id").first().attempts == 3  # the oldest probed the dead link both times
