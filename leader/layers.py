"""The dashboard's thematic layers, built once for the map on screen and for the exported map report.

Each layer is a GeoJSON FeatureCollection plus its legend. Polygons carry their value and the colour of
their class, computed here, so the live map (MapLibre) and the offline report (Leaflet) draw the same
classes with the same colours.
"""

from dataclasses import dataclass

from django.core.cache import cache
from django.utils.translation import gettext_lazy as _

from core.errors import InputError
from core.models import AdminArea, Organisation
from core.selectors import event_head

from . import kpis, selectors
from .periods import Period

CACHE_SECONDS = 300
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
        """Any new event (a case, an incident, a repair order changed) makes a new key: never stale."""
        area = self.area.code if self.area else "city"
        return (
            f"leader:layer:{event_head()}:{self.layer}:{self.period.start.isoformat()}:{self.period.end.isoformat()}:{area}:"
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


def build(request: Request) -> dict:
    """The layer for a request, from the cache when the same layer was built in the last minutes."""
    key = request.cache_key()
    layer = cache.get(key)
    if layer is None:
        layer = _BUILDERS[request.layer](request)
        cache.set(key, layer, CACHE_SECONDS)
    return layer


def quantile_breaks(values: list[float], classes: int = 5) -> list[float]:
    """Upper bounds of up to `classes` classes holding about as many areas each (duplicates merged)."""
    ordered = sorted(values)
    if not ordered:
        return []
    breaks = []
    for k in range(1, classes + 1):
        bound = ordered[min(len(ordered) - 1, round(k * len(ordered) / classes) - 1)]
        if not breaks or bound > breaks[-1]:
            breaks.append(bound)
    return breaks


def classify(features: list[dict], ramp: tuple[str, ...], kind: str) -> list[dict]:
    """Colour each feature by its `value` class; returns the legend entries (lower, upper, colour)."""
    values = [f["properties"]["value"] for f in features if f["properties"]["value"] is not None]
    breaks = quantile_breaks(values, len(ramp))
    colours = ramp[len(ramp) - len(breaks) :] if breaks else ()
    for feature in features:
        value = feature["properties"]["value"]
        feature["properties"]["color"] = (
            NO_DATA if value is None else next(c for b, c in zip(breaks, colours, strict=True) if value <= b)
        )
    legend, lower = [], min(values) if values else None
    for bound, colour in zip(breaks, colours, strict=True):
        legend.append({"from": lower, "to": bound, "color": colour, "kind": kind})
        lower = bound
    return legend


def _cases(request: Request) -> dict:
    label, kind = CASE_METRICS[request.metric]
    rows = kpis.case_indicators(request.period, request.area, request.by)
    features = selectors.districts(request.area) if request.by == "district" else selectors.grids(request.area)
    for feature in features:
        indicators = rows.get(feature["properties"]["code"])
        feature["properties"]["value"] = None if indicators is None else indicators[request.metric]
        feature["properties"]["indicators"] = indicators
    legend = classify(features, BETTER_RAMP if request.metric == "closure_rate" else WORSE_RAMP, kind)
    return selectors.collection(features, title=str(label), legend=legend, source="grid")


def _incidents(request: Request) -> dict:
    points = selectors.incident_points(request.period, request.area, request.agency)
    return selectors.collection(points, title=str(_("Incident density")), legend=[], source="dispatch", kind="points")


def _response(request: Request) -> dict:
    rows = kpis.response_by_district(request.period, request.area, request.agency)
    features = selectors.districts(request.area)
    for feature in features:
        row = rows.get(feature["properties"]["name"], {"ratio": None, "agencies": []})
        ratio = None if row["ratio"] is None else round(row["ratio"], 3)
        feature["properties"].update(value=ratio, agencies=row["agencies"], color=_response_colour(ratio))
    legend = [{"to": bound, "color": colour, "label": str(label)} for bound, colour, label in RESPONSE_CLASSES]
    legend.append({"color": RESPONSE_OVER[0], "label": str(RESPONSE_OVER[1])})
    title = _("90th percentile response time against the objective")
    return selectors.collection(features, title=str(title), legend=legend, source="dispatch")


def _response_colour(ratio: float | None) -> str:
    if ratio is None:
        return NO_DATA
    return next((colour for bound, colour, _label in RESPONSE_CLASSES if ratio <= bound), RESPONSE_OVER[0])


def _bursts(request: Request) -> dict:
    points, pipes = selectors.burst_features(request.period, request.area)
    return selectors.collection(
        points, pipes=pipes, title=str(_("Pipeline bursts and outages")), legend=[], source="pipelines"
    )


_BUILDERS = {"cases": _cases, "incidents": _incidents, "response": _response, "bursts": _bursts}
