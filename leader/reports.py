"""Map reports (地图报告): any dashboard layer or situation map as one standalone HTML file, and its snapshot.

The file must open on an offline intranet PC, so nothing in it points outside: folium's default CDN links
are replaced by Leaflet's and leaflet.heat's own files (from npm) inlined into the page, the map has no
tile layer, and the basemap is CityOps' own data (districts and main roads) embedded as GeoJSON.

The PNG and PDF snapshots are drawn by headless Chromium from that same file: Leaflet draws the map with
JavaScript, which weasyprint does not run, so a weasyprint PDF would show an empty map.
"""

import base64
import html
import json
import re
import subprocess
import tempfile
from datetime import datetime
from functools import cache
from pathlib import Path

import folium
from branca.element import Element
from django.conf import settings
from django.contrib.gis.db.models.functions import AsGeoJSON
from django.http import HttpResponse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from folium.plugins import HeatMap

from core import limits
from core.models import Organisation
from core.selectors import city_home
from gis.models import Road

from .models import Annotation
from .selectors import GEOJSON_DECIMALS

NODE_MODULES = settings.ROOT_DIR / "frontend" / "node_modules"
LEAFLET_DIST = NODE_MODULES / "leaflet" / "dist"
LEAFLET_HEAT_JS = NODE_MODULES / "leaflet.heat" / "dist" / "leaflet-heat.js"
CHROMIUM = "/usr/bin/chromium"
SNAPSHOT_SIZE = (1600, 1000)
SNAPSHOT_TIMEOUT_S = 60
BASEMAP_ROAD_CLASSES = ("expressway", "arterial", "secondary")
AGENCY_COLOURS = {"110": "#1d4ed8", "119": "#dc2626", "120": "#059669", "122": "#d97706"}
# Anything a browser would fetch from another host: an element loading a src/href (a plain <a href> link is
# not fetched, and Leaflet's own code holds one for its attribution), a CSS url() or an @import.
EXTERNAL_ASSET = re.compile(
    r"<(?:script|link|img|iframe|source|audio|video|embed|object)\b[^>]*\b(?:src|href|data)\s*=\s*[\"']?\s*(?:https?:)?//"
    r"|url\(\s*[\"']?\s*(?:https?:)?//|@import\b",
    re.IGNORECASE,
)


class OfflineMap(folium.Map):
    """A folium map without folium's CDN links; `inline_assets` puts Leaflet itself into the page."""

    default_js = []
    default_css = []


class OfflineHeatMap(HeatMap):
    default_js = []


@cache
def _leaflet_css() -> str:
    """leaflet.css with its images as data: URIs (the layer-switcher icon, the default marker)."""
    css = (LEAFLET_DIST / "leaflet.css").read_text()

    def inline(match):
        image = (LEAFLET_DIST / "images" / match.group(1)).read_bytes()
        return f"url(data:image/png;base64,{base64.b64encode(image).decode()})"

    return re.sub(r"url\(\s*images/([\w.-]+\.png)\s*\)", inline, css)


@cache
def _script(path: Path) -> str:
    return path.read_text().replace("</script", "<\\/script")


def _inline_assets(fmap: folium.Map, heat: bool) -> None:
    header = fmap.get_root().header
    header.add_child(Element(f"<style>{_leaflet_css()}</style>"), name="leaflet_css", index=0)
    header.add_child(Element(f"<script>{_script(LEAFLET_DIST / 'leaflet.js')}</script>"), name="leaflet_js", index=1)
    if heat:
        header.add_child(Element(f"<script>{_script(LEAFLET_HEAT_JS)}</script>"), name="leaflet_heat_js", index=2)


def _road_features() -> str:
    rows = (
        Road.objects.filter(road_class__in=BASEMAP_ROAD_CLASSES)
        .annotate(shape=AsGeoJSON("geom", precision=GEOJSON_DECIMALS))
        .values_list("shape", "road_class", "name")
    )
    return json.dumps(
        {
            "type": "FeatureCollection",
            "features": [
                {"type": "Feature", "geometry": json.loads(shape), "properties": {"road_class": cls, "name": name}}
                for shape, cls, name in rows
            ],
        }
    )


