"""Evaluation indicators on a small fixed history; every expected number is worked out by hand below.

Period: March 2026, [03-01, 04-01), evaluated as of 04-01 00:00. Pure: no database.
"""

from datetime import datetime

import pytest

from grid.calendar import SHANGHAI
from grid.kpi import CaseHistory, evaluate, evaluate_inspectors, grade, indicators


def t(month, day, hour=0, minute=0):
    return datetime(2026, month, day, hour, minute, tzinfo=SHANGHAI)


START, END = t(3, 1), t(4, 1)
SAN, MUN = "环卫", "市政"

CASES = [
    # c1: everything on time, closed.
    CaseHistory(
        "c1", t(3, 2, 9), district="A", department=SAN, reporter="张三",
        filed_at=t(3, 2, 9, 10), dispatched_at=t(3, 2, 9, 30), dispatch_deadline=t(3, 2, 10, 10),
        handled_at=t(3, 2, 15), handling_deadline=t(3, 2, 15, 30),
        checker="张三", checked_at=t(3, 2, 16), verification_deadline=t(3, 2, 17), closed_at=t(3, 2, 16, 30),
    ),
    # c2: dispatched late (11:00 > 10:20); one rework; handled on time against the deadline in force; closed.
    CaseHistory(
        "c2", t(3, 3, 9), district="A", department=SAN, reporter="张三",
        filed_at=t(3, 3, 9, 20), dispatched_at=t(3, 3, 11), dispatch_deadline=t(3, 3, 10, 20),
        handled_at=t(3, 5, 9), handling_deadline=t(3, 5, 12), rework_count=1,
        checker="李四", checked_at=t(3, 5, 10), verification_deadline=t(3, 5, 11), closed_at=t(3, 5, 11),
    ),
    # c3: public report confirmed late by 张三; returned once by a department; handled late, checked late, closed.
    CaseHistory(
        "c3", t(3, 10, 9), district="A", department=MUN,
        confirmer="张三", confirmation_sent_at=t(3, 10, 9, 5), confirmation_deadline=t(3, 10, 10, 5),
        confirmed_at=t(3, 10, 10, 30),
        filed_at=t(3, 10, 11), dispatched_at=t(3, 10, 14), dispatch_deadline=t(3, 10, 14, 30), returned_count=1,
        handled_at=t(3, 12, 10), handling_deadline=t(3, 11, 12),
        checker="李四", checked_at=t(3, 12, 15), verification_deadline=t(3, 12, 12), closed_at=t(3, 12, 16),
    ),
    # c4: postponed once, still not handled after the extended deadline 03-20 18:00 → overdue, unhandled.
    CaseHistory(
        "c4", t(3, 16, 9), district="B", department=MUN, reporter="李四",
        filed_at=t(3, 16, 9, 30), dispatched_at=t(3, 16, 10), dispatch_deadline=t(3, 16, 10, 30),
        handling_deadline=t(3, 20, 18), postponed_count=1,
    ),
    # c5: dispatched on time, handling deadline 04-03 not reached → not yet due for handling or closing.
    CaseHistory(
        "c5", t(3, 30, 9), district="B", department=MUN, reporter="李四",
        filed_at=t(3, 30, 9, 30), dispatched_at=t(3, 30, 10), dispatch_deadline=t(3, 30, 10, 30),
        handling_deadline=t(4, 3, 18),
    ),
    # c6: rejected report, never filed.
    CaseHistory("c6", t(3, 18, 9), district="A", reporter="张三", voided_at=t(3, 18, 9, 20)),
    # c7: reported in February, filed in March; handled and checked on time, closed only on 04-02.
    CaseHistory(
        "c7", t(2, 27, 16), district="A", department=SAN, reporter="张三",
        filed_at=t(3, 2, 8, 40), dispatched_at=t(3, 2, 9), dispatch_deadline=t(3, 2, 9, 40),
        handled_at=t(3, 2, 17), handling_deadline=t(3, 3, 9),
        checker="张三", checked_at=t(3, 3, 8, 50), verification_deadline=t(3, 3, 9), closed_at=t(4, 2, 10),
    ),
    # c8: filed, then voided (作废) before dispatch.
    CaseHistory(
        "c8", t(3, 20, 9, 40), district="B", reporter="李四",
        filed_at=t(3, 20, 10), dispatch_deadline=t(3, 20, 11), voided_at=t(3, 20, 11),
    ),
    # c9: hotline report filed on the last evening; dispatch deadline 04-01 09:30 not reached yet.
    CaseHistory("c9", t(3, 31, 17), district="B", filed_at=t(3, 31, 17, 30), dispatch_deadline=t(4, 1, 9, 30)),
]  # fmt: skip


