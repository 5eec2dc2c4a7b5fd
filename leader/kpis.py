"""The indicators the decision maps show, read from the apps that own their definitions.

Case indicators come from the grid app's evaluation (the same code behind GET /api/grid/kpis/) and
response times from the dispatch app's KPIs (behind GET /api/dispatch/kpis/): the dashboard never has a
formula of its own, so its numbers equal those APIs' for the same period and area.
"""

from core.models import AdminArea
from dispatch import selectors as dispatch_selectors
from grid import selectors as grid_selectors

from .periods import Period

# The headline indicators, by source: (key in the owner's answer, whether a rise is good news).
GRID_HEADLINES = (("上报数", None), ("立案数", None), ("结案率", True), ("按期处置率", True), ("超期数", False))
DISPATCH_HEADLINES = (("incidents", None), ("total_p90_s", False))
CASE_METRIC_KEYS = {"count": "立案数", "overdue_share": "超期待处置率", "closure_rate": "结案率"}


def _district(area: AdminArea | None) -> str | None:
    return None if area is None or area.level == AdminArea.Level.CITY else area.code


def case_totals(period: Period, area: AdminArea | None) -> dict:
    """The grid indicators of the whole scope (the city, or one district)."""
    return grid_selectors.kpis(period.start, period.end, group_by="district", district=_district(area), total=True)


def case_indicators(period: Period, area: AdminArea | None, group_by: str) -> dict[str, dict]:
    """{area or grid code: {"count", "overdue_share", "closure_rate", and every grid indicator}}."""
    rows = grid_selectors.kpis(period.start, period.end, group_by=group_by, district=_district(area))
    return {
        key: {**values, **{metric: values.get(name) for metric, name in CASE_METRIC_KEYS.items()}}
        for key, values in rows.items()
    }


def response_totals(period: Period, area: AdminArea | None, agency: str | None = None) -> dict:
    return dispatch_selectors.response_kpis(period.start, period.end, district=_district(area), agency=agency)


def response_by_district(period: Period, area: AdminArea | None, agency: str | None) -> dict[str, dict]:
    """{district code: {"p90_s": total response time p90, "objective_s": its objective, …}}."""
    return dispatch_selectors.response_kpis_by_district(
        period.start, period.end, district=_district(area), agency=agency
    )
