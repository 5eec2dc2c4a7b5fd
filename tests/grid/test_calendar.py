"""Time-limit arithmetic on the 2026 calendar with exact expected deadlines (worked out by hand).

Working hours 08:30–12:00 and 14:00–18:00 (7.5 h a day). 2026 facts used below: 2026-01-09 is a
Friday; 2026-03-02 a Monday; 10-01…10-07 国庆 holidays with Saturday 10-10 worked; 09-25…09-27 中秋;
Sunday 09-20 worked; Saturday 02-14 worked before 春节 02-15…02-23; 01-01…01-03 元旦 with Sunday 01-04 worked.
Pure: no database.
"""

from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grid.calendar import (
    CN_2026_HOLIDAYS,
    CN_2026_WORKDAYS,
    SHANGHAI,
    TimeLimit,
    WarningPolicy,
    WorkingCalendar,
    china_2026,
)

CAL = china_2026()
H = timedelta(hours=1)


def t(*args):
    return datetime(*args, tzinfo=SHANGHAI)


def test_the_2026_data():
    assert len(CN_2026_HOLIDAYS) == 3 + 9 + 3 + 5 + 3 + 3 + 7
    assert {d.weekday() for d in CN_2026_WORKDAYS} <= {5, 6}  # every 调休 day is a weekend day
    assert date(2026, 2, 17) in CN_2026_HOLIDAYS  # 正月初一
    assert not CAL.is_working_day(date(2026, 10, 1))
    assert CAL.is_working_day(date(2026, 10, 10))  # Saturday, worked
    assert CAL.is_working_day(date(2026, 9, 20))  # Sunday, worked
    assert not CAL.is_working_day(date(2026, 3, 7))  # an ordinary Saturday
    assert CAL.working_time_on(date(2026, 3, 2)) == timedelta(hours=7, minutes=30)


@pytest.mark.parametrize(
    ("start", "hours", "deadline"),
    [
        # inside one morning / across the lunch break
        (t(2026, 3, 2, 9, 0), 1, t(2026, 3, 2, 10, 0)),
        (t(2026, 3, 2, 11, 0), 2, t(2026, 3, 2, 15, 0)),  # 11–12 + 14–15
        (t(2026, 3, 2, 12, 30), 1, t(2026, 3, 2, 15, 0)),  # starts in the lunch break
        (t(2026, 3, 2, 12, 0), 1, t(2026, 3, 2, 15, 0)),  # starts exactly at a period end
        # ending exactly on a boundary: that boundary, not the next period's start
        (t(2026, 3, 2, 10, 0), 2, t(2026, 3, 2, 12, 0)),
        (t(2026, 3, 2, 8, 30), 7.5, t(2026, 3, 2, 18, 0)),
        (t(2026, 3, 2, 16, 0), 2, t(2026, 3, 2, 18, 0)),
        # starting outside working hours
        (t(2026, 3, 2, 7, 0), 1, t(2026, 3, 2, 9, 30)),
        (t(2026, 3, 2, 20, 0), 1, t(2026, 3, 3, 9, 30)),
        (t(2026, 3, 7, 10, 0), 1, t(2026, 3, 9, 9, 30)),  # Saturday → Monday
        # across a weekend: Fri 17–18 (1 h) + Mon 08:30–09:30
        (t(2026, 1, 9, 17, 0), 2, t(2026, 1, 12, 9, 30)),
        (t(2026, 3, 6, 16, 0), 10, t(2026, 3, 10, 9, 0)),  # Fri 2 h + Mon 7.5 h + Tue 0.5 h
        # across public holidays
        (t(2026, 9, 30, 17, 0), 2, t(2026, 10, 8, 9, 30)),  # 国庆 10-01…07
        (t(2026, 9, 24, 17, 0), 4, t(2026, 9, 28, 11, 30)),  # 中秋 Fri 09-25 off: Thu 1 h + Mon 3 h
        (t(2026, 12, 31, 17, 0), 1, t(2026, 12, 31, 18, 0)),
        # adjusted working days (调休)
        (t(2026, 10, 9, 17, 0), 2, t(2026, 10, 10, 9, 30)),  # Saturday 10-10 is worked
        (t(2026, 9, 19, 10, 0), 1, t(2026, 9, 20, 9, 30)),  # Sunday 09-20 is worked
        (t(2026, 2, 13, 17, 0), 8, t(2026, 2, 14, 17, 30)),  # Fri 1 h + Sat 02-14 7 h
        (t(2026, 2, 13, 17, 0), 9, t(2026, 2, 24, 9, 0)),  # Fri 1 h + Sat 7.5 h + (春节) Tue 0.5 h
        (t(2025, 12, 31, 17, 0), 2, t(2026, 1, 4, 9, 30)),  # 元旦 01-01…03, Sunday 01-04 worked
        # zero
        (t(2026, 3, 7, 10, 0), 0, t(2026, 3, 7, 10, 0)),
    ],
)
def test_add_working_hours(start, hours, deadline):
    assert CAL.add_working_time(start, hours) == deadline
    assert CAL.add_working_time(start, timedelta(hours=hours)) == deadline
    assert CAL.deadline(start, TimeLimit(hours, "working_hours")) == deadline


