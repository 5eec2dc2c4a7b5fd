"""The printable repair order (抢修单): the template context, with the burst map drawn as inline SVG.

The page must print on a government intranet with no internet, so the map is not tiles: it is the
order's own geometries (and the surrounding pipes) projected to the metric CRS and written as SVG.
"""

import json
import math
from html import escape

import numpy as np
import pyproj
import shapely
from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import mark_safe

from core.selectors import metric_srid

from . import selectors
from .models import RepairOrder, Utility

UTILITY_LABEL = {
    Utility.WATER: "供水",
    Utility.DRAINAGE: "排水",
    Utility.GAS: "燃气",
    Utility.HEAT: "热力",
    Utility.POWER: "电力",
    Utility.TELECOM: "通信",
}
STATUS_LABEL = {
    "open": "待处理",
    "isolating": "关阀中",
    "repairing": "抢修中",
    "repaired": "已修复",
    "restored": "已恢复供应",
    "cancelled": "已取消",
}
FAR_SIDE_LABEL = {"supplied": "来水侧", "cut_off": "断供侧", "unsupplied": "原无供应"}
OPERABILITY_LABEL = {"working": "完好", "inoperable": "失灵", "unknown": "未核实"}
CUSTOMER_TYPE_LABEL = {
    "residential": "居民",
    "commercial": "商业",
    "industrial": "工业",
    "public": "公共建筑",
    "hospital": "医院",
    "school": "学校",
    "care_home": "养老院",
}
CAUSE_LABEL = {"isolated": "关阀区内", "outage": "连带停供"}
MATERIAL_LABEL = {
    "ductile_iron": "球墨铸铁",
    "cast_iron": "灰口铸铁",
    "steel": "钢管",
    "pe": "PE",
    "pvc": "PVC",
    "concrete": "混凝土",
    "other": "其他",
}
LISTED_CUSTOMERS = 200  # the rest are counted; the full list is in the system
MAP_MARGIN_M = 60.0
SCALE_STEPS_M = (10, 20, 50, 100, 200, 500, 1000, 2000, 5000)


def repair_order_context(order: RepairOrder) -> dict:
    isolation = order.isolation
    customers = isolation["customers"]["items"]
    sensitive = [c for c in customers if c["sensitive"]]
    others = [c for c in customers if not c["sensitive"]]
    listed = [
        customer
        | {
            "type_label": CUSTOMER_TYPE_LABEL.get(customer["type"], customer["type"]),
            "cause_label": CAUSE_LABEL[customer["cause"]],
        }
        for customer in sensitive + others[: max(0, LISTED_CUSTOMERS - len(sensitive))]
    ]
    valves = [
        valve
        | {
            "far_side_label": FAR_SIDE_LABEL[valve["far_side"]],
            "operability_label": OPERABILITY_LABEL[valve["operability"]],
            "lon": valve["geometry"]["coordinates"][0],
            "lat": valve["geometry"]["coordinates"][1],
        }
        for valve in isolation["valves_to_close"]
    ]
    pipe = isolation["burst"]["pipe"]
    return {
        "order": order,
        "created_at": timezone.localtime(order.created_at),
        "utility_label": UTILITY_LABEL.get(order.network.utility, order.network.utility),
        "status_label": STATUS_LABEL[order.status],
        "burst": isolation["burst"],
        "burst_lon": order.burst_point.x,
        "burst_lat": order.burst_point.y,
        "pipe_material": MATERIAL_LABEL.get(pipe["material"], pipe["material"] or "—"),
        "valves": valves,
        "closed_boundary_valves": isolation["closed_boundary_valves"],
        "isolated": isolation["isolated"],
        "outage": isolation["outage"],
        "total_length_m": isolation["total_length_m"],
        "customer_counts": isolation["customers"],
        "customers": listed,
        "unlisted_customers": len(customers) - len(listed),
        "map_svg": mark_safe(_order_map(order)),  # noqa: S308 -- built by burst_map_svg, every text escaped
    }


