"""Evaluation indicators (综合评价, grid-standards.md §5) from plain case histories — no database.

The SQL version in ``grid/selectors.py`` must give the same numbers; this module is the reference
implementation and the documentation of the formulas. Rates are ratios in [0, 1] (``None`` when the
denominator is 0); composite scores are points out of 100.

Input: one :class:`CaseHistory` per case with the timestamps of each stage (the *last* occurrence when
a stage repeats, e.g. handling after rework) and the deadlines in force (after approved postponements).
Everything is evaluated **as of** a moment (default: the end of the period): a stage completed after
``as_of`` counts as not yet done.

Who is counted (the cohort):

* report indicators (上报数, 有效上报数) — cases *reported* in ``[start, end)``;
* all other indicators — cases *filed* (立案) in ``[start, end)``.

Definitions (each ``…数`` is a count of cases of the cohort; a case is *dispatched*, *handled* … when that
timestamp exists and is ``<= as_of``):

=================  ============================================================================================
上报数             cases reported in the period
有效上报数         of those, cases that were filed (立案)
有效上报率         有效上报数 / 上报数
立案数             cases filed in the period
作废数             filed cases voided afterwards (作废 after 立案)
准确立案率         (立案数 − 作废数) / 立案数
应派遣数           filed cases that were dispatched, or not voided and their dispatch deadline is <= as_of
按时派遣数         dispatched with (first) dispatch time <= dispatch deadline
按时派遣率         按时派遣数 / 应派遣数
准确派遣数         dispatched and never returned (回退) by a department
准确派遣率         准确派遣数 / 应派遣数
应处置数           dispatched cases that are handled, or whose handling deadline is <= as_of ("due")
处置数             handled cases among 应处置数
按期处置数         handled with handling time <= handling deadline
处置率 / 按期处置率  处置数 / 应处置数, 按期处置数 / 应处置数
超期处置数         handled after the handling deadline
超期未处置数       not handled and the handling deadline is before as_of (超期待处置)
超期数             超期处置数 + 超期未处置数 (cases whose handling went over time)
应结案数           dispatched cases that are closed, or whose handling deadline is <= as_of
结案数             closed cases among 应结案数
按期结案数         closed and handled on time (handling time <= handling deadline)
超期结案数         closed but handled late
结案率 / 按期结案率 / 超期结案率   结案数, 按期结案数, 超期结案数 / 应结案数
返工数 / 返工次数  cases of 应结案数 with at least one rework / total reworks of those cases
返工率             返工数 / 应结案数 (the local scheme in the reference; some systems divide by 处置数)
延期数 / 延期率    cases of 应处置数 with an approved postponement / 应处置数
应核查数           handled cases (a check is due)
按时核查数         checked (verify_ok or verify_fail) with check time <= verification deadline
按时核查率 (及时核查率)  按时核查数 / 应核查数
=================  ============================================================================================

Composite scores:

* 部门/区域综合指标值 (local example from Chengdu Jinniu, the only published weights in the reference):
  ``处置率×30 + 按期处置率×20 + (1−返工率)×20 + (1−超期未处置数/应处置数)×20 + (1−延期率)×10``.
* 监督员综合指标值 (post evaluation): ``有效上报率×40 + (1−漏报率)×20 + 按时核实率×20 + 按时核查率×20``,
  with 漏报率 = 漏报数 / 立案数 in the inspector's grids (漏报数 is confirmed outside the case history and
  passed in) and 按时核实率 = 按时核实数 / 应核实数 (confirmation tasks sent to the inspector).
* Grades: A ≥ 90, B ≥ 75, C ≥ 60, D ≥ 40, E below.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields
from datetime import datetime

__all__ = [
    "CaseHistory",
    "Indicators",
    "InspectorIndicators",
    "evaluate",
    "evaluate_inspectors",
    "grade",
    "indicators",
]


@dataclass(frozen=True)
class CaseHistory:
    """One case's stage timestamps (aware datetimes) and deadlines, as read from the transition log."""

    case_id: str
    reported_at: datetime
    district: str | None = None
    street: str | None = None
    department: str | None = None  # the department the case was (last) dispatched to
    reporter: str | None = None  # the inspector who reported it (None for public / hotline reports)
    filed_at: datetime | None = None
    voided_at: datetime | None = None  # rejected (before filing) or voided (after filing)
    dispatched_at: datetime | None = None  # first dispatch
    dispatch_deadline: datetime | None = None
    returned_count: int = 0  # 回退 by a department
    handled_at: datetime | None = None  # last feedback
    handling_deadline: datetime | None = None  # in force, after approved postponements
    postponed_count: int = 0  # approved postponements
    checker: str | None = None  # the inspector assigned the (last) check (核查)
    checked_at: datetime | None = None  # last verify_ok / verify_fail
    verification_deadline: datetime | None = None
    rework_count: int = 0
    closed_at: datetime | None = None
    confirmer: str | None = None  # inspector sent to confirm (核实) a public report
    confirmation_sent_at: datetime | None = None
    confirmed_at: datetime | None = None
    confirmation_deadline: datetime | None = None
    satisfaction: str = ""  # the reporter's answer at the last call-back that reached them (回访), "" if none