@pytest.mark.parametrize(
    ("start", "days", "deadline"),
    [
        (t(2026, 3, 2, 10, 0), 1, t(2026, 3, 3, 10, 0)),  # same position next working day
        (t(2026, 3, 6, 10, 0), 1, t(2026, 3, 9, 10, 0)),  # Friday → Monday
        (t(2026, 3, 2, 10, 0), 5, t(2026, 3, 9, 10, 0)),
        (t(2026, 3, 2, 7, 0), 2, t(2026, 3, 3, 18, 0)),  # before work: Monday is day 1
        (t(2026, 3, 2, 19, 0), 1, t(2026, 3, 3, 18, 0)),  # after work: counts from Tuesday morning
        (t(2026, 3, 2, 12, 30), 1, t(2026, 3, 3, 12, 0)),  # lunch: 3.5 h into the day
        (t(2026, 3, 7, 10, 0), 1, t(2026, 3, 9, 18, 0)),  # Saturday → end of Monday
        (t(2026, 9, 30, 10, 0), 1, t(2026, 10, 8, 10, 0)),  # across 国庆
        (t(2026, 10, 9, 19, 0), 1, t(2026, 10, 10, 18, 0)),  # worked Saturday 10-10
        (t(2026, 1, 1, 10, 0), 1, t(2026, 1, 4, 18, 0)),  # holiday → worked Sunday 01-04
        (t(2026, 3, 2, 10, 0), 0.5, t(2026, 3, 2, 15, 45)),  # half a day = 3 h 45 min
        (t(2026, 3, 2, 10, 0), 1.5, t(2026, 3, 3, 15, 45)),
    ],
)
def test_add_working_days(start, days, deadline):
    assert CAL.add_working_days(start, days) == deadline
    assert CAL.deadline(start, TimeLimit(days, "working_days")) == deadline


@pytest.mark.parametrize(
    ("start", "hours", "deadline"),
    [
        (t(2026, 1, 9, 17, 0), 24, t(2026, 1, 10, 17, 0)),  # Saturday counts
        (t(2026, 9, 30, 20, 0), 6, t(2026, 10, 1, 2, 0)),  # holidays and nights count
        (t(2026, 3, 2, 11, 0), 2, t(2026, 3, 2, 13, 0)),  # so does the lunch break
        (t(2026, 3, 2, 11, 0), 0.5, t(2026, 3, 2, 11, 30)),
    ],
)
def test_natural_hours(start, hours, deadline):
    assert CAL.deadline(start, TimeLimit(hours, "natural_hours")) == deadline


def test_other_time_zones_in_and_shanghai_out():
    start = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
    deadline = CAL.add_working_time(start, 2)
    assert deadline == datetime(2026, 3, 2, 4, 0, tzinfo=UTC)
    assert deadline.tzinfo == SHANGHAI and deadline.hour == 12


def test_bad_input():
    with pytest.raises(ValueError, match="aware"):
        CAL.add_working_time(datetime(2026, 3, 2, 10, 0), 1)
    with pytest.raises(ValueError, match="negative"):
        CAL.add_working_time(t(2026, 3, 2, 10, 0), -1)
    with pytest.raises(ValueError):
        TimeLimit(-1, "working_hours")
    with pytest.raises(ValueError):
        TimeLimit(1, "fortnights")
    with pytest.raises(ValueError, match="overlap"):
        WorkingCalendar(periods=[(time(8), time(12)), (time(11), time(13))])
    with pytest.raises(ValueError, match="no working time"):
        WorkingCalendar(weekend=range(7)).add_working_time(t(2026, 3, 2, 10, 0), 1)


def test_working_time_between():
    assert CAL.working_time_between(t(2026, 1, 9, 17, 0), t(2026, 1, 12, 9, 30)) == 2 * H
    assert CAL.working_time_between(t(2026, 1, 12, 9, 30), t(2026, 1, 9, 17, 0)) == -2 * H
    assert CAL.working_time_between(t(2026, 10, 1, 0, 0), t(2026, 10, 8, 0, 0)) == timedelta(0)
    assert CAL.working_time_between(t(2026, 3, 2, 0, 0), t(2026, 3, 9, 0, 0)) == 5 * timedelta(hours=7.5)
    assert CAL.working_time_between(t(2026, 3, 2, 11, 0), t(2026, 3, 2, 14, 30)) == 1.5 * H


