"""Building and importing the grid layers: unit grids (generated or from a GIS file) and components (部件).

Files come through gis.importing (GeoPackage, zipped Shapefile, GeoJSON, CSV with coordinates, KML; size and
type checked) in WGS84. Every import runs in one transaction with its audit row: a file with one bad row
changes nothing, and the error names the row (counted from 1, as in the file).
"""

import re
from dataclasses import dataclass

import numpy as np
import pyproj
import shapely
from django.contrib.gis.geos import GEOSGeometry
from django.core.files import File
from django.db import connection, transaction

from core.errors import InputError
from core.models import AdminArea, Organisation, User
from core.selectors import metric_srid
from core.services import record_audit
from gis import importing
from gis.models import Landcover, Road

from . import gridding
from .models import Case, Component, ComponentClass, UnitGrid

GRID_CODE = re.compile(r"^\d{15}$")


def _transform(geoms, source: int, target: int):
    transformer = pyproj.Transformer.from_crs(source, target, always_xy=True)
    return shapely.transform(
        np.array(geoms, dtype=object), lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1]))
    )


def _geos(geom) -> GEOSGeometry:
    return GEOSGeometry(memoryview(shapely.to_wkb(geom)), srid=4326)


@transaction.atomic
def build_unit_grids(target_m2: float = gridding.TARGET_M2, community_codes=None, replace: bool = False) -> int:
    """Cut communities (all, or the given codes) into unit grids along the roads and water; returns the count."""
    communities = AdminArea.objects.filter(level=AdminArea.Level.COMMUNITY).select_related("parent")
    if community_codes:
        communities = communities.filter(code__in=community_codes)
    communities = list(communities)
    existing = UnitGrid.objects.filter(community__in=communities)
    if existing.exists():
        if not replace:
            raise InputError("replace", f"{existing.count()} unit grids exist in these communities; use --replace")
        _replace(existing)
    srid = metric_srid()
    to_shape = [shapely.from_wkb(bytes(a.geom.wkb)) for a in communities]
    lines = [shapely.from_wkb(bytes(g.wkb)) for g in Road.objects.values_list("geom", flat=True)]
    lines += [shapely.from_wkb(bytes(g.boundary.wkb)) for g in Landcover.objects.filter(kind="water").values_list(
        "geom", flat=True)]  # fmt: skip
    metric = _transform(to_shape, 4326, srid)
    metric_lines = list(_transform(lines, 4326, srid)) if lines else []
    cells = gridding.divide(list(zip([a.code for a in communities], metric, strict=True)), metric_lines, target_m2)
    by_code = {a.code: a for a in communities}
    lonlat = _transform([c.polygon for c in cells], srid, 4326)
    rows = [
        UnitGrid(
            code=cell.code,
            community=by_code[cell.community_code],
            street_id=by_code[cell.community_code].parent_id,
            district_id=by_code[cell.community_code].parent.parent_id,
            geom=_geos(geom),
            area_m2=cell.polygon.area,
        )
        for cell, geom in zip(cells, lonlat, strict=True)
    ]
    UnitGrid.objects.bulk_create(rows, batch_size=2000)
    _assign_components_to_grids()
    return len(rows)


def _text(record, field: str | None) -> str:
    """An attribute as text; empty for a missing field or an empty cell (pandas gives NaN)."""
    if not field:
        return ""
    value = record.get(field)
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return str(value).strip()


def _read(file: File, layer: str | None):
    with importing.receive(file, importing.VECTOR_FORMATS) as received:
        return importing.read_vector(received, layer=layer).frame


@transaction.atomic
def import_unit_grids(
    actor: User | None, file: File, layer: str | None = None, code_field: str | None = "code", replace=False
) -> int:
    """Unit grids from a polygon layer. A valid 15-digit ``code_field`` is kept (its first 12 digits must be a
    community); otherwise the grid is coded in the community that holds it (west→east, north→south)."""
    frame = _read(file, layer)
    if replace:
        _replace(UnitGrid.objects.all())
    communities = {
        a.code: a for a in AdminArea.objects.filter(level=AdminArea.Level.COMMUNITY).select_related("parent")
    }
    rows, uncoded = [], []
    for index, record in frame.iterrows():
        geom = record.geometry
        if geom is None or geom.is_empty:
            raise InputError("geometry", f"row {index}: empty geometry")
        polygons = [geom] if geom.geom_type == "Polygon" else list(getattr(geom, "geoms", []))
        if len(polygons) != 1 or polygons[0].geom_type != "Polygon":
            raise InputError("geometry", f"row {index}: a unit grid must be one polygon, not {geom.geom_type}")
        code = _text(record, code_field)
        if code and not GRID_CODE.match(code):
            raise InputError(code_field, f"row {index}: {code!r} is not a 15-digit unit-grid code")
        if code and code[:12] not in communities:
            raise InputError(code_field, f"row {index}: no community {code[:12]} for grid {code}")
        (rows if code else uncoded).append((code, polygons[0]))
    for code, polygon in _code_by_community(uncoded, communities, {c for c, _ in rows}):
        rows.append((code, polygon))
    areas = _transform([p for _, p in rows], 4326, metric_srid())
    grids = []
    for (code, polygon), metric in zip(rows, areas, strict=True):
        community = communities[code[:12]]
        grids.append(
            UnitGrid(
                code=code,
                community=community,
                street_id=community.parent_id,
                district_id=community.parent.parent_id,
                geom=_geos(polygon),
                area_m2=metric.area,
            )
        )
    UnitGrid.objects.bulk_create(grids, batch_size=2000)
    _assign_components_to_grids()
    record_audit(actor, "unit_grid.import", UnitGrid, f"{len(grids)} unit grids from {file.name}", {"replace": replace})
    return len(grids)