def _bounds(collection: dict) -> list[list[float]] | None:
    xs, ys = [], []

    def walk(coords):
        if coords and isinstance(coords[0], (int, float)):
            xs.append(coords[0])
            ys.append(coords[1])
        else:
            for item in coords or ():
                walk(item)

    for feature in collection["features"]:
        if feature.get("geometry"):
            walk(feature["geometry"]["coordinates"])
    return [[min(ys), min(xs)], [max(ys), max(xs)]] if xs else None


def new_map(districts: dict) -> OfflineMap:
    """An empty report map of the scope, starting at the city profile's home view: districts and main roads as its
    basemap, no tiles from anywhere."""
    # No zoom animation: a snapshot is taken on Chromium's virtual clock, on which Leaflet's CSS transitions never
    # end, so a second fit (an incident's, within 4 zoom levels of the city's) would be drawn half-way.
    home = city_home()  # its zoom is MapLibre's (512 px tiles); Leaflet's 256 px tiles count one level more
    fmap = OfflineMap(
        location=home["center"][::-1], zoom_start=round(home["zoom"]) + 1, tiles=None, control_scale=True,
        attributionControl=False, zoom_animation=False,
    )  # fmt: skip
    fmap.get_root().header.add_child(
        Element("<style>.leaflet-container{background:#dbe3ec;font-family:'Noto Sans CJK SC',sans-serif}</style>")
    )
    folium.GeoJson(
        districts,
        name=_("Districts"),
        style_function=lambda f: {"fillColor": "#f4f1ea", "fillOpacity": 1, "color": "#5f6f89", "weight": 1.5},
        tooltip=folium.GeoJsonTooltip(fields=["name"], labels=False),
    ).add_to(fmap)
    road_colour = {"expressway": "#f49a42", "arterial": "#e8c35a", "secondary": "#ffffff"}
    folium.GeoJson(
        _road_features(),
        name=_("Main roads"),
        style_function=lambda f: {"color": road_colour.get(f["properties"]["road_class"], "#fff"), "weight": 1.6},
    ).add_to(fmap)
    bounds = _bounds(districts)
    if bounds:
        fmap.fit_bounds(bounds)
    return fmap


def _legend_rows(layer: dict) -> str:
    rows = []
    for entry in layer.get("legend", []):
        if "label" in entry:
            text = entry["label"]
        elif entry.get("kind") == "share":
            text = f"{entry['from']:.0%} – {entry['to']:.0%}"
        else:
            text = f"{entry['from']:g} – {entry['to']:g}"
        rows.append(_swatch(entry["color"], text))
    return "".join(rows)


# The PDF prints the page at the snapshot's size, so it shows what the PNG shows (on a paper-sized page the map
# would keep the window's view and cut off its right side).
FRAME_CSS = (
    f"@page {{ size: {SNAPSHOT_SIZE[0]}px {SNAPSHOT_SIZE[1]}px; margin: 0; }}"
    + """
.report-title, .report-legend {
  position: fixed; z-index: 1000; padding: 8px 14px; border-radius: 6px; color: #1f2d45;
  background: rgba(255, 255, 255, .94); box-shadow: 0 2px 8px rgba(0, 0, 0, .25);
  font: 14px 'Noto Sans CJK SC', 'Microsoft YaHei', sans-serif;
}
.report-title { top: 12px; left: 60px; }
.report-title h1 { margin: 0 0 2px; font-size: 20px; }
.report-title p, .report-legend .source { margin: 0; color: #5a6a82; }
.report-legend { bottom: 24px; right: 12px; max-width: 320px; font-size: 13px; }
.report-legend h2 { margin: 0 0 6px; font-size: 14px; }
.report-legend ul { list-style: none; margin: 0 0 6px; padding: 0; }
.report-legend li { display: flex; align-items: center; gap: 6px; margin: 2px 0; }
.report-legend i { display: inline-block; width: 16px; height: 12px; border: 1px solid #8893a5; }
"""
)


