"""The indicators the decision maps show, read from the apps that own their definitions.

Case indicators are the grid app's evaluation (its SQL counters, turned into rates and scores by
``grid.kpi.Indicators``: the code behind GET /api/grid/kpis/); response times are the dispatch app's
``response_kpis`` (behind GET /api/dispatch/kpis/). The dashboard has no formula of its own, so its numbers
equal those APIs' for the same period and area.
"""

from django.utils import timezone

from core.models import AdminArea, Organisation
from dispatch import selectors as dispatch_selectors
from grid import selectors as grid_selectors
from grid.kpi import Indicators
from grid.models import UnitGrid

from .cache import cached
from .periods import Period

# Headline case indicators (keys of the grid KPI answer), each with whether a rise is good news (None: neither).
GRID_HEADLINES = (
    ("reports", None), ("filed", None), ("closure_rate", True), ("on_time_handling_rate", True), ("overdue", False),
)  # fmt: skip
CASE_METRIC_KEYS = {"count": "filed", "overdue_share": "overdue_unhandled_rate", "closure_rate": "closure_rate"}
RESPONSE_SEGMENT = "total_response"


def _as_of(period: Period):
    """Evaluated as of the end of the period, or now for a period still running (as the grid API does)."""
    return min(period.end, timezone.now())


def _district(area: AdminArea | None) -> AdminArea | None:
    return area if area is not None and area.level == AdminArea.Level.DISTRICT else None


def _district_report(period: Period) -> dict:
    """GET /api/grid/kpis/?group_by=district for the period, computed once a minute per period."""
    key = f"grid-report:{period.start.isoformat()}:{period.end.isoformat()}"
    return cached(key, lambda: grid_selectors.kpi_report(period.start, period.end, "district", _as_of(period)))


def case_totals(period: Period, area: AdminArea | None) -> dict:
    """Every grid indicator of the scope: the city total, or the district's row, of GET /api/grid/kpis/."""
    report = _district_report(period)
    district = _district(area)
    if district is None:
        return report["total"]["values"]
    row = next((r for r in report["rows"] if r["code"] == district.code), None)
    return row["values"] if row else _values(Indicators())  # no case in the district: zeros, and no rates


def case_indicators(period: Period, area: AdminArea | None, group_by: str) -> dict[str, dict]:
    """{district or unit-grid code: every grid indicator, plus the map metrics "count", "overdue_share", …}."""
    if group_by == "district":
        report = _district_report(period)
        rows = {r["code"]: r["values"] for r in report["rows"] if r["code"]}
    else:  # per unit grid: the same counters and the same Indicators, grouped by the case's grid
        counts = grid_selectors.case_indicator_counts(period.start, period.end, _as_of(period), "grid_id")
        codes = dict(UnitGrid.objects.filter(pk__in=[k for k in counts if k]).values_list("pk", "code"))
        rows = {codes[k]: _values(Indicators(**v), CASE_METRIC_KEYS.values()) for k, v in counts.items() if k in codes}
    return {
        code: {**values, **{m: values[name] for m, name in CASE_METRIC_KEYS.items()}} for code, values in rows.items()
    }


def _values(indicators: Indicators, keys=None) -> dict:
    """The grid KPI answer's fields (grid_selectors.KPI_FIELDS; only `keys` if given) of one set of indicators."""
    out = {}
    for key, attr in grid_selectors.KPI_FIELDS.items():
        if keys is None or key in keys:
            value = getattr(indicators, attr)
            out[key] = round(value, 4) if isinstance(value, float) else value
    return out


def response_totals(period: Period, area: AdminArea | None) -> dict:
    """Response-time p90s of the scope per agency, as GET /api/dispatch/kpis/ answers them."""
    district = _district(area)
    return dispatch_selectors.response_kpis(
        period.start, period.end, district=district.code if district else None, by_district=False
    )


def response_by_district(period: Period, area: AdminArea | None, agency: str | None) -> dict[str, dict]:
    """{district name: {"ratio": worst p90 / objective of total response over the agencies, "agencies": rows}}."""
    district = _district(area)
    answer = dispatch_selectors.response_kpis(
        period.start, period.end, district=district.code if district else None, agency=agency
    )
    out: dict[str, dict] = {}
    for row in answer["rows"]:
        if row["district"] is None:
            continue
        entry = out.setdefault(row["district"], {"ratio": None, "agencies": []})
        entry["agencies"].append(row)
        segment = row[RESPONSE_SEGMENT]
        if segment["p90_s"] is not None:
            ratio = segment["p90_s"] / segment["objective_s"]
            entry["ratio"] = ratio if entry["ratio"] is None else max(entry["ratio"], ratio)
    return out


def _headline(key: str, source: str, unit: str, current, previous, higher_is_better, **extra) -> dict:
    change = None if current is None or previous is None else current - previous
    return {
        "key": key,
        "source": source,
        "unit": unit,
        "value": current,
        "previous": previous,
        "change": change,
        "higher_is_better": higher_is_better,
        **extra,
    }


def summary(period: Period, area: AdminArea | None) -> dict:
    """Headline indicators of the period with those of the period before, and the answers they come from."""
    previous = period.previous
    cases = case_totals(period, area), case_totals(previous, area)
    response = response_totals(period, area), response_totals(previous, area)
    headlines = [
        _headline(key, "grid", "rate" if key.endswith("rate") else "count", cases[0][key], cases[1][key], better)
        for key, better in GRID_HEADLINES
    ]
    now = {row["agency"]: row for row in response[0]["rows"]}
    before = {row["agency"]: row for row in response[1]["rows"]}
    for agency in Organisation.Agency.values:
        current = now.get(agency, {}).get(RESPONSE_SEGMENT, {})
        headlines.append(
            _headline(
                f"response_{agency}",
                "dispatch",
                "seconds",
                current.get("p90_s"),
                before.get(agency, {}).get(RESPONSE_SEGMENT, {}).get("p90_s"),
                False,
                objective_s=current.get("objective_s"),
                met=current.get("met"),
                incidents=now.get(agency, {}).get("incidents", 0),
            )
        )
    return {
        "period": period.as_dict(),
        "previous": previous.as_dict(),
        "grid": {"current": cases[0], "previous": cases[1]},
        "dispatch": {"current": response[0], "previous": response[1]},
        "headlines": headlines,
    }
