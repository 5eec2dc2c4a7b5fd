"""Reads behind the decision maps: areas, incident density, bursts, trends and one incident's situation.

Indicators (case KPIs, response times) are never computed here: they come from the grid and dispatch
apps' own selectors (see ``leader/kpis.py``), so a number on the dashboard is the number of their API.
"""

import json
from datetime import datetime, timedelta

import shapely
from django.contrib.gis.db.models.functions import AsGeoJSON
from django.db import connection
from django.db.models import Q
from django.utils import timezone

from core.models import AdminArea
from core.realtime import Viewer
from core.selectors import in_area
from dispatch import selectors as dispatch_selectors
from dispatch.features import assignment_json, incident_feature
from dispatch.models import Incident, TrackPoint
from gis import rasters
from pipelines_mgmt import selectors as pipelines_selectors
from pipelines_mgmt.models import RepairOrder

from . import forecast
from .models import AFFECTED_AREA_SYMBOLS, Annotation
from .periods import Period

# Coordinates to 6 decimals (~0.1 m): enough for any map, a third shorter than full precision.
GEOJSON_DECIMALS = 6
POPULATION_RASTER = "population"
TREND_WEEKS = 52
HOLDOUT_WEEKS = 8
FORECAST_WEEKS = 8


def _feature(geojson: str, properties: dict, feature_id=None) -> dict:
    feature = {"type": "Feature", "geometry": json.loads(geojson), "properties": properties}
    if feature_id is not None:
        feature["id"] = feature_id
    return feature


def collection(features: list[dict], **extra) -> dict:
    return {"type": "FeatureCollection", "features": features, **extra}


def districts(area: AdminArea | None) -> list[dict]:
    """The districts shown for a scope: every district of the city, or the one district a leader governs."""
    rows = AdminArea.objects.filter(level=AdminArea.Level.DISTRICT)
    if area is not None:
        rows = rows.filter(Q(pk=area.pk) | Q(geom__within=area.geom)) if area.level != "city" else rows
    rows = rows.annotate(shape=AsGeoJSON("geom", precision=GEOJSON_DECIMALS)).order_by("code")
    return [_feature(row.shape, {"code": row.code, "name": row.name}, row.code) for row in rows]


def _area_sql(area: AdminArea | None, column: str) -> tuple[str, list]:
    if area is None:
        return "", []
    return f" AND ST_Intersects({column}, ST_GeomFromEWKB(%s))", [bytes(area.geom.ewkb)]


