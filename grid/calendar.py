"""Working calendar for case time limits (处置时限): working hours, weekends, holidays, 调休, warnings.

Pure Python (``zoneinfo``), no Django, no network. All arithmetic is done in the calendar's zone
(Asia/Shanghai by default); inputs must be timezone-aware datetimes (any zone), results come back in
the calendar's zone.

Definitions
-----------
* A **working day** is a date that is listed in ``workdays`` (调休: a weekend day that is worked), or
  else not listed in ``holidays`` and not a weekend day. ``workdays`` wins over ``holidays``.
* **Working time** is the time inside the working periods of working days, by default
  08:30–12:00 and 14:00–18:00 (7.5 h a day; cities set their own, e.g. a summer timetable by
  overriding :meth:`WorkingCalendar.periods_on`).
* ``add_working_time(start, d)`` is the earliest instant at which ``d`` of working time has passed since
  ``start``. Counting starts at the next working instant when ``start`` is outside working hours, and
  a deadline that falls exactly on the end of a period is that end (12:00, not 14:00).
  ``add_working_time(start, 0) == start``.
* ``working_time_between(a, b)`` is the working time inside ``[a, b)`` (negative when ``b < a``), so
  ``working_time_between(s, add_working_time(s, d)) == d`` exactly.
* ``N working days`` means the same position in the working day N working days later: 10:00 Monday + 1
  working day = 10:00 Tuesday; a start outside working hours counts from the next working instant, so
  19:00 Friday + 1 working day = 18:00 Monday. With equal days this equals N × the day's working time.
* **Natural hours** (紧急 cases, manhole covers …) are plain elapsed time, weekends and nights included.
* **Warning levels** (grid-standards.md §4.4, the thresholds are city configuration, not standard):
  ``red`` when ``now`` is after the deadline; ``yellow`` when at least ``yellow_ratio`` (default 80 %) of
  the limit is used, or, if ``yellow_before`` is set, when no more than that much time is left;
  ``green`` otherwise. Used time is measured like the limit (working or natural time).

Holiday data
------------
``CN_2026_HOLIDAYS`` / ``CN_2026_WORKDAYS`` are the national 2026 arrangement from the State Council
notice 《国务院办公厅关于2026年部分节假日安排的通知》 of 2025-11-04 (元旦 1-01…03, 春节 2-15…23,
清明 4-04…06, 劳动节 5-01…05, 端午 6-19…21, 中秋 9-25…27, 国庆 10-01…07; worked weekend days 1-04,
2-14, 2-28, 5-09, 9-20, 10-10). Each city edits its calendar: add local holidays, the next year's
notice (published each November) and its own working hours (:meth:`WorkingCalendar.from_config`).
Dates outside the years you loaded are treated as ordinary weekdays/weekends — there is no guessing.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

__all__ = [
    "CN_2026_HOLIDAYS",
    "CN_2026_WORKDAYS",
    "DEFAULT_PERIODS",
    "SHANGHAI",
    "LimitUnit",
    "TimeLimit",
    "WarningLevel",
    "WarningPolicy",
    "WorkingCalendar",
    "china_2026",
]

SHANGHAI = ZoneInfo("Asia/Shanghai")
DEFAULT_PERIODS: tuple[tuple[time, time], ...] = ((time(8, 30), time(12, 0)), (time(14, 0), time(18, 0)))
_MAX_SEARCH_DAYS = 3700  # ten years without a working day means the calendar is misconfigured


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


CN_2026_HOLIDAYS: frozenset[date] = frozenset(
    [
        *_days(date(2026, 1, 1), date(2026, 1, 3)),  # 元旦
        *_days(date(2026, 2, 15), date(2026, 2, 23)),  # 春节
        *_days(date(2026, 4, 4), date(2026, 4, 6)),  # 清明节
        *_days(date(2026, 5, 1), date(2026, 5, 5)),  # 劳动节
        *_days(date(2026, 6, 19), date(2026, 6, 21)),  # 端午节
        *_days(date(2026, 9, 25), date(2026, 9, 27)),  # 中秋节
        *_days(date(2026, 10, 1), date(2026, 10, 7)),  # 国庆节
    ]
)
CN_2026_WORKDAYS: frozenset[date] = frozenset(
    [date(2026, 1, 4), date(2026, 2, 14), date(2026, 2, 28), date(2026, 5, 9), date(2026, 9, 20), date(2026, 10, 10)]
)


class LimitUnit(StrEnum):
    WORKING_HOURS = "working_hours"  # 工作时
    WORKING_DAYS = "working_days"  # 工作日
    NATURAL_HOURS = "natural_hours"  # 自然时 (紧急 cases)


@dataclass(frozen=True)
class TimeLimit:
    """A category's stage limit, e.g. ``TimeLimit(4, "working_hours")`` or ``TimeLimit(2, "working_days")``."""

    amount: float
    unit: LimitUnit

    def __post_init__(self):
        object.__setattr__(self, "unit", LimitUnit(self.unit))
        if not math.isfinite(self.amount) or self.amount < 0:
            raise ValueError(f"time limit must be a finite amount >= 0, got {self.amount!r}")

    @property
    def natural(self) -> bool:
        return self.unit is LimitUnit.NATURAL_HOURS