def _code_by_community(uncoded, communities, taken: set[str]):
    if not uncoded:
        return []
    codes = list(communities)
    shapes = [shapely.from_wkb(bytes(communities[c].geom.wkb)) for c in codes]
    tree = shapely.STRtree(shapes)
    found = []
    for polygon in sorted(uncoded, key=lambda p: (-p[1].representative_point().y, p[1].representative_point().x)):
        hits = tree.query(polygon[1].representative_point(), predicate="within")
        if len(hits) == 0:
            raise InputError("geometry", "a unit grid lies outside every community")
        community = codes[hits[0]]
        n = 1
        while f"{community}{n:03d}" in taken:
            n += 1
        taken.add(f"{community}{n:03d}")
        found.append((f"{community}{n:03d}", polygon[1]))
    return found


def _replace(grids) -> None:
    """Delete grids; their cases are re-attached to the new grids by position (_assign_components_to_grids)."""
    Case.objects.filter(grid__in=grids).update(grid=None)
    grids.delete()


def _assign_components_to_grids() -> None:
    """Components (and cases left without a grid by a replacement) into the grid that holds them."""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE grid_component c SET grid_id = g.id FROM grid_unitgrid g "
            "WHERE ST_Intersects(g.geom, c.geom) AND c.grid_id IS DISTINCT FROM g.id"
        )
        cursor.execute(
            "UPDATE grid_case c SET grid_id = g.id FROM grid_unitgrid g "
            "WHERE c.grid_id IS NULL AND ST_Intersects(g.geom, c.geom)"
        )


# -- components --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ident:
    ident: str  # 17 digits, GB/T 47678.5-2026
    legacy: str  # 16 digits, CJ/T 214, when the input was one
    class_code: str  # 5 digits


SERIAL_DIGITS = 6


def compose_ident(county: str, class_code: str, serial: int) -> str:
    """The 17-digit identifier (GB/T 47678.5-2026): county 6 + class 5 + serial 6."""
    if not 0 < serial < 10**SERIAL_DIGITS:
        raise ValueError(f"serial {serial} does not fit {SERIAL_DIGITS} digits")
    return f"{county}{class_code}{serial:0{SERIAL_DIGITS}d}"


def component_ident(raw: str, legacy_classes: dict[str, str]) -> Ident:
    """A component identifier in either scheme → the 17-digit one (county 6 + class 5 + serial 6).

    A 16-digit CJ/T 214 identifier (county 6 + class 4 + serial 6) is mapped through ``legacy_classes``
    (4-digit → 5-digit class); a legacy class without a 2026 equivalent is refused, never guessed.
    """
    raw = (raw or "").strip()
    if re.fullmatch(r"\d{17}", raw):
        return Ident(raw, "", raw[6:11])
    if re.fullmatch(r"\d{16}", raw):
        legacy_class = raw[6:10]
        if legacy_class not in legacy_classes:
            raise ValueError(f"CJ/T 214 class {legacy_class} of {raw} has no GB/T 47678.5-2026 equivalent")
        new_class = legacy_classes[legacy_class]
        return Ident(f"{raw[:6]}{new_class}{raw[10:]}", raw, new_class)
    raise ValueError(f"{raw!r} is neither a 17-digit (GB/T 47678.5-2026) nor a 16-digit (CJ/T 214) identifier")


@transaction.atomic
def import_components(actor: User | None, file: File, layer: str | None = None, id_field: str = "ObjID",
                      name_field: str = "ObjName", owner_field: str = "DeptName1",
                      status_field: str = "ObjState") -> int:  # fmt: skip
    """Components from a point layer with the standard attribute names (ObjID, ObjName, DeptName1, ObjState)."""
    frame = _read(file, layer)
    classes = {c.code: c for c in ComponentClass.objects.all()}
    legacy = {c.legacy_code: c.code for c in classes.values() if c.legacy_code}
    owners = {o.name: o for o in Organisation.objects.all()}
    statuses = {"完好": "intact", "破损": "damaged", "丢失": "lost", "废弃": "abandoned", "移除": "removed"}
    rows = []
    for index, record in frame.iterrows():
        try:
            ident = component_ident(_text(record, id_field), legacy)
        except ValueError as exc:
            raise InputError(id_field, f"row {index}: {exc}") from None
        if ident.class_code not in classes:
            raise InputError(id_field, f"row {index}: unknown component class {ident.class_code}")
        geom = record.geometry
        if geom is None or geom.geom_type != "Point":
            raise InputError("geometry", f"row {index}: a component is a point")
        status = _text(record, status_field) or "完好"
        rows.append(
            Component(
                ident=ident.ident,
                legacy_ident=ident.legacy,
                component_class=classes[ident.class_code],
                name=(_text(record, name_field) or classes[ident.class_code].name)[:64],
                owner=owners.get(_text(record, owner_field)),
                status=statuses.get(status, status if status in Component.Status.values else "intact"),
                geom=_geos(geom),
                source="导入",
            )
        )
    Component.objects.bulk_create(rows, batch_size=5000)
    _assign_components_to_grids()
    record_audit(actor, "component.import", Component, f"{len(rows)} components from {file.name}")
    return len(rows)
