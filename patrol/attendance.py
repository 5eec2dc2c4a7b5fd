"""Attendance states of an inspector (监督员在岗状态) from their shift and their last fix — no database.

=============  ============================================================================================
off            休息: no shift now
not_started    未上岗: in a shift, no fix since it started
on_duty        在岗: in a shift, the last fix is recent and inside the inspector's own grids
away           离岗: in a shift, the last fix is recent but outside the inspector's own grids
silent         超时未报: in a shift, fixes came since it started but the last is older than ``SILENT_AFTER``
=============  ============================================================================================
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

# the tablet reports every 30 s while patrolling; five missed minutes means it stopped (switched off, no signal)
SILENT_AFTER = timedelta(minutes=5)


class State(StrEnum):
    OFF = "off"
    NOT_STARTED = "not_started"
    ON_DUTY = "on_duty"
    AWAY = "away"
    SILENT = "silent"


LABELS = {
    State.OFF: "休息",
    State.NOT_STARTED: "未上岗",
    State.ON_DUTY: "在岗",
    State.AWAY: "离岗",
    State.SILENT: "超时未报",
}


@dataclass(frozen=True)
class LastFix:
    at: datetime
    in_own_grids: bool


def state(now: datetime, shift: tuple[datetime, datetime] | None, last: LastFix | None) -> State:
    """The attendance state at ``now`` of an inspector whose current shift is ``shift`` (None: none now)."""
    if shift is None or not shift[0] <= now < shift[1]:
        return State.OFF
    if last is None or last.at < shift[0]:
        return State.NOT_STARTED
    if now - last.at > SILENT_AFTER:
        return State.SILENT
    return State.ON_DUTY if last.in_own_grids else State.AWAY