def test_whole_city():
    k = indicators(CASES, START, END)
    # 上报: reported in March = all but c7 → 8; of those filed: all but c6 → 7
    assert (k.上报数, k.有效上报数, k.有效上报率) == (8, 7, 7 / 8)
    # 立案: filed in March = all but c6 → 8; 作废 c8 → 1
    assert (k.立案数, k.作废数, k.准确立案率) == (8, 1, 7 / 8)
    # 应派遣: dispatched c1 c2 c3 c4 c5 c7 (c8 voided, c9 not due yet) → 6; on time all but c2 → 5;
    # never returned: all but c3 → 5
    assert (k.应派遣数, k.按时派遣数, k.按时派遣率) == (6, 5, 5 / 6)
    assert (k.准确派遣数, k.准确派遣率) == (5, 5 / 6)
    # 应处置: handled c1 c2 c3 c7 + due c4 → 5 (c5 not due); 按期 c1 c2 c7 → 3; late c3; overdue unhandled c4
    assert (k.应处置数, k.处置数, k.按期处置数) == (5, 4, 3)
    assert (k.处置率, k.按期处置率) == (4 / 5, 3 / 5)
    assert (k.超期处置数, k.超期未处置数, k.超期数, k.超期待处置率) == (1, 1, 2, 1 / 5)
    # 应结案: closed c1 c2 c3 + due c4 c7 → 5; closed by 04-01: c1 c2 c3; on time c1 c2; late c3
    assert (k.应结案数, k.结案数, k.按期结案数, k.超期结案数) == (5, 3, 2, 1)
    assert (k.结案率, k.按期结案率, k.超期结案率) == (3 / 5, 2 / 5, 1 / 5)
    # 返工 c2 (once); 延期 c4
    assert (k.返工数, k.返工次数, k.返工率) == (1, 1, 1 / 5)
    assert (k.延期数, k.延期率) == (1, 1 / 5)
    # 核查: handled c1 c2 c3 c7 → 4; on time all but c3 → 3
    assert (k.应核查数, k.按时核查数, k.按时核查率, k.及时核查率) == (4, 3, 3 / 4, 3 / 4)
    # 0.8×30 + 0.6×20 + (1−0.2)×20 + (1−0.2)×20 + (1−0.2)×10 = 24 + 12 + 16 + 16 + 8 = 76
    assert k.综合指标值 == pytest.approx(76)
    assert grade(k.综合指标值) == "B"
    assert k.as_dict()["结案率"] == 3 / 5


def test_per_department():
    by = evaluate(CASES, START, END, by="department")
    assert set(by) == {SAN, MUN, None}
    san = by[SAN]  # c1 c2 c7
    assert (san.立案数, san.应派遣数, san.按时派遣数) == (3, 3, 2)
    assert (san.应处置数, san.处置数, san.按期处置数) == (3, 3, 3)
    assert (san.应结案数, san.结案数, san.按期结案数, san.返工数) == (3, 2, 2, 1)
    # 1×30 + 1×20 + (1 − 1/3)×20 + 1×20 + 1×10 = 93⅓
    assert san.综合指标值 == pytest.approx(93 + 1 / 3)
    assert grade(san.综合指标值) == "A"
    mun = by[MUN]  # c3 c4 c5
    assert (mun.立案数, mun.应派遣数, mun.按时派遣数, mun.准确派遣数) == (3, 3, 3, 2)
    assert (mun.应处置数, mun.处置数, mun.按期处置数, mun.超期处置数, mun.超期未处置数) == (2, 1, 0, 1, 1)
    assert (mun.应结案数, mun.结案数, mun.超期结案数, mun.延期数) == (2, 1, 1, 1)
    # 0.5×30 + 0×20 + 1×20 + 0.5×20 + 0.5×10 = 50
    assert mun.综合指标值 == pytest.approx(50)
    assert grade(mun.综合指标值) == "D"
    none = by[None]  # c6 c8 c9: reports and filing only
    assert (none.上报数, none.有效上报数, none.立案数, none.作废数, none.应派遣数) == (3, 2, 2, 1, 0)
    assert none.综合指标值 is None and none.结案率 is None


def test_per_district():
    by = evaluate(CASES, START, END, by="district")
    a, b = by["A"], by["B"]  # A: c1 c2 c3 c6 c7; B: c4 c5 c8 c9
    assert (a.上报数, a.有效上报数, a.立案数, a.应结案数, a.结案数) == (4, 3, 4, 4, 3)
    assert (b.上报数, b.有效上报数, b.立案数, b.作废数, b.应派遣数, b.应结案数, b.结案数) == (4, 4, 4, 1, 2, 1, 0)


def test_as_of_later():
    k = indicators(CASES, START, END, as_of=t(4, 3))
    # c7 is now closed (on time) and c9's dispatch deadline has passed undispatched
    assert (k.结案数, k.按期结案数, k.应结案数) == (4, 3, 5)
    assert (k.应派遣数, k.按时派遣数) == (7, 5)


def test_empty_period():
    k = indicators(CASES, t(5, 1), t(6, 1))
    assert k.立案数 == 0 and k.结案率 is None and k.综合指标值 is None


def test_inspectors():
    by = evaluate_inspectors(CASES, START, END, missed={"张三": 1}, filed_in_grids={"张三": 5})
    zs = by["张三"]
    # reports c1 c2 c6 (c7 is February) → 3, filed 2; confirmation c3 late; checks c1 c7 on time
    assert (zs.上报数, zs.有效上报数, zs.应核实数, zs.按时核实数, zs.应核查数, zs.按时核查数) == (3, 2, 1, 0, 2, 2)
    assert zs.漏报率 == 1 / 5
    # (2/3)×40 + (1 − 0.2)×20 + 0×20 + 1×20 = 26⅔ + 16 + 0 + 20 = 62⅔
    assert zs.综合指标值 == pytest.approx(62 + 2 / 3)
    assert grade(zs.综合指标值) == "C"
    ls = by["李四"]
    # reports c4 c5 c8 → 3, all filed; checks c2 (on time) and c3 (late); no confirmation tasks (full marks)
    assert (ls.上报数, ls.有效上报数, ls.应核查数, ls.按时核查数) == (3, 3, 2, 1)
    # 1×40 + 1×20 + 1×20 + 0.5×20 = 90
    assert ls.综合指标值 == pytest.approx(90)
    assert grade(ls.综合指标值) == "A"


@pytest.mark.parametrize(
    ("score", "letter"),
    [(100, "A"), (90, "A"), (89.99, "B"), (75, "B"), (60, "C"), (40, "D"), (39.9, "E"), (None, None)],
)
def test_grades(score, letter):
    assert grade(score) == letter