def _json_rows(sql: str, params: list) -> str:
    """The JSON array text PostgreSQL builds for a query (large layers never become Python objects)."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def grids_json(area: AdminArea | None, styled: dict[str, tuple[float | None, str]], no_data: str) -> str:
    """The unit grids (单元网格) of a scope as a GeoJSON feature array, each with its value and colour."""
    area_sql, area_params = _area_sql(area, "g.geom")
    codes = list(styled)
    sql = f"""
        WITH v AS (SELECT * FROM unnest(%s::text[], %s::float8[], %s::text[]) AS v(code, value, color))
        SELECT coalesce(json_agg(json_build_object(
            'type', 'Feature', 'id', g.code, 'geometry', ST_AsGeoJSON(g.geom, {GEOJSON_DECIMALS})::json,
            'properties', json_build_object('code', g.code, 'name', g.code, 'value', v.value,
                                            'color', coalesce(v.color, %s))
        ) ORDER BY g.code), '[]')::text
        FROM grid_unitgrid g LEFT JOIN v ON v.code = g.code WHERE true{area_sql}"""  # noqa: S608 - fixed text
    params = [codes, [styled[c][0] for c in codes], [styled[c][1] for c in codes], no_data, *area_params]
    return _json_rows(sql, params)


def incident_points_json(period: Period, area: AdminArea | None, agency: str | None) -> str:
    """Incidents received in the period (points for the density map), by agency if given."""
    area_sql, area_params = _area_sql(area, "i.geom")
    agency_sql = " AND i.agencies @> ARRAY[%s]::varchar[]" if agency else ""
    sql = f"""
        SELECT coalesce(json_agg(json_build_object(
            'type', 'Feature', 'id', i.id, 'geometry', ST_AsGeoJSON(i.geom, {GEOJSON_DECIMALS})::json,
            'properties', json_build_object('agencies', i.agencies, 'agency', t.agency, 'priority', i.priority,
                                            'type_code', t.code, 'status', i.status)
        )), '[]')::text
        FROM dispatch_incident i JOIN dispatch_incidenttype t ON t.id = i.incident_type_id
        WHERE i.call_received_at >= %s AND i.call_received_at < %s AND NOT i.exercise{area_sql}{agency_sql}"""  # noqa: S608
    return _json_rows(sql, [period.start, period.end, *area_params, *([agency] if agency else [])])


def burst_features(period: Period, area: AdminArea | None) -> tuple[list[dict], list[dict]]:
    """Repair orders opened in the period (burst points) and the pipes they shut in or left without supply."""
    rows = (
        RepairOrder.objects.filter(
            in_area(area, "burst_point"), created_at__gte=period.start, created_at__lt=period.end
        )
        .exclude(exercise=True)
        .select_related("network")
    )
    points, pipes = [], []
    for order in rows:
        isolation = order.isolation
        points.append(
            {
                "type": "Feature",
                "id": order.number,
                "geometry": json.loads(order.burst_point.geojson),
                "properties": {
                    "number": order.number,
                    "status": order.status,
                    "utility": order.network.utility,
                    "customers": isolation["customers"]["count"],
                    "sensitive_customers": isolation["customers"]["sensitive_count"],
                    "incident_id": order.incident_id,
                    "created_at": timezone.localtime(order.created_at).isoformat(),
                },
            }
        )
        pipes += [
            {**pipe, "properties": {**pipe["properties"], "order": order.number}}
            for pipe in pipelines_selectors.repair_order_pipes(order)
        ]
    return points, pipes


# --- trends -----------------------------------------------------------------------------------------

# Weekly counts of what each trend indicator counts: (table, time column, geometry column, which rows). Drills'
# incidents and the repair orders they opened are exercises: never counted.
TREND_SOURCES = {
    "cases": ("grid_case", "reported_at", "geom", "TRUE"),
    "incidents": ("dispatch_incident", "call_received_at", "geom", "NOT exercise"),
    "bursts": ("pipelines_mgmt_repairorder", "created_at", "burst_point", "NOT exercise"),
}


def week_start(moment: datetime) -> datetime:
    """Local Monday 00:00 of the week holding `moment`."""
    local = timezone.localtime(moment)
    monday = local.date() - timedelta(days=local.weekday())
    return datetime.combine(monday, datetime.min.time(), tzinfo=local.tzinfo)


def weekly_counts(indicator: str, area: AdminArea | None, end: datetime, weeks: int = TREND_WEEKS) -> list[dict]:
    """`weeks` complete local weeks before the week holding `end`, oldest first, with their counts."""
    table, column, geom, counted = TREND_SOURCES[indicator]
    last = week_start(end)
    first = last - timedelta(weeks=weeks)
    tz = timezone.get_current_timezone_name()
    area_sql, params = _area_sql(area, geom)
    sql = (
        f"SELECT date_trunc('week', {column} AT TIME ZONE %s) AS week, count(*) FROM {table} "  # noqa: S608
        f"WHERE {column} >= %s AND {column} < %s AND ({counted}){area_sql} GROUP BY 1"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [tz, first, last, *params])
        counts = {week.date(): n for week, n in cursor.fetchall()}
    return [
        {
            "week": (first + timedelta(weeks=i)).date().isoformat(),
            "value": counts.get((first + timedelta(weeks=i)).date(), 0),
        }
        for i in range(weeks)
    ]


def trend(indicator: str, area: AdminArea | None, end: datetime) -> dict:
    """The weekly series with its forecast, its error on the held-out last weeks and its anomalies."""
    series = weekly_counts(indicator, area, end)
    values = [point["value"] for point in series]
    last_week = datetime.fromisoformat(series[-1]["week"])
    coming = forecast.forecast(values, FORECAST_WEEKS)
    checked = forecast.backtest(values, HOLDOUT_WEEKS)
    checks = {c.index: c for c in forecast.anomalies(values)}
    for index, point in enumerate(series):
        check = checks.get(index)
        point["expected"] = None if check is None else round(check.expected, 2)
        point["z"] = None if check is None else round(check.z, 2)
        point["anomaly"] = bool(check and check.anomaly)
    return {
        "indicator": indicator,
        "method": forecast.METHOD,
        "series": series,
        "forecast": [
            {"week": (last_week + timedelta(weeks=i + 1)).date().isoformat(), "value": round(float(v), 2)}
            for i, v in enumerate(coming)
        ],
        "backtest": {
            "holdout_weeks": HOLDOUT_WEEKS,
            "mae": round(checked.mae, 2),
            "mape": None if checked.mape is None else round(checked.mape, 4),
            "predicted": [round(v, 2) for v in checked.predicted],
        },
    }


# --- the situation map of one incident --------------------------------------------------------------


def situation_incident(user, incident_id: int) -> Incident | None:
    """The incident if the user may see it — the incidents' one rule (a city government every incident, a district
    government those in its district: Organisation.oversees); None hides whether it exists elsewhere."""
    return dispatch_selectors.visible_incident(Viewer.for_user(user), incident_id)


def annotation_feature(annotation: Annotation) -> dict:
    return _feature(
        annotation.geom.geojson,
        {
            "id": annotation.pk,
            "incident_id": annotation.incident_id,
            "symbol": annotation.symbol,
            "symbol_label": str(Annotation.Symbol(annotation.symbol).label),
            "label": annotation.label,
            "created_at": timezone.localtime(annotation.created_at).isoformat(),
            "drawn_by_id": annotation.created_by_id,
        },
        annotation.pk,
    )


def annotations(incident_id: int) -> list[Annotation]:
    return list(Annotation.objects.filter(incident_id=incident_id))


def tracks(incident: Incident) -> list[dict]:
    """Each assigned unit's GPS track from its dispatch to its clearing (or now), as one line per unit."""
    features = []
    now = timezone.now()
    for assignment in incident.assignments.all():
        points = list(
            TrackPoint.objects.filter(
                vehicle_id=assignment.vehicle_id,
                fix_time__gte=assignment.dispatched_at,
                fix_time__lte=assignment.cleared_at or now,
            )
            .order_by("fix_time")
            .values_list("geom", "fix_time")[:5000]
        )
        coords = [list(geom.coords) for geom, _ in points]
        vehicle = assignment.vehicle
        features.append(
            {
                "type": "Feature",
                "id": vehicle.pk,
                "geometry": {"type": "LineString", "coordinates": coords} if len(coords) > 1 else None,
                "properties": {
                    **assignment_json(assignment),
                    "position": list(vehicle.last_position.coords) if vehicle.last_position else None,
                    "fixes": len(coords),
                },
            }
        )
    return features


