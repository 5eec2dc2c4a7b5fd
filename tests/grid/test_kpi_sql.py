"""The evaluation in SQL (grid/selectors.py) against hand-computed values and against grid/kpi.py."""

from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from core.models import AdminArea, Organisation
from grid import kpi, selectors
from grid.calendar import SHANGHAI
from grid.models import Case, Category

pytestmark = pytest.mark.django_db
START, END = datetime(2030, 1, 1, tzinfo=SHANGHAI), datetime(2030, 2, 1, tzinfo=SHANGHAI)


def t(month, day, hour=9, minute=0):
    year = 2029 if month == 12 else 2030
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


@pytest.fixture
def history(demo_city):
    """Six cases of January 2030 whose indicators were worked out by hand (see the test)."""
    d1, d2 = AdminArea.objects.filter(level="district").order_by("code")[:2]
    x, y = Organisation.objects.get(code="SZ-URBAN"), Organisation.objects.get(code="SZ-WATER")
    category = Category.objects.get(code="06010")
    spot = d1.geom.point_on_surface
    rows = {
        # on time all the way, closed
        "A": dict(district=d1, department=x, reported_at=t(1, 2), filed_at=t(1, 2, 9, 30),
                  dispatch_deadline=t(1, 2, 10, 30), dispatched_at=t(1, 2, 10), handling_deadline=t(1, 3, 10),
                  handled_at=t(1, 3, 9), verification_deadline=t(1, 3, 11), checked_at=t(1, 3, 10),
                  closed_at=t(1, 3, 11), stage="closed"),
        # late dispatch, late handling after one rework, late check, closed
        "B": dict(district=d1, department=x, reported_at=t(1, 5), filed_at=t(1, 5, 9, 10),
                  dispatch_deadline=t(1, 5, 10), dispatched_at=t(1, 5, 11), handling_deadline=t(1, 6, 10),
                  handled_at=t(1, 8, 9), verification_deadline=t(1, 8, 11), checked_at=t(1, 8, 15),
                  rework_count=1, closed_at=t(1, 8, 16), stage="closed"),
        # dispatched on time, postponed, still not handled after its deadline
        "C": dict(district=d2, department=y, reported_at=t(1, 10), filed_at=t(1, 10, 9, 20),
                  dispatch_deadline=t(1, 10, 10), dispatched_at=t(1, 10, 9, 40), handling_deadline=t(1, 20),
                  postponed_count=1, stage="postponed"),
        # rejected before filing
        "D": dict(district=d2, reported_at=t(1, 12), voided_at=t(1, 12, 10), stage="invalid"),
        # filed at the end of the month, dispatch not yet due
        "E": dict(district=d2, reported_at=t(1, 30), filed_at=t(1, 30, 10), dispatch_deadline=t(2, 2), stage="filed"),
        # reported in December, filed in January, handled on time, not yet checked
        "F": dict(district=d1, department=x, reported_at=t(12, 31), filed_at=t(1, 2), dispatch_deadline=t(1, 2, 10),
                  dispatched_at=t(1, 2, 9, 30), handling_deadline=t(2, 10), handled_at=t(1, 15),
                  verification_deadline=t(1, 15, 11), stage="handled"),
    }  # fmt: skip
    cases = {}
    for i, (name, fields) in enumerate(rows.items()):
        cases[name] = Case.objects.create(number=f"T{i}", channel="inspector", category=category, geom=spot, **fields)
    return cases


def as_history(case: Case) -> kpi.CaseHistory:
    return kpi.CaseHistory(
        case_id=str(case.pk), reported_at=case.reported_at, district=case.district_id, street=case.street_id,
        department=case.department_id, reporter=case.reporter_id if case.channel == "inspector" else None,
        filed_at=case.filed_at, voided_at=case.voided_at, dispatched_at=case.dispatched_at,
        dispatch_deadline=case.dispatch_deadline, returned_count=case.returned_count, handled_at=case.handled_at,
        handling_deadline=case.handling_deadline, postponed_count=case.postponed_count, checker=case.checker_id,
        checked_at=case.checked_at, verification_deadline=case.verification_deadline,
        rework_count=case.rework_count, closed_at=case.closed_at, confirmer=case.confirmer_id,
        confirmation_sent_at=case.confirmation_sent_at, confirmed_at=case.confirmed_at,
        confirmation_deadline=case.confirmation_deadline, satisfaction=case.satisfaction,
    )  # fmt: skip