def add_frame(fmap: folium.Map, *, title: str, subtitle: str, legend_html: str, source: str, at: datetime) -> None:
    """Title, date, legend and data source, printed on the map itself so they survive a screenshot."""
    when = date_format(timezone.localtime(at), "DATETIME_FORMAT")
    esc = html.escape
    made, legend, data_source = _("Made"), _("Legend"), _("Data source")
    frame = (
        f"<style>{FRAME_CSS}</style>"
        f'<div class="report-title" id="report-title"><h1>{esc(title)}</h1><p>{esc(subtitle)}</p>'
        f"<p>{esc(made)}: {esc(when)}</p></div>"
        f'<div class="report-legend" id="report-legend"><h2>{esc(legend)}</h2><ul>{legend_html}</ul>'
        f'<p class="source">{esc(data_source)}: {esc(source)}</p></div>'
    )
    fmap.get_root().html.add_child(Element(frame))


def _swatch(colour: str, text: str) -> str:
    return f'<li><i style="background:{colour}"></i>{html.escape(str(text))}</li>'


def _area_style(feature: dict) -> dict:
    return {"fillColor": feature["properties"]["color"], "fillOpacity": 0.8, "color": "#3b4a63", "weight": 1}


def _pipe_style(feature: dict) -> dict:
    return {"color": "#b91c1c" if feature["properties"]["cause"] == "isolated" else "#f59e0b", "weight": 3}


def layer_report(layer: dict, districts: dict, *, title: str, subtitle: str, source: str) -> str:
    """One dashboard layer as a standalone HTML map."""
    fmap = new_map(districts)
    heat = layer.get("kind") == "points"
    if heat:
        points = [[f["geometry"]["coordinates"][1], f["geometry"]["coordinates"][0]] for f in layer["features"]]
        OfflineHeatMap(points, name=layer["title"], radius=18, blur=14, min_opacity=0.35).add_to(fmap)
        legend = _swatch("linear-gradient(90deg,#3b82f6,#22c55e,#facc15,#ef4444)", _("Fewer → more incidents"))
    elif "pipes" in layer:
        folium.GeoJson(
            {"type": "FeatureCollection", "features": layer["pipes"]},
            name=_("Pipes shut in or without supply"),
            style_function=_pipe_style,
        ).add_to(fmap)
        for feature in layer["features"]:
            lon, lat = feature["geometry"]["coordinates"][:2]
            folium.CircleMarker(
                [lat, lon], radius=7, color="#7f1d05", weight=2, fill=True, fill_color="#e0413a", fill_opacity=0.9,
                tooltip=html.escape(feature["properties"]["number"]),
            ).add_to(fmap)  # fmt: skip
        legend = (
            _swatch("#e0413a", _("Burst (repair order)"))
            + _swatch("#b91c1c", _("Shut in by the isolation"))
            + _swatch("#f59e0b", _("Without supply (secondary outage)"))
        )
    else:
        folium.GeoJson(
            layer,
            name=layer["title"],
            style_function=_area_style,
            tooltip=folium.GeoJsonTooltip(fields=["name", "value"], aliases=[_("Area"), layer["title"]]),
        ).add_to(fmap)
        legend = _legend_rows(layer) + _swatch("#c5ccd6", _("No data"))
    folium.LayerControl(collapsed=False).add_to(fmap)
    add_frame(fmap, title=title, subtitle=subtitle, legend_html=legend, source=source, at=timezone.now())
    _inline_assets(fmap, heat)
    return render(fmap)


SYMBOL_STYLES = {
    "command_post": "#1d4ed8",
    "cordon": "#dc2626",
    "evacuation_route": "#16a34a",
    "water_source": "#0ea5e9",
    "hazard_area": "#f97316",
}