class WarningLevel(StrEnum):
    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"


@dataclass(frozen=True)
class WarningPolicy:
    yellow_ratio: float = 0.8  # yellow when this share of the limit is used
    yellow_before: timedelta | None = None  # …or when at most this much (working/natural) time is left


def _aware(value: datetime, name: str) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got {value!r}")
    return value


def _duration(value: timedelta | float) -> timedelta:
    if isinstance(value, timedelta):
        duration = value
    else:
        if not math.isfinite(value):
            raise ValueError(f"duration must be finite, got {value!r}")
        duration = timedelta(hours=value)
    if duration < timedelta(0):
        raise ValueError(f"duration must not be negative, got {value!r}")
    return duration


class WorkingCalendar:
    """Working days and hours of one city (see the module docstring for the exact rules)."""

    def __init__(
        self,
        periods: Iterable[tuple[time, time]] = DEFAULT_PERIODS,
        weekend: Iterable[int] = (5, 6),
        holidays: Iterable[date] = (),
        workdays: Iterable[date] = (),
        tz: ZoneInfo = SHANGHAI,
    ):
        self.periods = tuple(sorted((a, b) for a, b in periods))
        if not self.periods:
            raise ValueError("a working calendar needs at least one working period")
        previous_end = time(0)
        for a, b in self.periods:
            if not a < b or a < previous_end:
                raise ValueError(f"working periods must be increasing and not overlap: {self.periods}")
            previous_end = b
        self.weekend = frozenset(int(d) for d in weekend)
        self.holidays = frozenset(holidays)
        self.workdays = frozenset(workdays)
        self.tz = tz

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> WorkingCalendar:
        """From a JSON-like dict a city edits::

        {"periods": [["08:30", "12:00"], ["14:00", "18:00"]], "weekend": [5, 6],
         "holidays": ["2026-10-01", …], "workdays": ["2026-10-10"], "timezone": "Asia/Shanghai"}
        """
        return cls(
            periods=[(_parse_time(a), _parse_time(b)) for a, b in config.get("periods", DEFAULT_PERIODS)],
            weekend=config.get("weekend", (5, 6)),
            holidays=[_parse_date(d) for d in config.get("holidays", ())],
            workdays=[_parse_date(d) for d in config.get("workdays", ())],
            tz=ZoneInfo(config.get("timezone", "Asia/Shanghai")),
        )

    # -- days and periods -------------------------------------------------------------------------

    def is_working_day(self, day: date) -> bool:
        if day in self.workdays:
            return True
        return day not in self.holidays and day.weekday() not in self.weekend

    def periods_on(self, day: date) -> list[tuple[datetime, datetime]]:
        """The working periods of ``day`` as aware datetimes (empty on a day off). Override for seasons."""
        if not self.is_working_day(day):
            return []
        return [(datetime.combine(day, a, self.tz), datetime.combine(day, b, self.tz)) for a, b in self.periods]

    def working_time_on(self, day: date) -> timedelta:
        return sum((b - a for a, b in self.periods_on(day)), timedelta(0))

    def _days_from(self, day: date) -> Iterator[date]:
        for i in range(_MAX_SEARCH_DAYS):
            yield day + timedelta(days=i)
        raise ValueError(f"no working time within {_MAX_SEARCH_DAYS} days after {day}: check the calendar")

    def _next_working_days(self, day: date) -> Iterator[date]:
        """Working days strictly after ``day``."""
        for d in self._days_from(day + timedelta(days=1)):
            if self.is_working_day(d):
                yield d

    # -- arithmetic -------------------------------------------------------------------------------

    def add_working_time(self, start: datetime, duration: timedelta | float) -> datetime:
        """The instant when ``duration`` (a timedelta or a number of hours) of working time has passed."""
        start = _aware(start, "start").astimezone(self.tz)
        remaining = _duration(duration)
        if not remaining:
            return start
        for day in self._days_from(start.date()):
            for a, b in self.periods_on(day):
                if b <= start:
                    continue
                begin = max(a, start)
                available = b - begin
                if remaining <= available:
                    return begin + remaining
                remaining -= available
        raise AssertionError("unreachable")  # pragma: no cover

    def working_time_between(self, a: datetime, b: datetime) -> timedelta:
        """Working time inside ``[a, b)``; negative when ``b`` is before ``a``."""
        a = _aware(a, "a").astimezone(self.tz)
        b = _aware(b, "b").astimezone(self.tz)
        if b < a:
            return -self.working_time_between(b, a)
        total = timedelta(0)
        day, last = a.date(), b.date()
        while day <= last:
            for p, q in self.periods_on(day):
                lo, hi = max(p, a), min(q, b)
                if hi > lo:
                    total += hi - lo
            day += timedelta(days=1)
        return total

    def add_working_days(self, start: datetime, days: float) -> datetime:
        """The same position in the working day ``days`` working days later (a fraction: share of a day)."""
        start = _aware(start, "start").astimezone(self.tz)
        if not math.isfinite(days) or days < 0:
            raise ValueError(f"working days must be a finite number >= 0, got {days!r}")
        whole, fraction = int(days), days - int(days)
        result = start
        if whole:
            today = start.date()
            offset, at_end = timedelta(0), True
            if not self.is_working_day(today):
                target = self._nth_working_day_after(today, whole)  # counted from the next working morning
            else:
                offset = self.working_time_between(self.periods_on(today)[0][0], start)
                if offset == timedelta(0):  # before the first period: today is the first of the N days
                    target = self._nth_working_day_after(today, whole - 1)
                else:  # during the day (same position N days later) or after hours (end of the N-th day)
                    target = self._nth_working_day_after(today, whole)
                    at_end = offset >= self.working_time_on(today)
            length = self.working_time_on(target)
            result = self.add_working_time(self.periods_on(target)[0][0], length if at_end else min(offset, length))
        if fraction:
            result = self.add_working_time(result, self.typical_day_length() * fraction)
        return result

    def _nth_working_day_after(self, day: date, n: int) -> date:
        """``day`` itself for n = 0, else the n-th working day after it."""
        if n == 0:
            return day
        for i, d in enumerate(self._next_working_days(day), 1):
            if i == n:
                return d
        raise AssertionError("unreachable")  # pragma: no cover

    def typical_day_length(self) -> timedelta:
        """The working time of an ordinary working day (the configured periods)."""
        anchor = date(2000, 1, 3)
        return sum((datetime.combine(anchor, b) - datetime.combine(anchor, a) for a, b in self.periods), timedelta(0))

    # -- limits and warnings ----------------------------------------------------------------------

    def deadline(self, start: datetime, limit: TimeLimit) -> datetime:
        """The deadline of a stage that starts at ``start`` with ``limit``."""
        start = _aware(start, "start").astimezone(self.tz)
        if limit.unit is LimitUnit.NATURAL_HOURS:
            return start + timedelta(hours=limit.amount)
        if limit.unit is LimitUnit.WORKING_DAYS:
            return self.add_working_days(start, limit.amount)
        return self.add_working_time(start, timedelta(hours=limit.amount))

    def measure(self, a: datetime, b: datetime, *, natural: bool = False) -> timedelta:
        """Time from ``a`` to ``b`` as a limit counts it: natural time, or working time."""
        if natural:
            return _aware(b, "b") - _aware(a, "a")
        return self.working_time_between(a, b)

    def remaining(self, now: datetime, deadline: datetime, *, natural: bool = False) -> timedelta:
        """Time left until ``deadline`` (negative when overdue); used to pause a clock on suspension."""
        return self.measure(now, deadline, natural=natural)

    def used_ratio(self, start: datetime, deadline: datetime, now: datetime, *, natural: bool = False) -> float:
        total = self.measure(start, deadline, natural=natural)
        used = self.measure(start, now, natural=natural)
        if total <= timedelta(0):
            return math.inf if used > timedelta(0) or now > deadline else 1.0
        return used / total

    def warning_level(
        self,
        start: datetime,
        deadline: datetime,
        now: datetime,
        *,
        natural: bool = False,
        policy: WarningPolicy = WarningPolicy(),
    ) -> WarningLevel:
        """green / yellow / red of a running stage at ``now`` (red strictly after the deadline)."""
        if _aware(now, "now") > _aware(deadline, "deadline"):
            return WarningLevel.RED
        if self.used_ratio(start, deadline, now, natural=natural) >= policy.yellow_ratio:
            return WarningLevel.YELLOW
        if policy.yellow_before is not None and self.remaining(now, deadline, natural=natural) <= policy.yellow_before:
            return WarningLevel.YELLOW
        return WarningLevel.GREEN


def _parse_time(value: str | time) -> time:
    return value if isinstance(value, time) else time.fromisoformat(value)


def _parse_date(value: str | date) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


def china_2026(periods: Iterable[tuple[time, time]] = DEFAULT_PERIODS, **kwargs: Any) -> WorkingCalendar:
    """The national 2026 holidays and 调休 days with the given working hours (a city adds its own)."""
    return WorkingCalendar(
        periods=periods,
        holidays=CN_2026_HOLIDAYS | frozenset(kwargs.pop("holidays", ())),
        workdays=CN_2026_WORKDAYS | frozenset(kwargs.pop("workdays", ())),
        **kwargs,
    )