def _ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def _rate(numerator: str, denominator: str) -> property:
    """A read-only rate of two count fields, so each indicator is one line naming its fraction."""
    return property(lambda self: _ratio(getattr(self, numerator), getattr(self, denominator)))


def _done(at: datetime | None, as_of: datetime) -> bool:
    return at is not None and at <= as_of


def _on_time(at: datetime | None, deadline: datetime | None, as_of: datetime) -> bool:
    return _done(at, as_of) and (deadline is None or at <= deadline)


@dataclass(frozen=True)
class Indicators:
    上报数: int = 0
    有效上报数: int = 0
    立案数: int = 0
    作废数: int = 0
    应派遣数: int = 0
    按时派遣数: int = 0
    准确派遣数: int = 0
    应处置数: int = 0
    处置数: int = 0
    按期处置数: int = 0
    超期处置数: int = 0
    超期未处置数: int = 0
    应结案数: int = 0
    结案数: int = 0
    按期结案数: int = 0
    超期结案数: int = 0
    返工数: int = 0
    返工次数: int = 0
    延期数: int = 0
    应核查数: int = 0
    按时核查数: int = 0
    回访数: int = 0  # reported cases whose reporter was reached by a call-back and rated it
    满意数: int = 0  # of those, 满意 or 基本满意

    有效上报率 = _rate("有效上报数", "上报数")

    @property
    def 准确立案率(self):
        return _ratio(self.立案数 - self.作废数, self.立案数)

    按时派遣率 = _rate("按时派遣数", "应派遣数")
    准确派遣率 = _rate("准确派遣数", "应派遣数")
    处置率 = _rate("处置数", "应处置数")
    按期处置率 = _rate("按期处置数", "应处置数")

    @property
    def 超期数(self):
        return self.超期处置数 + self.超期未处置数

    超期待处置率 = _rate("超期未处置数", "应处置数")
    结案率 = _rate("结案数", "应结案数")
    按期结案率 = _rate("按期结案数", "应结案数")
    超期结案率 = _rate("超期结案数", "应结案数")
    返工率 = _rate("返工数", "应结案数")
    延期率 = _rate("延期数", "应处置数")
    按时核查率 = _rate("按时核查数", "应核查数")
    满意率 = _rate("满意数", "回访数")

    及时核查率 = 按时核查率

    @property
    def 综合指标值(self) -> float | None:
        """Jinniu-style department/region composite (0–100); None when nothing was due."""
        factors = (self.处置率, self.按期处置率, self.返工率, self.超期待处置率, self.延期率)
        if any(f is None for f in factors):
            return None
        handled, on_time, rework, overdue, postponed = factors
        return handled * 30 + on_time * 20 + (1 - rework) * 20 + (1 - overdue) * 20 + (1 - postponed) * 10

    def as_dict(self) -> dict[str, float | int | None]:
        out: dict[str, float | int | None] = {f.name: getattr(self, f.name) for f in fields(self)}
        for name in _RATES:
            out[name] = getattr(self, name)
        return out


_RATES = (
    "有效上报率", "准确立案率", "按时派遣率", "准确派遣率", "处置率", "按期处置率", "超期数", "超期待处置率",
    "结案率", "按期结案率", "超期结案率", "返工率", "延期率", "按时核查率", "满意率", "综合指标值",
)  # fmt: skip


SATISFIED = frozenset({"satisfied", "basically_satisfied"})  # grid.models.CaseCallback.Satisfaction


def _in(at: datetime | None, start: datetime, end: datetime) -> bool:
    return at is not None and start <= at < end


def indicators(cases: Iterable[CaseHistory], start: datetime, end: datetime, as_of: datetime | None = None):
    """The indicators of ``cases`` for the period ``[start, end)``, evaluated as of ``as_of`` (default ``end``)."""
    as_of = end if as_of is None else as_of
    c: dict[str, int] = defaultdict(int)
    for case in cases:
        if _in(case.reported_at, start, end):
            c["上报数"] += 1
            c["有效上报数"] += _done(case.filed_at, as_of)
            if case.satisfaction:
                c["回访数"] += 1
                c["满意数"] += case.satisfaction in SATISFIED
        if not _in(case.filed_at, start, end):
            continue
        c["立案数"] += 1
        voided = _done(case.voided_at, as_of)
        c["作废数"] += voided
        dispatched = _done(case.dispatched_at, as_of)
        if dispatched or (not voided and case.dispatch_deadline is not None and case.dispatch_deadline <= as_of):
            c["应派遣数"] += 1
            c["按时派遣数"] += _on_time(case.dispatched_at, case.dispatch_deadline, as_of)
            c["准确派遣数"] += dispatched and case.returned_count == 0
        if not dispatched:
            continue
        handled = _done(case.handled_at, as_of)
        closed = _done(case.closed_at, as_of)
        deadline = case.handling_deadline
        due = deadline is not None and deadline <= as_of
        handled_on_time = _on_time(case.handled_at, deadline, as_of)
        if handled or due:
            c["应处置数"] += 1
            c["处置数"] += handled
            c["按期处置数"] += handled_on_time
            c["超期处置数"] += handled and not handled_on_time
            c["超期未处置数"] += not handled and due and deadline < as_of
            c["延期数"] += case.postponed_count > 0
        if closed or due:
            c["应结案数"] += 1
            c["结案数"] += closed
            c["按期结案数"] += closed and handled_on_time
            c["超期结案数"] += closed and not handled_on_time
            c["返工数"] += case.rework_count > 0
            c["返工次数"] += case.rework_count
        if handled:
            c["应核查数"] += 1
            c["按时核查数"] += _on_time(case.checked_at, case.verification_deadline, as_of)
    return Indicators(**c)


