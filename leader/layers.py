"""The dashboard's thematic layers, built once for the map on screen and for the exported map report.

Each layer is a GeoJSON FeatureCollection plus its legend. Polygons carry their value and the colour of
their class, computed here, so the live map (MapLibre) and the offline report (Leaflet) draw the same
classes with the same colours.
"""

import json
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from core.errors import InputError
from core.models import AdminArea, Organisation

from . import kpis, selectors
from .cache import cached
from .periods import Period

CASE_METRICS = {
    "count": (_("Cases filed"), "count"),
    "overdue_share": (_("Share of cases overdue"), "share"),
    "closure_rate": (_("Closure rate"), "share"),
}
CASE_GROUPS = ("district", "grid")
# Sequential ramps, light to dark: more cases or more overdue is worse (orange); more closed is better (green).
WORSE_RAMP = ("#fff1e0", "#fdc58a", "#f98c3c", "#d9480f", "#7f1d05")
BETTER_RAMP = ("#eef8ea", "#bfe5b0", "#74c476", "#2b9348", "#0b5d2a")
NO_DATA = "#c5ccd6"
RESPONSE_CLASSES = (
    (1.0, "#22a06b", _("Within the objective")),
    (1.25, "#f0a020", _("Up to a quarter over the objective")),
)
RESPONSE_OVER = ("#e0413a", _("More than a quarter over the objective"))
LAYERS = ("cases", "incidents", "response", "bursts")


@dataclass(frozen=True)
class Request:
    layer: str
    period: Period
    area: AdminArea | None
    by: str = "district"
    metric: str = "count"
    agency: str | None = None

    def cache_key(self) -> str:
        area = self.area.code if self.area else "city"
        return (
            f"layer:{self.layer}:{self.period.start.isoformat()}:{self.period.end.isoformat()}:{area}:"
            f"{self.by}:{self.metric}:{self.agency or ''}"
        )


def request_from(params, layer: str, period: Period, area: AdminArea | None) -> Request:
    if layer not in LAYERS:
        raise InputError("layer", f"layer must be one of {', '.join(LAYERS)}")
    by = params.get("by") or "district"
    if by not in CASE_GROUPS:
        raise InputError("by", f"by must be one of {', '.join(CASE_GROUPS)}")
    metric = params.get("metric") or "count"
    if metric not in CASE_METRICS:
        raise InputError("metric", f"metric must be one of {', '.join(CASE_METRICS)}")
    agency = params.get("agency") or None
    if agency and agency not in Organisation.Agency.values:
        raise InputError("agency", f"agency must be one of {', '.join(Organisation.Agency.values)}")
    return Request(layer, period, area, by, metric, agency)


def summary(period: Period, area: AdminArea | None) -> dict:
    """The headline indicators (leader.kpis.summary), cached like the layers."""
    key = f"summary:{period.start.isoformat()}:{period.end.isoformat()}:{area.code if area else 'city'}"
    return cached(key, lambda: kpis.summary(period, area))


def build(request: Request) -> str:
    """The layer as GeoJSON text, from the cache when the same layer was built in the last minute.

    Text, not Python objects: a layer of 50,000 unit grids is built by PostgreSQL and sent as it is.
    """
    return cached(request.cache_key(), lambda: _collection_json(request))


def build_dict(request: Request) -> dict:
    return json.loads(build(request))


def _collection_json(request: Request) -> str:
    features, meta = _BUILDERS[request.layer](request)
    area = request.area
    meta.update(
        period=request.period.as_dict(),
        area=None if area is None else {"code": area.code, "name": area.name, "level": area.level},
    )
    return '{"type": "FeatureCollection", "features": ' + features + ", " + json.dumps(meta, ensure_ascii=False)[1:]


