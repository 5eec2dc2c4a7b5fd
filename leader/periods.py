"""The period picker's arithmetic (today, week, month, year, custom) and the period before it — no Django.

A period is a half-open interval ``[start, end)`` of aware datetimes in the city's time zone. The named
periods run from their local beginning (midnight, Monday, the 1st, 1 January) to ``now`` and are compared
with the same span of the day, week, month or year before (this week so far against the same hours of
last week). A custom period names whole local days, both included, and is compared with the days of the
same number just before it. No period may be longer than
``MAX_PERIOD_DAYS``: a leader's dashboard compares recent periods, and a longer span would scan years of
history for one request.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from core.errors import InputError

MAX_PERIOD_DAYS = 366
NAMED = ("today", "week", "month", "year")
KINDS = (*NAMED, "custom")


@dataclass(frozen=True)
class Period:
    kind: str
    start: datetime
    end: datetime
    previous_start: datetime | None = None  # default: the same length just before

    @property
    def previous(self) -> Period:
        start = self.previous_start or self.start - (self.end - self.start)
        return Period(self.kind, start, min(start + (self.end - self.start), self.start))

    def as_dict(self) -> dict:
        return {"kind": self.kind, "from": self.start.isoformat(), "to": self.end.isoformat()}


YEARS = (1900, 2999)


def _local_midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=tz)


def _day(value: str, field: str) -> date:
    try:
        day = date.fromisoformat(value)
    except (TypeError, ValueError):
        raise InputError(field, f"{value!r} is not a date (YYYY-MM-DD)") from None
    if not YEARS[0] <= day.year <= YEARS[1]:  # a period and the one before it must stay within the calendar
        raise InputError(field, f"{value} is outside the years {YEARS[0]}–{YEARS[1]} the decision maps cover")
    return day


def parse(kind: str | None, start: str | None, end: str | None, *, now: datetime, tz: ZoneInfo) -> Period:
    """The period a request names; ``InputError`` for an unknown kind, a bad or empty range, or one too long."""
    kind = kind or ("custom" if start or end else "month")
    if kind not in KINDS:
        raise InputError("period", f"period must be one of {', '.join(KINDS)}")
    local_now = now.astimezone(tz)
    today = local_now.date()
    if kind == "custom":
        if not start or not end:
            raise InputError("from" if not start else "to", "a custom period needs both 'from' and 'to' dates")
        first, last = _day(start, "from"), _day(end, "to")
        if last < first:
            raise InputError("to", f"the period is empty: 'to' ({last}) is before 'from' ({first})")
        if (last - first).days + 1 > MAX_PERIOD_DAYS:
            raise InputError("to", f"the period is longer than the maximum of {MAX_PERIOD_DAYS} days")
        return Period(kind, _local_midnight(first, tz), _local_midnight(last + timedelta(days=1), tz))
    if start or end:
        raise InputError("from" if start else "to", f"'from' and 'to' belong to a custom period, not '{kind}'")
    if kind == "today":
        first, before = today, today - timedelta(days=1)
    elif kind == "week":
        first = today - timedelta(days=today.weekday())
        before = first - timedelta(days=7)
    elif kind == "month":
        first = today.replace(day=1)
        before = (first - timedelta(days=1)).replace(day=1)
    else:
        first = today.replace(month=1, day=1)
        before = first.replace(year=first.year - 1)
    return Period(kind, _local_midnight(first, tz), local_now, _local_midnight(before, tz))
