"""Statistics of a layer query by district or unit grid, in one grouped PostGIS query.

The features are selected exactly as the OGC API items endpoint selects them (`ogcapi.query`: allow-listed
CQL2 → Django Q), and the zones by the ORM; both are compiled by Django into parameterised SQL and only
joined and grouped here. No user text is ever part of the SQL. A feature that crosses zones counts in
each (one that only touches a zone's boundary does not); its length (lines) or area (polygons) is split at
the zone boundaries, measured in the metric CRS.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db import DatabaseError, connection, transaction
from django.db.models import F, Q, QuerySet

from core.errors import InputError
from core.models import AdminArea
from core.selectors import metric_srid

from . import ogcapi
from .layers import INTEGER, NUMBER, Layer


@dataclass(frozen=True)
class ZoneKind:
    queryset: Callable[[], QuerySet]
    name_path: str
    """ORM path of the zone's label (a unit grid is labelled by its community)."""


def _districts() -> QuerySet:
    return AdminArea.objects.filter(level=AdminArea.Level.DISTRICT)


ZONES = {"district": ZoneKind(_districts, "name")}
"""Zone kinds by name; a domain app adds its own (grid: unit grids) with register_zone_kind."""


def register_zone_kind(name: str, kind: ZoneKind) -> None:
    if name in ZONES:
        raise ValueError(f"zone kind {name!r} registered twice")
    ZONES[name] = kind


STAT_PARAMS = ("by", "field")
MAX_ZONE_HITS = 2000
"""Zones listed in a search (the planner's district / unit grid picker)."""


def zone_kind(by: str | None) -> ZoneKind:
    if by not in ZONES:
        raise InputError("by", f"by must be one of {', '.join(ZONES)}, got {by!r}")
    return ZONES[by]


def zones(by: str, search: str = "", limit: int = 50) -> QuerySet:
    """Zones of a kind whose code starts with, or whose name contains, `search`: (code, name, geometry) rows."""
    kind = zone_kind(by)
    qs = kind.queryset()
    if search:
        qs = qs.filter(Q(code__startswith=search) | Q(**{f"{kind.name_path}__icontains": search}))
    return qs.order_by("code").values_list("code", kind.name_path, "geom")[: min(limit, MAX_ZONE_HITS)]


def measure(layer: Layer) -> str | None:
    """What is summed per zone besides counts: 'length_m' for line layers, 'area_m2' for polygons."""
    if "LineString" in layer.geometry_type:
        return "length_m"
    if "Polygon" in layer.geometry_type:
        return "area_m2"
    return None


def numeric_field(layer: Layer, name: str | None) -> str | None:
    """The ORM path of an allow-listed numeric property (400 for anything else)."""
    if not name:
        return None
    prop = layer.properties.get(name)
    if prop is None or prop.type not in (NUMBER, INTEGER):
        numeric = [n for n, p in layer.properties.items() if p.type in (NUMBER, INTEGER)]
        raise InputError("field", f"{name!r} is not a numeric property of {layer.id}; use one of {numeric}")
    return prop.path


# Most features lie wholly inside one zone: those are measured whole, the rest cut at the boundary first.
_PART = (
    "ST_Transform(CASE WHEN ST_CoveredBy(f.stat_geom, z.zone_geom) THEN f.stat_geom"
    " ELSE ST_Intersection(f.stat_geom, z.zone_geom) END, %s)"
)
_MEASURES = {"length_m": f"ST_Length({_PART})", "area_m2": f"ST_Area({_PART})"}


_NOT_ONLY_TOUCHING = " AND NOT ST_Touches(f.stat_geom, z.zone_geom)"
"""A line or polygon that only shares a boundary with a zone is not in it (a point on the boundary is in both)."""


def by_zone(layer: Layer, params, user, by: str, field: str | None = None) -> dict:
    """Count (and sum/avg of `field`, length or area) of the query's features per zone, zones with none left out."""
    kind = zone_kind(by)
    value_path = numeric_field(layer, field)
    query_params = {k: v for k, v in params.items() if k not in STAT_PARAMS}
    features = ogcapi.query(layer, query_params, user).order_by()
    columns = {"stat_id": F(layer.id_field), "stat_geom": F(layer.geometry_field)}
    if value_path:
        columns["stat_value"] = F(value_path)
    feature_sql, feature_params = features.values(**columns).query.sql_with_params()
    zone_rows = kind.queryset().order_by().values(zone_code=F("code"), zone_name=F(kind.name_path), zone_geom=F("geom"))
    zone_sql, zone_params = zone_rows.query.sql_with_params()

    select = ["z.zone_code", "z.zone_name", "count(*)"]
    select_params: list = []
    if value_path:
        select += ["sum(f.stat_value)", "avg(f.stat_value)"]
    kind_of_measure = measure(layer)
    if kind_of_measure:
        select.append(f"sum({_MEASURES[kind_of_measure]})")
        select_params.append(metric_srid())
    sql = (
        f"SELECT {', '.join(select)} FROM ({zone_sql}) z JOIN ({feature_sql}) f"  # noqa: S608 (ORM-compiled, values bound)
        f" ON ST_Intersects(f.stat_geom, z.zone_geom){'' if kind_of_measure is None else _NOT_ONLY_TOUCHING}"
        " GROUP BY z.zone_code, z.zone_name ORDER BY z.zone_code"
    )
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [*select_params, *zone_params, *feature_params])
            rows = cursor.fetchall()
            matched = features.count()
    except DatabaseError as exc:
        # e.g. a literal the column type cannot take; the message is the database's, not SQL from user text
        raise InputError("filter", f"the query could not be run: {str(exc).splitlines()[0][:200]}") from None

    out = []
    for code, name, count, *rest in rows:
        row = {"code": code, "name": name, "count": count}
        if value_path:
            total, mean = rest[0], rest[1]
            row.update(sum=_number(total), avg=_number(mean))
            rest = rest[2:]
        if kind_of_measure:
            row[kind_of_measure] = round(float(rest[0] or 0), 1)
        out.append(row)
    return {
        "layer": layer.id,
        "by": by,
        "field": field or None,
        "measure": kind_of_measure,
        "matched": matched,
        "zones": out,
    }


def _number(value):
    return None if value is None else round(float(value), 3)