def repair_order_html(order: RepairOrder, request=None) -> str:
    """The print page: one template for the browser and for the PDF, so both show the same order."""
    return render_to_string("pipelines_mgmt/repair_order.html", repair_order_context(order), request)


def repair_order_document(order: RepairOrder):
    """The order laid out by WeasyPrint (pages and boxes): what `repair_order_pdf` writes out."""
    from weasyprint import HTML  # imported here: loading Pango costs ~0.3 s, needed only for PDFs

    return HTML(string=repair_order_html(order), base_url=str(settings.ROOT_DIR)).render()


def repair_order_pdf(order: RepairOrder) -> bytes:
    """The repair order as an A4 PDF (the print page's HTML and its inline SVG map, rendered server-side)."""
    return repair_order_document(order).write_pdf()


def _order_map(order: RepairOrder) -> str:
    """The order's geometries in metres, plus the network's other pipes around them as background."""
    isolation = order.isolation
    srid = metric_srid()
    to_metric = pyproj.Transformer.from_crs(4326, srid, always_xy=True)

    def metric(geometry):
        return shapely.transform(geometry, lambda xy: np.column_stack(to_metric.transform(xy[:, 0], xy[:, 1])))

    def features(collection):
        return [metric(shapely.from_geojson(json.dumps(f["geometry"]))) for f in collection["features"]]

    isolated = features(isolation["isolated"]["pipes"])
    outage = features(isolation["outage"]["pipes"])
    burst = metric(shapely.Point(order.burst_point.coords))
    valves = [
        (str(v["order"]), metric(shapely.Point(v["geometry"]["coordinates"]))) for v in isolation["valves_to_close"]
    ]
    closed = [metric(shapely.Point(v["geometry"]["coordinates"])) for v in isolation["closed_boundary_valves"]]
    customers = [
        metric(shapely.Point(c["geometry"]["coordinates"])) for c in isolation["customers"]["items"] if c["sensitive"]
    ]
    focus = shapely.GeometryCollection([*isolated, burst, *(point for _, point in valves)])
    minx, miny, maxx, maxy = focus.buffer(MAP_MARGIN_M).bounds
    to_wgs84 = pyproj.Transformer.from_crs(srid, 4326, always_xy=True)
    lon0, lat0 = to_wgs84.transform(minx, miny)
    lon1, lat1 = to_wgs84.transform(maxx, maxy)
    background = [
        metric(shapely.from_wkb(bytes(p.geom.wkb)))
        for p in selectors.pipes_near(order.network, (lon0, lat0, lon1, lat1))
    ]
    return burst_map_svg(
        background=background,
        isolated=isolated,
        outage=outage,
        valves=valves,
        closed_valves=closed,
        burst=burst,
        customers=customers,
        extent=(minx, miny, maxx, maxy),
    )