def _symbol_style(feature: dict) -> dict:
    symbol = feature["properties"]["symbol"]
    colour = SYMBOL_STYLES[symbol]
    style = {"color": colour, "fillColor": colour, "fillOpacity": 0.25, "weight": 3}
    if symbol == "cordon":
        style["dashArray"] = "8 6"
    return style


VALVE_COLOURS = {False: "#facc15", True: "#16a34a"}  # closed or not
CUSTOMER_COLOUR = "#7c3aed"


def _add_isolation(fmap: folium.Map, order: dict) -> list[list[float]]:
    """One repair order's pipes, valves and customers on the report; returns the [lat, lon] points they cover."""
    group = folium.FeatureGroup(name=f"{_('Pipeline isolation')} {order['number']}").add_to(fmap)
    folium.GeoJson(order["pipes"], style_function=_pipe_style).add_to(group)
    for customer in order["customers"]["features"]:
        x, y = customer["geometry"]["coordinates"][:2]
        folium.CircleMarker(
            [y, x], radius=3, color=CUSTOMER_COLOUR, weight=1, fill=True, fill_opacity=0.8,
            tooltip=html.escape(customer["properties"]["name"] or ""),
        ).add_to(group)  # fmt: skip
    for valve in order["valves"]["features"]:
        x, y = valve["geometry"]["coordinates"][:2]
        props = valve["properties"]
        folium.CircleMarker(
            [y, x], radius=6, color="#111827", weight=2, fill=True, fill_color=VALVE_COLOURS[props["closed"]],
            fill_opacity=1,
            tooltip=html.escape(f"{props['order']}. {props['code']}"),
        ).add_to(group)  # fmt: skip
    points = [[y, x] for pipe in order["pipes"]["features"] for x, y, *_z in _coordinates(pipe["geometry"])]
    return points or [order["burst_point"]["coordinates"][1::-1]]


def _coordinates(geometry: dict) -> list:
    coords = geometry["coordinates"]
    return coords if geometry["type"] == "LineString" else [c for part in coords for c in part]


def _escaped(collection: dict, fields: tuple[str, ...]) -> dict:
    """The collection with these text properties HTML-escaped: folium's tooltips set them as HTML, and the
    GeoJSON sits in an inline script that a "</script>" in a label would end."""
    features = [
        {**f, "properties": {**f["properties"], **{k: html.escape(str(f["properties"][k])) for k in fields}}}
        for f in collection["features"]
    ]
    return {**collection, "features": features}


def situation_report(situation: dict, districts: dict, *, title: str, subtitle: str, source: str) -> str:
    """The situation map of an incident (态势图) as a standalone HTML map."""
    fmap = new_map(districts)
    incident = situation["incident"]
    lon, lat = incident["geometry"]["coordinates"]
    extent = [[lat, lon]]
    for order in situation["isolation"]:
        extent += _add_isolation(fmap, order)
    annotations = _escaped(situation["annotations"], ("symbol_label", "label"))
    if annotations["features"]:
        folium.GeoJson(
            annotations,
            name=_("Drawn on the situation map"),
            style_function=_symbol_style,
            marker=folium.CircleMarker(radius=8, fill=True, fill_opacity=0.9),
            tooltip=folium.GeoJsonTooltip(fields=["symbol_label", "label"], labels=False),
        ).add_to(fmap)
    units = folium.FeatureGroup(name=_("Units and their tracks")).add_to(fmap)
    for unit in situation["units"]["features"]:
        props = unit["properties"]
        colour = AGENCY_COLOURS.get(props["agency"], "#64748b")
        if unit["geometry"]:
            folium.PolyLine([[y, x] for x, y in unit["geometry"]["coordinates"]], color=colour, weight=3).add_to(units)
        if props["position"]:
            folium.CircleMarker(
                [props["position"][1], props["position"][0]], radius=6, color="#fff", weight=2, fill=True,
                fill_color=colour, fill_opacity=1, tooltip=html.escape(props["call_sign"]),
            ).add_to(units)  # fmt: skip
    folium.CircleMarker(
        [lat, lon], radius=11, color="#7f1d1d", weight=3, fill=True, fill_color="#ef4444", fill_opacity=0.95,
        tooltip=html.escape(incident["properties"]["number"]),
    ).add_to(fmap)  # fmt: skip
    fmap.location = [lat, lon]
    lats, lons = [p[0] for p in extent], [p[1] for p in extent]
    fmap.fit_bounds([[min(lats) - 0.004, min(lons) - 0.005], [max(lats) + 0.004, max(lons) + 0.005]])
    legend = _swatch("#ef4444", _("Incident"))
    for symbol, colour in SYMBOL_STYLES.items():
        legend += _swatch(colour, Annotation.Symbol(symbol).label)
    for agency, colour in AGENCY_COLOURS.items():
        legend += _swatch(colour, Organisation.Agency(agency).label)
    if situation["isolation"]:
        legend += (
            _swatch("#b91c1c", _("Shut in by the isolation"))
            + _swatch("#f59e0b", _("Without supply (secondary outage)"))
            + _swatch(VALVE_COLOURS[False], _("Valve to close"))
            + _swatch(VALVE_COLOURS[True], _("Valve closed"))
            + _swatch(CUSTOMER_COLOUR, _("Customer without supply"))
        )
    population = situation["population"]
    if population.get("available") and population.get("total") is not None:
        people = _("People in the affected areas")
        legend += f"<li>{html.escape(people)}: {population['total']}</li>"
    folium.LayerControl(collapsed=False).add_to(fmap)
    add_frame(fmap, title=title, subtitle=subtitle, legend_html=legend, source=source, at=timezone.now())
    _inline_assets(fmap, heat=False)
    return render(fmap)