def quantile_breaks(values: list[float], classes: int = 5) -> list[float]:
    """Upper bounds of up to `classes` classes holding about as many areas each (duplicates merged)."""
    ordered = sorted(values)
    if not ordered:
        return []
    breaks = []
    for k in range(1, classes + 1):
        bound = ordered[min(len(ordered) - 1, max(0, round(k * len(ordered) / classes) - 1))]
        if not breaks or bound > breaks[-1]:
            breaks.append(bound)
    return breaks


def classify(values: dict[str, float | None], ramp: tuple[str, ...], kind: str) -> tuple[dict[str, str], list]:
    """The colour of each value's class (NO_DATA for None) and the legend entries (from, to, colour)."""
    present = [v for v in values.values() if v is not None]
    breaks = quantile_breaks(present, len(ramp))
    colours = ramp[len(ramp) - len(breaks) :] if breaks else ()
    colour_of = {
        key: NO_DATA if value is None else next(c for b, c in zip(breaks, colours, strict=True) if value <= b)
        for key, value in values.items()
    }
    legend, lower = [], min(present) if present else None
    for bound, colour in zip(breaks, colours, strict=True):
        legend.append({"from": lower, "to": bound, "color": colour, "kind": kind})
        lower = bound
    return colour_of, legend


def _cases(request: Request) -> tuple[str, dict]:
    label, kind = CASE_METRICS[request.metric]
    rows = kpis.case_indicators(request.period, request.area, request.by)
    ramp = BETTER_RAMP if request.metric == "closure_rate" else WORSE_RAMP
    meta = {"title": str(label), "source": "grid"}
    if request.by == "grid":  # tens of thousands of polygons: PostgreSQL writes the GeoJSON
        values = {code: indicators[request.metric] for code, indicators in rows.items()}
        colour_of, meta["legend"] = classify(values, ramp, kind)
        styled = {code: (values[code], colour_of[code]) for code in values}
        return selectors.grids_json(request.area, styled, NO_DATA), meta
    features = selectors.districts(request.area)
    values = {f["properties"]["code"]: (rows.get(f["properties"]["code"]) or {}).get(request.metric) for f in features}
    colour_of, meta["legend"] = classify(values, ramp, kind)
    for feature in features:
        code = feature["properties"]["code"]
        feature["properties"].update(value=values[code], color=colour_of[code], indicators=rows.get(code))
    return json.dumps(features, ensure_ascii=False), meta


def _incidents(request: Request) -> tuple[str, dict]:
    points = selectors.incident_points_json(request.period, request.area, request.agency)
    return points, {"title": str(_("Incident density")), "legend": [], "source": "dispatch", "kind": "points"}


def _response(request: Request) -> tuple[str, dict]:
    rows = kpis.response_by_district(request.period, request.area, request.agency)
    features = selectors.districts(request.area)
    for feature in features:
        row = rows.get(feature["properties"]["name"], {"ratio": None, "agencies": []})
        ratio = None if row["ratio"] is None else round(row["ratio"], 3)
        feature["properties"].update(value=ratio, agencies=row["agencies"], color=_response_colour(ratio))
    legend = [{"to": bound, "color": colour, "label": str(label)} for bound, colour, label in RESPONSE_CLASSES]
    legend.append({"color": RESPONSE_OVER[0], "label": str(RESPONSE_OVER[1])})
    title = _("90th percentile response time against the objective")
    return json.dumps(features, ensure_ascii=False), {"title": str(title), "legend": legend, "source": "dispatch"}


def _response_colour(ratio: float | None) -> str:
    if ratio is None:
        return NO_DATA
    return next((colour for bound, colour, _label in RESPONSE_CLASSES if ratio <= bound), RESPONSE_OVER[0])


def _bursts(request: Request) -> tuple[str, dict]:
    points, pipes = selectors.burst_features(request.period, request.area)
    meta = {"title": str(_("Pipeline bursts and outages")), "legend": [], "source": "pipelines", "pipes": pipes}
    return json.dumps(points, ensure_ascii=False), meta


_BUILDERS = {"cases": _cases, "incidents": _incidents, "response": _response, "bursts": _bursts}
