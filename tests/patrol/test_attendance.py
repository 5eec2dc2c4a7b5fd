"""Attendance states (patrol/attendance.py) as a table: shift, last fix and the state they give."""

from datetime import datetime, timedelta

import pytest

from patrol.attendance import LABELS, SILENT_AFTER, LastFix, State, state

NOW = datetime(2030, 1, 7, 10, 0)
SHIFT = (datetime(2030, 1, 7, 8), datetime(2030, 1, 7, 17))


def fix(minutes_ago: float, inside: bool = True) -> LastFix:
    return LastFix(at=NOW - timedelta(minutes=minutes_ago), in_own_grids=inside)


@pytest.mark.parametrize(
    ("shift", "last", "expected"),
    [
        (None, fix(1), State.OFF),  # no shift
        ((NOW - timedelta(hours=9), NOW), fix(1), State.OFF),  # the shift ended exactly now
        ((NOW + timedelta(minutes=1), NOW + timedelta(hours=8)), None, State.OFF),  # not begun
        (SHIFT, None, State.NOT_STARTED),  # in a shift, never reported
        (SHIFT, fix(150), State.NOT_STARTED),  # last fix before the shift began (07:30)
        (SHIFT, fix(1), State.ON_DUTY),
        (SHIFT, fix(SILENT_AFTER.total_seconds() / 60), State.ON_DUTY),  # exactly the limit is still on duty
        (SHIFT, fix(1, inside=False), State.AWAY),
        (SHIFT, fix(SILENT_AFTER.total_seconds() / 60 + 0.5), State.SILENT),
        (SHIFT, fix(60, inside=False), State.SILENT),  # silent wins over away: where they are now is unknown
    ],
)
def test_attendance_state(shift, last, expected):
    assert state(NOW, shift, last) is expected


def test_every_state_has_a_chinese_label():
    assert {LABELS[s] for s in State} == {"休息", "未上岗", "在岗", "离岗", "超时未报"}