def test_city_configuration():
    city = WorkingCalendar.from_config(
        {
            "periods": [["09:00", "12:00"], ["13:30", "17:30"]],
            "holidays": ["2026-03-03"],
            "workdays": ["2026-03-07"],
        }
    )
    # Mon 16:30–17:30 1 h; Tue off (local holiday); Wed 09:00–10:00
    assert city.add_working_time(t(2026, 3, 2, 16, 30), 2) == t(2026, 3, 4, 10, 0)
    assert city.add_working_time(t(2026, 3, 6, 17, 0), 1) == t(2026, 3, 7, 9, 30)  # local worked Saturday
    assert city.typical_day_length() == 7 * H


def test_warning_levels_in_working_time():
    start = t(2026, 3, 2, 8, 30)
    deadline = CAL.deadline(start, TimeLimit(10, "working_hours"))
    assert deadline == t(2026, 3, 3, 11, 0)  # Mon 7.5 h + Tue 2.5 h
    # 80 % = 8 working hours used = Tue 09:00
    assert CAL.warning_level(start, deadline, t(2026, 3, 2, 17, 0)) == "green"
    assert CAL.warning_level(start, deadline, t(2026, 3, 2, 23, 0)) == "green"  # the night does not count
    assert CAL.warning_level(start, deadline, t(2026, 3, 3, 8, 59)) == "green"
    assert CAL.warning_level(start, deadline, t(2026, 3, 3, 9, 0)) == "yellow"
    assert CAL.warning_level(start, deadline, t(2026, 3, 3, 11, 0)) == "yellow"  # at the deadline: not late yet
    assert CAL.warning_level(start, deadline, t(2026, 3, 3, 11, 0, 1)) == "red"
    half = WarningPolicy(yellow_ratio=0.5)
    assert CAL.warning_level(start, deadline, t(2026, 3, 2, 14, 0), policy=half) == "green"  # 3.5 h
    assert CAL.warning_level(start, deadline, t(2026, 3, 2, 15, 30), policy=half) == "yellow"  # 5 h
    last_hour = WarningPolicy(yellow_ratio=1.0, yellow_before=H)
    assert CAL.warning_level(start, deadline, t(2026, 3, 3, 9, 59), policy=last_hour) == "green"
    assert CAL.warning_level(start, deadline, t(2026, 3, 3, 10, 0), policy=last_hour) == "yellow"


def test_warning_levels_in_natural_time():
    start = t(2026, 10, 1, 0, 0)
    deadline = CAL.deadline(start, TimeLimit(10, "natural_hours"))
    assert CAL.warning_level(start, deadline, t(2026, 10, 1, 7, 59), natural=True) == "green"
    assert CAL.warning_level(start, deadline, t(2026, 10, 1, 8, 0), natural=True) == "yellow"
    assert CAL.warning_level(start, deadline, t(2026, 10, 1, 10, 1), natural=True) == "red"


def test_suspension_keeps_the_remaining_working_time():
    deadline = t(2026, 3, 3, 11, 0)
    left = CAL.remaining(t(2026, 3, 2, 16, 0), deadline)  # suspended Mon 16:00: 2 h Mon + 2.5 h Tue
    assert left == 4.5 * H
    assert CAL.add_working_time(t(2026, 3, 9, 10, 0), left) == t(2026, 3, 9, 16, 30)  # resumed the next Monday


# -- properties -----------------------------------------------------------------------------------

instants = st.datetimes(min_value=datetime(2025, 12, 1), max_value=datetime(2027, 1, 31), timezones=st.just(SHANGHAI))
durations = st.timedeltas(min_value=timedelta(0), max_value=timedelta(hours=300))


@settings(max_examples=300, deadline=None)
@given(instants, durations)
def test_working_time_between_inverts_add_working_time(start, duration):
    deadline = CAL.add_working_time(start, duration)
    assert deadline >= start
    assert CAL.working_time_between(start, deadline) == duration


@settings(max_examples=300, deadline=None)
@given(instants, instants)
def test_add_working_time_of_the_working_time_between(a, b):
    a, b = min(a, b), max(a, b)
    back = CAL.add_working_time(a, CAL.working_time_between(a, b))
    assert a <= back <= b
    # nothing but non-working time lies between the two
    assert CAL.working_time_between(back, b) == timedelta(0)


@settings(max_examples=200, deadline=None)
@given(instants, st.integers(min_value=0, max_value=30))
def test_working_days_equal_whole_days_of_working_time(start, days):
    assert CAL.add_working_days(start, days) == CAL.add_working_time(start, days * timedelta(hours=7.5))
