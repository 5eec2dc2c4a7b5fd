"""Case deadlines from the category limits in working time over weekends, holidays and 调休 days, with exact
expected instants; postponement, suspension, warning colours and the overdue sweep."""

from datetime import datetime

import pytest
from django.core.management import call_command

from core.models import AdminArea, Event, Organisation
from grid import features, services
from grid.calendar import SHANGHAI
from grid.models import Case

pytestmark = pytest.mark.django_db


def at(*args) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


@pytest.fixture
def make_case(demo_city, user_for):
    spot = AdminArea.objects.filter(level="community").order_by("code").first().geom.point_on_surface
    urban = Organisation.objects.get(code="SZ-URBAN")

    def make(category_code: str, filed: datetime, dispatched: datetime | None = None) -> Case:
        report = services.Report(category_code=category_code, position=spot, description="deadline test")
        case, _ = services.report_case(user_for("inspector"), report, now=filed)
        case = services.transition(user_for("shiftleader"), case, "file", now=filed)
        if dispatched is not None:
            step = services.Step(department=urban)
            case = services.transition(user_for("griddispatcher"), case, "dispatch", step, now=dispatched)
        return case

    return make


def test_dispatch_and_handling_over_a_holiday_weekend(make_case):
    # 道路不洁: dispatch 1 working hour, handling 5 working hours (Jiyuan rulebook)
    case = make_case("06012", at(2026, 9, 24, 16, 0))
    assert case.deadline_at == at(2026, 9, 24, 17, 0)
    case = make_case("06012", at(2026, 9, 24, 16, 0), dispatched=at(2026, 9, 24, 17, 30))
    assert case.dispatch_deadline == at(2026, 9, 24, 17, 0)
    # 17:30-18:00 Thursday, then 中秋 (Fri 25 - Sun 27), then Monday 08:30-12:00 and 14:00-15:00
    assert case.handling_deadline == case.deadline_at == at(2026, 9, 28, 15, 0)
    assert features.timer_state(case, at(2026, 9, 28, 10, 0)) == "green"
    assert features.timer_state(case, at(2026, 9, 28, 14, 0)) == "yellow"  # 4 of 5 working hours used
    assert features.timer_state(case, at(2026, 9, 28, 15, 1)) == "red"


def test_working_day_limit_skips_national_day(make_case):
    # 暴露垃圾: 1 working day → the same time on the next working day, after 国庆 (Oct 1-7)
    case = make_case("06010", at(2026, 9, 30, 9, 0), dispatched=at(2026, 9, 30, 10, 0))
    assert case.handling_deadline == at(2026, 10, 8, 10, 0)


def test_adjusted_working_saturday_counts(make_case):
    # Friday 17:00 + 5 working hours: 1 h on Friday, then Saturday 2026-10-10 is a working day (调休)
    case = make_case("06012", at(2026, 10, 9, 16, 0), dispatched=at(2026, 10, 9, 17, 0))
    assert case.handling_deadline == at(2026, 10, 10, 14, 30)


def test_natural_hours_for_manhole_covers(make_case):
    # 污水井盖异常: 6 natural hours, nights and holidays included (Guangzhou/Tianjin rules)
    case = make_case("01002", at(2026, 10, 3, 21, 0), dispatched=at(2026, 10, 3, 22, 0))
    assert case.dispatch_deadline == at(2026, 10, 8, 9, 0)  # dispatching is office work: 0.5 working hours
    assert case.handling_deadline == at(2026, 10, 4, 4, 0)


def test_postponement_extends_in_working_hours(make_case, user_for):
    case = make_case("06012", at(2026, 9, 24, 16, 0), dispatched=at(2026, 9, 24, 17, 30))
    step = services.Step(note="需协调产权单位", extension_hours=4)
    case = services.transition(user_for("depthandler"), case, "request_postponement", step, now=at(2026, 9, 28, 9))
    assert case.handling_deadline == at(2026, 9, 28, 15, 0)  # the clock still runs while asked
    case = services.transition(user_for("shiftleader"), case, "approve_postponement", now=at(2026, 9, 28, 10))
    # 15:00-18:00 Monday (3 h) and 08:30-09:30 Tuesday (1 h)
    assert case.stage == "postponed" and case.postponed_count == 1
    assert case.handling_deadline == case.deadline_at == at(2026, 9, 29, 9, 30)


def test_suspension_keeps_the_remaining_working_time(make_case, user_for):
    case = make_case("06012", at(2026, 9, 24, 16, 0), dispatched=at(2026, 9, 24, 17, 30))
    leader = user_for("shiftleader")
    case = services.transition(leader, case, "suspend", services.Step(note="暴雨停工"), now=at(2026, 9, 28, 10))
    assert case.stage == "suspended" and case.deadline_at is None and features.timer_state(case) is None
    assert case.paused_seconds == 3 * 3600  # 10:00-12:00 and 14:00-15:00
    case = services.transition(leader, case, "resume", now=at(2026, 9, 30, 17, 0))
    # 17:00-18:00 Wednesday, 国庆 Oct 1-7, then 08:30-10:30 Thursday Oct 8
    assert case.stage == "dispatched" and case.deadline_at == at(2026, 10, 8, 10, 30)


def test_overdue_sweep_publishes_once(make_case):
    case = make_case("06012", at(2026, 9, 24, 16, 0), dispatched=at(2026, 9, 24, 17, 30))
    events = Event.objects.filter(topic="cases", data__id=case.pk)
    assert services.sweep_overdue(at(2026, 9, 28, 14, 0))["yellow"] >= 1
    assert events.filter(type="case.updated", data__properties__timer_state="yellow").exists()
    call_command("sweep_overdue_cases", "--now", "2026-09-28T16:00:00+08:00")
    overdue = events.filter(type="case.overdue")
    assert overdue.count() == 1 and overdue.get().data["properties"]["timer_state"] == "red"
    assert case.department_id in overdue.get().orgs
    services.sweep_overdue(at(2026, 9, 28, 17, 0))
    assert overdue.count() == 1