_GROUPS: dict[str, Callable[[CaseHistory], str | None]] = {
    "department": lambda case: case.department,
    "district": lambda case: case.district,
    "street": lambda case: case.street,
}


def evaluate(
    cases: Iterable[CaseHistory],
    start: datetime,
    end: datetime,
    by: str | Callable[[CaseHistory], str | None] = "department",
    as_of: datetime | None = None,
) -> dict[str | None, Indicators]:
    """Indicators per department / district / street (or any key function) for ``[start, end)``."""
    key = _GROUPS[by] if isinstance(by, str) else by
    groups: dict[str | None, list[CaseHistory]] = defaultdict(list)
    for case in cases:
        groups[key(case)].append(case)
    return {k: indicators(v, start, end, as_of) for k, v in groups.items()}


@dataclass(frozen=True)
class InspectorIndicators:
    上报数: int = 0
    有效上报数: int = 0
    漏报数: int = 0
    立案数: int = 0  # cases filed in the inspector's grids (denominator of 漏报率)
    应核实数: int = 0
    按时核实数: int = 0
    应核查数: int = 0
    按时核查数: int = 0

    有效上报率 = _rate("有效上报数", "上报数")
    漏报率 = _rate("漏报数", "立案数")
    按时核实率 = _rate("按时核实数", "应核实数")
    按时核查率 = _rate("按时核查数", "应核查数")

    @property
    def 综合指标值(self) -> float | None:
        """有效上报率×40 + (1−漏报率)×20 + 按时核实率×20 + 按时核查率×20; a factor without data scores full."""
        valid = self.有效上报率
        if valid is None:
            return None
        missed = self.漏报率 or 0.0
        confirm = 1.0 if self.按时核实率 is None else self.按时核实率
        check = 1.0 if self.按时核查率 is None else self.按时核查率
        return valid * 40 + (1 - missed) * 20 + confirm * 20 + check * 20


def evaluate_inspectors(
    cases: Iterable[CaseHistory],
    start: datetime,
    end: datetime,
    *,
    missed: Mapping[str, int] | None = None,
    filed_in_grids: Mapping[str, int] | None = None,
    as_of: datetime | None = None,
) -> dict[str, InspectorIndicators]:
    """Post evaluation of inspectors: reports by ``reporter``, confirmations by ``confirmer``, checks by ``checker``.

    ``missed`` (漏报数) and ``filed_in_grids`` (立案数 in each inspector's grids) come from outside the
    case history (grid assignment); both default to zero.
    """
    as_of = end if as_of is None else as_of
    c: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for case in cases:
        if case.reporter and _in(case.reported_at, start, end):
            c[case.reporter]["上报数"] += 1
            c[case.reporter]["有效上报数"] += _done(case.filed_at, as_of)
        if case.confirmer and _in(case.confirmation_sent_at, start, end):
            c[case.confirmer]["应核实数"] += 1
            c[case.confirmer]["按时核实数"] += _on_time(case.confirmed_at, case.confirmation_deadline, as_of)
        if case.checker and _in(case.handled_at, start, end) and _done(case.handled_at, as_of):
            c[case.checker]["应核查数"] += 1
            c[case.checker]["按时核查数"] += _on_time(case.checked_at, case.verification_deadline, as_of)
    for name, value in (missed or {}).items():
        c[name]["漏报数"] += value
    for name, value in (filed_in_grids or {}).items():
        c[name]["立案数"] += value
    return {name: InspectorIndicators(**counts) for name, counts in c.items()}


def grade(score: float | None) -> str | None:
    """A 90–100, B 75–<90, C 60–<75, D 40–<60, E < 40 (grid-standards.md §5.2)."""
    if score is None:
        return None
    for letter, floor in (("A", 90), ("B", 75), ("C", 60), ("D", 40)):
        if score >= floor:
            return letter
    return "E"