def affected_population(items: list[Annotation]) -> dict:
    """People inside each cordon or hazard area (population raster), and in their union (no double count)."""
    areas = [a for a in items if a.symbol in AFFECTED_AREA_SYMBOLS and a.geom.geom_type in ("Polygon", "MultiPolygon")]
    if not areas or not rasters.available(POPULATION_RASTER):
        return {"available": rasters.available(POPULATION_RASTER), "total": 0 if not areas else None, "areas": []}
    shapes = [shapely.from_wkb(bytes(a.geom.wkb)) for a in areas]
    return {
        "available": True,
        "total": _people(shapely.union_all(shapes)),
        "areas": [
            {"id": a.pk, "symbol": a.symbol, "population": _people(s)} for a, s in zip(areas, shapes, strict=True)
        ],
    }


def _people(shape) -> int:
    return round(rasters.zonal_stats(POPULATION_RASTER, shape)["sum"] or 0)


def isolation_for(incident_id: int) -> list[dict]:
    """The pipeline isolation plans (repair orders) opened for this incident, as maps draw them."""
    return [
        pipelines_selectors.repair_order_map(order)
        for order in pipelines_selectors.repair_orders_for_incident(incident_id)
    ]


def situation(incident: Incident) -> dict:
    items = annotations(incident.pk)
    return {
        "incident": incident_feature(incident),
        "units": collection(tracks(incident)),
        "annotations": collection([annotation_feature(a) for a in items]),
        "isolation": isolation_for(incident.pk),
        "population": affected_population(items),
        "timeline": dispatch_selectors.timeline(incident),
    }