def test_hand_computed_month(history):
    total = kpi.Indicators(**selectors.case_indicator_counts(START, END, END, None)[None])
    assert (total.上报数, total.有效上报数, total.立案数, total.作废数) == (5, 4, 5, 0)
    assert (total.应派遣数, total.按时派遣数, total.准确派遣数) == (4, 3, 4)
    assert (total.应处置数, total.处置数, total.按期处置数, total.超期处置数, total.超期未处置数) == (4, 3, 2, 1, 1)
    assert (total.应结案数, total.结案数, total.按期结案数, total.超期结案数) == (3, 2, 1, 1)
    assert (total.返工数, total.返工次数, total.延期数, total.应核查数, total.按时核查数) == (1, 1, 1, 3, 1)
    assert total.有效上报率 == 0.8 and total.按时派遣率 == 0.75 and total.按期处置率 == 0.5
    assert total.结案率 == pytest.approx(2 / 3) and total.返工率 == pytest.approx(1 / 3)
    # 处置率×30 + 按期处置率×20 + (1−返工率)×20 + (1−超期待处置率)×20 + (1−延期率)×10
    assert total.综合指标值 == pytest.approx(22.5 + 10 + 40 / 3 + 15 + 7.5)


def test_sql_equals_python_by_district(history):
    by_sql = selectors.case_indicator_counts(START, END, END, "district_id")
    by_python = kpi.evaluate([as_history(c) for c in history.values()], START, END, by="district")
    assert {k: kpi.Indicators(**v) for k, v in by_sql.items()} == by_python


def test_sql_equals_python_on_the_demo_year(demo_city):
    """The demo's year of synthetic cases: every group and every counter agree, whatever the data."""
    end = timezone.now()
    start = end - timedelta(days=365)
    cases = [as_history(c) for c in Case.objects.filter(reported_at__gte=start - timedelta(days=30))]
    assert len(cases) > 500
    for group, column in (("district", "district_id"), ("department", "department_id"), ("street", "street_id")):
        by_sql = selectors.case_indicator_counts(start, end, end, column)
        expected = {k: v for k, v in kpi.evaluate(cases, start, end, by=group).items() if v != kpi.Indicators()}
        assert {k: kpi.Indicators(**v) for k, v in by_sql.items()} == expected, group
    inspectors = selectors.inspector_indicator_counts(start, end, end)
    by_python = kpi.evaluate_inspectors(cases, start, end)
    for user_id, counts in inspectors.items():
        mine = by_python.get(user_id, kpi.InspectorIndicators())
        assert (counts["上报数"], counts["有效上报数"]) == (mine.上报数, mine.有效上报数)
        assert (counts["应核查数"], counts["按时核查数"]) == (mine.应核查数, mine.按时核查数)


def test_kpi_api(api, history):
    period = {"from": "2030-01-01", "to": "2030-02-01", "as_of": "2030-02-01T00:00:00+08:00"}
    body = api("leader").get("/api/grid/kpis/", {**period, "group_by": "district"})
    assert body.status_code == 200, body.content
    data = body.json()
    assert data["total"]["values"]["reports"] == 5 and data["total"]["values"]["on_time_dispatch_rate"] == 0.75
    assert data["total"]["grade"] == "C" and data["labels"]["reports"] == "上报数"
    assert {r["name"] for r in data["rows"]} == set(
        AdminArea.objects.filter(level="district").values_list("name", flat=True)[:2]
    )
    assert api("leader").get("/api/grid/kpis/", {"group_by": "planet"}).status_code == 400
    assert api("inspector").get("/api/grid/kpis/").status_code == 403
    inspectors = api("leader").get("/api/grid/kpis/", {"group_by": "inspector"})
    assert inspectors.status_code == 200 and inspectors.json()["rows"]