def render(fmap: folium.Map) -> str:
    page = fmap.get_root().render()
    found = EXTERNAL_ASSET.search(page)
    if found:  # a folium element brought its own CDN link: refuse to hand out a file that breaks offline
        raise RuntimeError(f"map report would load an outside asset near: {page[found.start() : found.start() + 80]}")
    return page


# The policy a report is downloaded under, instead of the site's (settings CONTENT_SECURITY_POLICY): see attachment().
REPORT_POLICY = (
    "sandbox allow-scripts; default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "img-src data:; frame-ancestors 'none'"
)


def attachment(body: bytes, content_type: str, filename: str) -> HttpResponse:
    """A report as a download, under REPORT_POLICY: a sandbox with its own narrow policy.

    The HTML report is a document of its own whose map is drawn by Leaflet code inlined into it, which the site's
    policy (no inline script) would stop. Should a browser show it from CityOps' address instead of saving it, the
    sandbox gives it an opaque origin, so its script reaches no session, cookie or API of CityOps, and the policy
    lets it load nothing from anywhere (all it needs is inline). Allowing inline script in the site's policy for
    this one response would instead hand that script CityOps' origin. PNG and PDF snapshots get the same header.
    """
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Content-Security-Policy"] = REPORT_POLICY
    return response


def snapshot(page_html: str, fmt: str) -> bytes:
    """PNG or PDF of a report, drawn by headless Chromium with every network request sent nowhere."""
    with tempfile.TemporaryDirectory(prefix="cityops-report-") as tmp:
        source = Path(tmp) / "report.html"
        source.write_text(page_html, encoding="utf-8")
        target = Path(tmp) / f"report.{fmt}"
        output = [f"--screenshot={target}"] if fmt == "png" else [f"--print-to-pdf={target}", "--no-pdf-header-footer"]
        command = [
            CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
            "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
            # Nothing leaves the machine even if a report slipped through with an outside link.
            "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
            f"--window-size={SNAPSHOT_SIZE[0]},{SNAPSHOT_SIZE[1]}", "--virtual-time-budget=4000",
            f"--user-data-dir={Path(tmp) / 'profile'}", *output, source.as_uri(),
        ]  # fmt: skip
        with limits.slot("render"):
            subprocess.run(command, check=True, capture_output=True, timeout=SNAPSHOT_TIMEOUT_S)
        return target.read_bytes()
