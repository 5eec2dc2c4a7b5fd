"""The period picker's arithmetic (no database)."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from core.errors import InputError
from leader.periods import MAX_PERIOD_DAYS, parse

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 19, 15, 30, tzinfo=TZ)  # a Thursday


def test_named_periods_run_from_their_local_start_to_now():
    assert parse("today", None, None, now=NOW, tz=TZ).start == datetime(2026, 11, 19, tzinfo=TZ)
    assert parse("week", None, None, now=NOW, tz=TZ).start == datetime(2026, 11, 16, tzinfo=TZ)  # Monday
    assert parse("month", None, None, now=NOW, tz=TZ).start == datetime(2026, 11, 1, tzinfo=TZ)
    year = parse("year", None, None, now=NOW, tz=TZ)
    assert (year.start, year.end) == (datetime(2026, 1, 1, tzinfo=TZ), NOW)


def test_a_named_period_is_compared_with_the_same_span_of_the_one_before():
    week = parse("week", None, None, now=NOW, tz=TZ).previous
    assert (week.start, week.end) == (datetime(2026, 11, 9, tzinfo=TZ), datetime(2026, 11, 12, 15, 30, tzinfo=TZ))
    month = parse("month", None, None, now=NOW, tz=TZ).previous
    assert (month.start, month.end) == (datetime(2026, 10, 1, tzinfo=TZ), datetime(2026, 10, 19, 15, 30, tzinfo=TZ))
    late_march = datetime(2026, 3, 31, 12, tzinfo=TZ)  # 30.5 days of March against February, which is shorter
    february = parse("month", None, None, now=late_march, tz=TZ).previous
    assert (february.start, february.end) == (datetime(2026, 2, 1, tzinfo=TZ), datetime(2026, 3, 1, tzinfo=TZ))


def test_a_custom_period_is_compared_with_as_many_days_just_before():
    period = parse("custom", "2026-03-11", "2026-03-20", now=NOW, tz=TZ).previous
    assert (period.start, period.end) == (datetime(2026, 3, 1, tzinfo=TZ), datetime(2026, 3, 11, tzinfo=TZ))


def test_a_custom_period_includes_both_days():
    period = parse(None, "2026-03-01", "2026-03-31", now=NOW, tz=TZ)
    assert period.kind == "custom"
    assert (period.start, period.end) == (datetime(2026, 3, 1, tzinfo=TZ), datetime(2026, 4, 1, tzinfo=TZ))
    single = parse("custom", "2026-03-01", "2026-03-01", now=NOW, tz=TZ)
    assert (single.end - single.start).days == 1


@pytest.mark.parametrize(
    ("kind", "start", "end", "field"),
    [
        ("custom", "2026-03-02", "2026-03-01", "to"),  # empty
        ("custom", "2016-01-01", "2025-12-31", "to"),  # ten years
        ("custom", "2025-01-01", "2026-01-02", "to"),  # one day over the maximum
        ("custom", None, "2026-01-02", "from"),
        ("custom", "2026-13-01", "2026-12-31", "from"),
        ("decade", None, None, "period"),
        ("week", "2026-01-01", None, "from"),
    ],
)
def test_bad_periods_name_the_field(kind, start, end, field):
    with pytest.raises(InputError) as refused:
        parse(kind, start, end, now=NOW, tz=TZ)
    assert refused.value.field == field


def test_the_maximum_itself_is_accepted():
    period = parse("custom", "2025-01-01", "2026-01-01", now=NOW, tz=TZ)
    assert (period.end - period.start).days == MAX_PERIOD_DAYS