def burst_map_svg(
    *, background, isolated, outage, valves, closed_valves, burst, customers, extent, width=680, height=420
) -> str:
    """SVG of a burst: background pipes, shut-in pipes, outage pipes, numbered valves, the burst, customers.

    Geometries are shapely objects in a metric CRS; `extent` is the area to show (it is widened to the
    picture's aspect ratio). Only numbers and escaped labels are written, so the result is safe to inline.
    """
    minx, miny, maxx, maxy = extent
    span_x, span_y = max(maxx - minx, 1.0), max(maxy - miny, 1.0)
    scale = min(width / span_x, height / span_y)
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2

    def xy(x, y):
        return f"{width / 2 + (x - cx) * scale:.1f},{height / 2 - (y - cy) * scale:.1f}"

    def lines(geometries, css):
        out = []
        for geometry in geometries:
            for part in shapely.get_parts(geometry):
                points = " ".join(xy(x, y) for x, y in shapely.get_coordinates(part))
                out.append(f'<polyline class="{css}" points="{points}"/>')
        return out

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" '
        'role="img" aria-label="爆管位置图">',
        "<style>polyline{fill:none;stroke-linecap:round}.bg{stroke:#b8b8b8;stroke-width:1.5}"
        ".iso{stroke:#d40000;stroke-width:4}.out{stroke:#f08c00;stroke-width:3;stroke-dasharray:6 3}"
        ".valve{fill:#fff;stroke:#0050b4;stroke-width:2}.vl{font:bold 11px sans-serif;fill:#0050b4;text-anchor:middle}"
        ".lead{stroke:#0050b4;stroke-width:1}.dot{fill:#0050b4}.nc{fill:#333}.cust{fill:#7a00b4}.burst{fill:#d40000;stroke:#fff;stroke-width:1.5}"
        ".txt{font:11px sans-serif;fill:#333}</style>",
        f'<rect width="{width}" height="{height}" fill="#fff" stroke="#999"/>',
    ]
    parts += lines(background, "bg") + lines(outage, "out") + lines(isolated, "iso")
    for point in customers:
        x, y = xy(point.x, point.y).split(",")
        parts.append(f'<rect class="cust" x="{float(x) - 4:.1f}" y="{float(y) - 4:.1f}" width="8" height="8"/>')
    for point in closed_valves:
        x, y = xy(point.x, point.y).split(",")
        parts.append(f'<circle class="nc" cx="{x}" cy="{y}" r="5"/>')
    for x, y, label_x, label_y, label in _spread_labels([(label, *xy(p.x, p.y).split(",")) for label, p in valves]):
        if (label_x, label_y) != (x, y):  # several valves at one tee: a dot each, labels around it
            parts.append(f'<path class="lead" d="M{x:.1f} {y:.1f} L{label_x:.1f} {label_y:.1f}"/>')
            parts.append(f'<circle class="dot" cx="{x:.1f}" cy="{y:.1f}" r="3"/>')
        parts.append(f'<circle class="valve" cx="{label_x:.1f}" cy="{label_y:.1f}" r="8"/>')
        parts.append(f'<text class="vl" x="{label_x:.1f}" y="{label_y + 4:.1f}">{escape(label)}</text>')
    bx, by = (float(v) for v in xy(burst.x, burst.y).split(","))
    star = " ".join(
        f"{bx + r * math.cos(math.pi / 2 + k * math.pi / 5):.1f},{by - r * math.sin(math.pi / 2 + k * math.pi / 5):.1f}"
        for k, r in zip(range(10), [11, 4.5] * 5, strict=True)
    )
    parts.append(f'<polygon class="burst" points="{star}"/>')
    bar = next((step for step in SCALE_STEPS_M if step * scale >= width / 6), SCALE_STEPS_M[-1])
    bar_px = bar * scale
    parts.append(
        f'<path d="M12 {height - 14} h{bar_px:.1f}" stroke="#333" stroke-width="3"/>'
        f'<text class="txt" x="12" y="{height - 20}">{bar} 米</text>'
        f'<path d="M{width - 22} 34 l8 -22 l8 22 l-8 -6 z" fill="#333"/>'
        f'<text class="txt" x="{width - 18}" y="48" text-anchor="middle">北</text>'
    )
    parts.append("</svg>")
    return "".join(parts)


def _spread_labels(valves, near_px=18.0, radius_px=24.0):
    """(x, y, label x, label y, label) per valve: valves closer than `near_px` get their labels on a ring."""
    groups: list[list[tuple[str, float, float]]] = []
    for label, x, y in valves:
        x, y = float(x), float(y)
        group = next((g for g in groups if math.hypot(g[0][1] - x, g[0][2] - y) < near_px), None)
        if group is None:
            groups.append([(label, x, y)])
        else:
            group.append((label, x, y))
    placed = []
    for group in groups:
        if len(group) == 1:
            label, x, y = group[0]
            placed.append((x, y, x, y, label))
            continue
        cx = sum(x for _, x, _ in group) / len(group)
        cy = sum(y for _, _, y in group) / len(group)
        for k, (label, x, y) in enumerate(group):
            angle = -math.pi / 2 + 2 * math.pi * k / len(group)
            placed.append((x, y, cx + radius_px * math.cos(angle), cy + radius_px * math.sin(angle), label))
    return placed
