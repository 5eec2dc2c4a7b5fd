"""Read queries of 数字城管: who sees which cases, lists, history, categories, grids, components, indicators."""

import json
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from types import SimpleNamespace

from django.contrib.gis.geos import GEOSGeometry, Polygon
from django.db import connection, transaction
from django.db.models import Count, F, Q, QuerySet
from django.db.models.expressions import RawSQL

from core.errors import InputError
from core.geo import point_feature
from core.models import AuditEntry, Domain, Organisation, Role, User
from core.realtime import Viewer
from core.selectors import in_commanded_area
from patrol import selectors as patrol

from . import kpi, workflow
from .features import case_feature, photo_url
from .models import (
    Case,
    CasePhoto,
    Category,
    CategoryLimits,
    Component,
    ComponentClass,
    Kind,
    Responsibility,
    RoutingRule,
    UnitGrid,
)

CENTRE_ROLES = (Role.ADMIN, Role.LEADER, Role.CALL_TAKER, Role.GRID_DISPATCHER, Role.OPERATOR)
CASE_ROLES = (*CENTRE_ROLES, Role.INSPECTOR, Role.DEPARTMENT_HANDLER)
OPEN_STAGES = [s.value for s in workflow.State if s not in workflow.TERMINAL_STATES]
# What an inspector has to do in the field: confirm public reports and check handled cases.
INSPECTOR_TASK_STAGES = (workflow.State.CONFIRMING, workflow.State.HANDLED)
SNAPSHOT_LIMIT = 5000
DUPLICATE_LIMIT = 20
_METRES_PER_DEGREE = 111_320.0


def _with_related(qs: QuerySet) -> QuerySet:
    return qs.select_related("category", "grid", "component", "department", "reporter")


def visible_cases(user: User, viewer: Viewer | None = None) -> QuerySet:
    """Cases ``user`` may see: the centre all (within its organisations), a department its own, an inspector
    the cases of their grids and those they reported or were sent to confirm or check."""
    viewer = viewer or Viewer.for_user(user)
    roles = viewer.roles
    qs = Case.objects.all()
    if roles & set(CENTRE_ROLES):
        orgs = viewer.orgs_in(Domain.GRID)
        qs = qs.filter(in_commanded_area(viewer, Domain.GRID))
        return qs if orgs is None else qs.filter(department__in=orgs)
    scope = Q(pk__in=[])
    if Role.DEPARTMENT_HANDLER in roles:
        scope |= Q(department__in=viewer.org_ids or [])
    if Role.INSPECTOR in roles:
        scope |= (
            Q(grid__inspectors=viewer.user_id)
            | Q(reporter=viewer.user_id)
            | Q(checker=viewer.user_id)
            | Q(confirmer=viewer.user_id)
        )
    return qs.filter(scope).distinct() if Role.INSPECTOR in roles else qs.filter(scope)


def case_event_filter(viewer: Viewer):
    """visible_cases' rule as a test of a case event, for the live feed (None: the centre sees every case event of
    its organisations). Worked out once per subscription: an inspector's grids, a department's organisations."""
    roles = viewer.roles
    if roles & set(CENTRE_ROLES):
        return None
    departments = set(viewer.org_ids or ()) if Role.DEPARTMENT_HANDLER in roles else set()
    inspector = Role.INSPECTOR in roles
    grids = (
        set(UnitGrid.objects.filter(inspectors=viewer.user_id).values_list("code", flat=True)) if inspector else set()
    )

    def visible(data: dict) -> bool:
        props = data["properties"]
        if (props.get("department") or {}).get("id") in departments:
            return True
        people = {(props.get("reporter") or {}).get("id"), props.get("checker_id"), props.get("confirmer_id")}
        return inspector and (props.get("grid_code") in grids or viewer.user_id in people)

    return visible


def parse_bbox(value: str | None):
    if not value:
        return None
    try:
        bbox = [float(v) for v in value.split(",")]
    except ValueError:
        bbox = []
    if len(bbox) != 4 or not (bbox[0] <= bbox[2] and bbox[1] <= bbox[3]):
        raise InputError("bbox", "bbox must be minLon,minLat,maxLon,maxLat")
    return bbox


def _bbox_polygon(bbox) -> Polygon:
    poly = Polygon.from_bbox(bbox)
    poly.srid = 4326
    return poly


def case_list(user: User, *, stage=None, mine=False, bbox=None, limit=1000) -> list[dict]:
    qs = visible_cases(user)
    if stage:
        stages = [s for s in stage.split(",") if s]
        unknown = [s for s in stages if s not in workflow.State._value2member_map_ and s != "open"]
        if unknown:
            raise InputError("stage", f"unknown stage {unknown[0]!r}; use one of {', '.join(workflow.State)} or open")
        if "open" in stages:
            stages = [*stages, *OPEN_STAGES]
        qs = qs.filter(stage__in=stages)
    if mine:
        qs = qs.filter(Q(reporter=user) | Q(checker=user) | Q(confirmer=user) | Q(department=user.organisation_id))
    if bbox:
        qs = qs.filter(geom__intersects=_bbox_polygon(bbox))
    cases = list(_with_related(qs).order_by("-reported_at")[:limit])
    return features(cases)


def features(cases: list[Case]) -> list[dict]:
    photos: dict[int, list[int]] = {}
    for case_id, pk in CasePhoto.objects.filter(case__in=cases).order_by("pk").values_list("case_id", "pk"):
        photos.setdefault(case_id, []).append(pk)
    return [case_feature(case, photo_ids=photos.get(case.pk, [])) for case in cases]


def possible_duplicates(category: Category, point: GEOSGeometry, at: datetime, within: QuerySet | None = None):
    """Open cases of ``category`` reported within its duplicate window before ``at`` and its duplicate radius of
    ``point``, nearest first (each with ``distance_m``): one query on the GiST index of the case position — the
    degree box of ST_DWithin (wide enough at this latitude) picks the rows, the geography distance decides."""
    radius = category.duplicate_radius_m
    degrees = radius / (_METRES_PER_DEGREE * max(math.cos(math.radians(point.y)), 0.01))
    qs = Case.objects.all() if within is None else within
    return list(
        _with_related(qs)
        .filter(
            category=category,
            stage__in=OPEN_STAGES,
            reported_at__gte=at - timedelta(hours=category.duplicate_window_hours),
            reported_at__lte=at,
            geom__dwithin=(point, degrees),
        )
        .annotate(distance_m=RawSQL("ST_Distance(grid_case.geom::geography, %s::geography)", [point.ewkt]))
        .filter(distance_m__lte=radius)
        .order_by("distance_m", "-reported_at")[:DUPLICATE_LIMIT]
    )


def duplicate_features(cases: list[Case]) -> list[dict]:
    out = features(cases)
    for feature, case in zip(out, cases, strict=True):
        feature["properties"]["distance_m"] = round(case.distance_m, 1)
    return out


def callbacks(case: Case) -> list[dict]:
    return [
        {"at": c.at.isoformat(), "result": c.result, "result_label": c.get_result_display(),
         "satisfaction": c.satisfaction or None, "satisfaction_label": c.get_satisfaction_display() or None,
         "note": c.note, "by": c.by_name or None}
        for c in case.callbacks.all()
    ]  # fmt: skip


def case_for(user: User, pk: int) -> Case | None:
    return _with_related(visible_cases(user)).filter(pk=pk).first()


# Steps that move no stage (not workflow actions): the report, and the links the emergency side records (平战结合).
STEP_LABELS = {
    "report": "上报", "escalated": "升级为警情", "incident_follow_up": "警情后续案件",
    "merged_into": "重复，合并到他案", "merged": "合并重复案件", "callback": "回访",
}  # fmt: skip


def history(case: Case) -> list[dict]:
    photos: dict[int, list[str]] = {}
    for transition_id, pk in case.photos.order_by("pk").values_list("transition_id", "pk"):
        photos.setdefault(transition_id, []).append(photo_url(pk))
    out = []
    for step in case.transitions.select_related("actor", "department").order_by("at", "pk"):
        label = workflow.ACTION_LABELS.get(step.action) or STEP_LABELS.get(step.action, "上报")
        out.append(
            {
                "at": step.at.isoformat(),
                "action": step.action,
                "action_label": label,
                "from_stage": step.from_stage,
                "to_stage": step.to_stage,
                "actor": step.actor_name or None,
                "roles": step.roles,
                "note": step.note,
                "photos": photos.get(step.pk, []),
                "position": {"type": "Point", "coordinates": [step.position.x, step.position.y]}
                if step.position
                else None,
                "department": {"id": step.department_id, "name": step.department.name} if step.department else None,
                "data": step.data,
            }
        )
    return out


def workflow_roles(user: User | None) -> frozenset[str]:
    """The user's roles that the workflow knows (none for an anonymous client, an Open311 one)."""
    if user is None or not user.is_authenticated:
        return frozenset()
    return frozenset(user.role_names) & {str(r) for r in workflow.ROLES}


def allowed_actions(user: User, case: Case) -> list[str]:
    return [str(a) for a in workflow.allowed_actions(case.stage, workflow_roles(user))]


def my_tasks(user: User) -> list[dict]:
    """An inspector's field tasks: public reports to confirm and handled cases to check, in their grids or theirs."""
    qs = Case.objects.filter(stage__in=INSPECTOR_TASK_STAGES).filter(
        Q(checker=user, stage=workflow.State.HANDLED)
        | Q(confirmer=user, stage=workflow.State.CONFIRMING)
        | Q(grid__inspectors=user)
    )
    return features(list(_with_related(qs.distinct()).order_by("deadline_at")[:500]))


# -- reference data ----------------------------------------------------------------------------------------


def categories(q: str | None = None, scheme: str | None = None, kind: str | None = None) -> list[dict]:
    qs = Category.objects.filter(active=True)
    if scheme:
        qs = qs.filter(scheme=scheme)
    if kind:
        if kind not in Kind.values:
            raise InputError("kind", f"kind must be one of {', '.join(Kind.values)}")
        qs = qs.filter(kind=kind)
    if q:
        q = q.strip()
        qs = qs.filter(
            Q(code__icontains=q)
            | Q(standard_code__startswith=q)
            | Q(name__icontains=q)
            | Q(major_name__icontains=q)
            | Q(name_en__icontains=q)
        )
    return [category_json(c) for c in qs.order_by("scheme", "code")]


def category_json(c: Category) -> dict:
    return {
        "code": c.code,
        "standard_code": c.standard_code,
        "scheme": c.scheme,
        "kind": c.kind,
        "major": {"code": c.major_code, "name": c.major_name},
        "minor": {"code": c.standard_code, "name": c.name},
        "label": c.name,
        "label_en": c.name_en,
        "equivalent_code": c.equivalent_code or None,
        "department_type": c.department_type,
        "limits": {
            "confirmation": {"amount": c.confirmation_hours, "unit": "working_hours"},
            "dispatch": {"amount": c.dispatch_hours, "unit": "working_hours"},
            "handling": {"amount": c.handling_limit, "unit": c.handling_unit},
            "verification": {"amount": c.verification_hours, "unit": "working_hours"},
            "source": c.limit_source,
        },
    }


def grids_geojson(bbox=None, qs: QuerySet | None = None, limit: int = 20000) -> dict:
    qs = UnitGrid.objects.all() if qs is None else qs
    if bbox:
        qs = qs.filter(geom__intersects=_bbox_polygon(bbox))
    rows = qs.order_by("code").values_list(
        "pk", "code", "area_m2", "community__name", "street__name", "district__name", "geom"
    )[:limit]
    feats = []
    for pk, code, area, community, street, district, geom in rows:
        feats.append(
            {
                "type": "Feature",
                "id": pk,
                "geometry": json.loads(geom.geojson),
                "properties": {
                    "code": code,
                    "area_m2": round(area, 1),
                    "community": community,
                    "street": street,
                    "district": district,
                },
            }
        )
    return {"type": "FeatureCollection", "features": feats}


def departments() -> list[dict]:
    types: dict[int, list[str]] = {}
    for org_id, dtype in Responsibility.objects.values_list("organisation_id", "department_type"):
        types.setdefault(org_id, []).append(dtype)
    orgs = Organisation.objects.filter(
        Q(kind__in=[Organisation.Kind.DEPARTMENT, Organisation.Kind.UTILITY, Organisation.Kind.AGENCY])
        | Q(pk__in=list(types))
    ).order_by("code")
    return [
        {"id": o.pk, "code": o.code, "name": o.name, "kind": o.kind, "department_types": sorted(types.get(o.pk, []))}
        for o in orgs
    ]


@lru_cache(maxsize=4096)
def _version_limits(version_id: int, category_id: int) -> CategoryLimits | None:
    # a published version never changes, so its rows are cached for good
    return CategoryLimits.objects.filter(version_id=version_id, category_id=category_id).first()


def case_limits(case: Case) -> Category | CategoryLimits:
    """The category row a case runs on (limits, department type, call-back): its configuration version's, else
    (filed before any version, or a category added since) the category's own."""
    if case.config_version_id is None:
        return case.category
    return _version_limits(case.config_version_id, case.category_id) or case.category


def responsible_department(case: Case) -> Organisation | None:
    """The organisation that fixes this category here: the district's mapping first, then the city-wide one.
    A case filed under a configuration version is routed by that version's rules and department type
    (grid/config.py)."""
    department_type = case_limits(case).department_type
    if case.config_version_id is not None:
        return _routed(case, department_type)
    return responsible_organisation(department_type, case.district_id)


def _routed(case: Case, department_type: str) -> Organisation | None:
    """The most specific rule of the case's version: its category before its department type, district first."""
    found = (
        RoutingRule.objects.filter(version=case.config_version_id)
        .filter(Q(category=case.category_id) | Q(category__isnull=True, department_type=department_type))
        .filter(Q(district=case.district_id) | Q(district__isnull=True))
        .order_by(F("category").asc(nulls_last=True), F("district").asc(nulls_last=True))
        .select_related("organisation")
        .first()
    )
    return found.organisation if found else None


def responsible_organisation(department_type: str, district_id: int | None) -> Organisation | None:
    """The organisation of a department type in a district: the district's mapping first, then the city-wide one."""
    found = (
        Responsibility.objects.filter(department_type=department_type)
        .filter(Q(district=district_id) | Q(district__isnull=True))
        .order_by("district")  # NULLs last: a district mapping wins
        .select_related("organisation")
        .first()
    )
    return found.organisation if found else None


def nearest_component(point: GEOSGeometry, class_code: str | None = None, limit: int = 1) -> list[dict]:
    """The nearest components (of one GB/T 47678 class, if given) to ``point``, with the distance in metres."""
    params = {"lon": point.x, "lat": point.y, "limit": limit}
    where = "WHERE k.status <> 'removed'"  # it no longer stands there (grid/survey.py)
    if class_code:
        cls = _component_class_id(class_code)
        where, params["cls"] = f"{where} AND k.component_class_id = %(cls)s", cls
    sql = f"""
        WITH p AS (SELECT ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326) AS geom)
        SELECT k.id FROM grid_component k {where}
        ORDER BY k.geom <-> (SELECT geom FROM p) LIMIT %(limit)s
    """  # noqa: S608 - fixed text; values are parameters
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        ids = [row[0] for row in cursor.fetchall()]
    found = {c.pk: c for c in Component.objects.filter(pk__in=ids).select_related("component_class", "owner", "grid")}
    out = []
    for pk in ids:
        c = found[pk]
        out.append(component_feature(c, distance_m=_metres(point, c.geom)))
    return out


def _component_class_id(code: str) -> int:
    code = code.strip().upper().removeprefix("C")
    found = ComponentClass.objects.filter(Q(code=code) | Q(legacy_code=code)).values_list("pk", flat=True).first()
    if found is None:
        raise InputError("class", f"unknown component class {code!r} (5-digit GB/T 47678 or 4-digit CJ/T 214 code)")
    return found


def _metres(a: GEOSGeometry, b: GEOSGeometry) -> float:
    with connection.cursor() as cursor:
        cursor.execute("SELECT ST_Distance(%s::geography, %s::geography)", [a.ewkt, b.ewkt])
        return round(cursor.fetchone()[0], 1)


def component_feature(c: Component, distance_m: float | None = None) -> dict:
    props = {
        "ident": c.ident,
        "legacy_ident": c.legacy_ident or None,
        "class_code": c.component_class.code,
        "class_name": c.component_class.name,
        "name": c.name,
        "owner": {"id": c.owner_id, "name": c.owner.name} if c.owner_id else None,
        "status": c.status,
        "grid_code": c.grid.code if c.grid_id else None,
    }
    if distance_m is not None:
        props["distance_m"] = distance_m
    return point_feature(c.pk, c.geom, props)


# -- component survey (部件普查): the screen's reads; the history is the audit log (grid/survey.py) --------

COMPONENT_LIST_LIMIT = 5000


def components_geojson(bbox, class_codes: list[str] | None = None, limit: int = COMPONENT_LIST_LIMIT) -> dict:
    """Components in ``bbox`` (required: a city has hundreds of thousands), of the given 5-digit classes;
    ``truncated`` says the box held more than ``limit``."""
    if not bbox:
        raise InputError("bbox", "bbox is required (minLon,minLat,maxLon,maxLat)")
    qs = Component.objects.filter(geom__intersects=_bbox_polygon(bbox))
    if class_codes:
        known = set(ComponentClass.objects.filter(code__in=class_codes).values_list("code", flat=True))
        unknown = sorted(set(class_codes) - known)
        if unknown:
            raise InputError("class", f"unknown component class {unknown[0]!r}")
        qs = qs.filter(component_class__code__in=class_codes)
    found = list(qs.select_related("component_class", "owner", "grid").order_by("ident")[: limit + 1])
    return {
        "type": "FeatureCollection",
        "features": [component_feature(c) for c in found[:limit]],
        "truncated": len(found) > limit,
    }


def component_classes() -> list[dict]:
    """Every component class with how many components it has (the survey screen's filter and add form)."""
    counts = dict(Component.objects.values_list("component_class").annotate(n=Count("pk")).order_by())
    return [
        {
            "code": c.code,
            "name": c.name,
            "major": {"code": c.major_code, "name": c.major_name},
            "count": counts.get(c.pk, 0),
        }
        for c in ComponentClass.objects.order_by("code")
    ]


def component_detail(c: Component) -> dict:
    """A component with every surveyed attribute and its history."""
    feature = component_feature(c)
    feature["properties"].update(
        maintainer=c.maintainer,
        note=c.note,
        source=c.source,
        surveyed_on=c.surveyed_on,
        changed_on=c.changed_on,
        history=component_history(c),
    )
    return feature


def component_history(c: Component) -> list[dict]:
    """Every audited change of the component, oldest first: who, when, what (before/after per field)."""
    entries = (
        AuditEntry.objects.filter(target_type=Component._meta.label_lower, target_id=str(c.pk))
        .select_related("actor")
        .order_by("at", "pk")
    )
    return [
        {
            "at": e.at,
            "action": e.action,
            "actor": {"id": e.actor_id, "name": e.actor.display_name} if e.actor_id else None,
            "changes": e.changes,
        }
        for e in entries
    ]


def snapshot(viewer: Viewer, bbox) -> list[dict]:
    """The ``cases`` snapshot for a new console: open cases this viewer may see."""
    user = User.objects.get(pk=viewer.user_id)
    qs = visible_cases(user, viewer).filter(stage__in=OPEN_STAGES)
    if bbox:
        qs = qs.filter(geom__intersects=_bbox_polygon(bbox))
    return features(list(_with_related(qs).order_by("-reported_at")[:SNAPSHOT_LIMIT]))


# -- evaluation (综合评价) -----------------------------------------------------------------------------------
# The counters of grid/kpi.py as SQL over the cases' stage columns (one scan, FILTER per counter); the rates
# and composite scores are then kpi.py's own properties, so each formula exists once. Keep the predicates in
# step with kpi.indicators() / kpi.evaluate_inspectors(); tests compare both on the same histories.

KPI_GROUPS = {"district": "district_id", "street": "street_id", "department": "department_id", "inspector": None}
_DONE = "coalesce({0} <= %(as_of)s, false)"


def _on_time(at: str, deadline: str) -> str:
    return f"({_DONE.format(at)} AND ({deadline} IS NULL OR {at} <= {deadline}))"


# Per-case flags in SQL, packed into one integer per row; the rows are grouped by (group, flags), which leaves a
# few hundred combinations however many cases there are, and the counters are worked out from those in Python.
# Far cheaper than 21 FILTER clauses evaluated on every row.
_CASE_FLAGS = {
    "reported_in": "(reported_at >= %(start)s AND reported_at < %(end)s)",
    "filed_in": "coalesce(filed_at >= %(start)s AND filed_at < %(end)s, false)",
    "filed": _DONE.format("filed_at"),
    "voided": _DONE.format("voided_at"),
    "dispatched": _DONE.format("dispatched_at"),
    "dispatch_due": _DONE.format("dispatch_deadline"),
    "dispatched_on_time": _on_time("dispatched_at", "dispatch_deadline"),
    "handled": _DONE.format("handled_at"),
    "handled_on_time": _on_time("handled_at", "handling_deadline"),
    "closed": _DONE.format("closed_at"),
    "due": _DONE.format("handling_deadline"),
    "overdue": "coalesce(handling_deadline < %(as_of)s, false)",
    "checked_on_time": _on_time("checked_at", "verification_deadline"),
    "returned": "returned_count > 0",
    "postponed": "postponed_count > 0",
    "reworked": "rework_count > 0",
}
_MASK = " + ".join(f"(({sql})::int << {bit})" for bit, sql in enumerate(_CASE_FLAGS.values()))


def _to_dispatch(f):
    return f.filed_in and (f.dispatched or (not f.voided and f.dispatch_due))


def _to_handle(f):
    return f.filed_in and f.dispatched and (f.handled or f.due)


def _to_close(f):
    return f.filed_in and f.dispatched and (f.closed or f.due)


# kpi.Indicators' counters over one case's flags; keep in step with kpi.indicators() (tests compare both).
KPI_COUNTERS = {
    "上报数": lambda f: f.reported_in,
    "有效上报数": lambda f: f.reported_in and f.filed,
    "立案数": lambda f: f.filed_in,
    "作废数": lambda f: f.filed_in and f.voided,
    "应派遣数": _to_dispatch,
    "按时派遣数": lambda f: _to_dispatch(f) and f.dispatched_on_time,
    "准确派遣数": lambda f: _to_dispatch(f) and f.dispatched and not f.returned,
    "应处置数": _to_handle,
    "处置数": lambda f: _to_handle(f) and f.handled,
    "按期处置数": lambda f: _to_handle(f) and f.handled_on_time,
    "超期处置数": lambda f: _to_handle(f) and f.handled and not f.handled_on_time,
    "超期未处置数": lambda f: _to_handle(f) and not f.handled and f.overdue,
    "延期数": lambda f: _to_handle(f) and f.postponed,
    "应结案数": _to_close,
    "结案数": lambda f: _to_close(f) and f.closed,
    "按期结案数": lambda f: _to_close(f) and f.closed and f.handled_on_time,
    "超期结案数": lambda f: _to_close(f) and f.closed and not f.handled_on_time,
    "返工数": lambda f: _to_close(f) and f.reworked,
    "应核查数": lambda f: f.filed_in and f.dispatched and f.handled,
    "按时核查数": lambda f: f.filed_in and f.dispatched and f.handled and f.checked_on_time,
}
REWORKS = "返工次数"  # a sum of rework_count over the cases of 应结案数, not a count


@dataclass(frozen=True)
class KpiScope:
    """The cases a viewer's indicators count: visible_cases' rule by department and area (None: no limit)."""

    departments: list[int] | None = None
    area_id: int | None = None

    @classmethod
    def of(cls, viewer: Viewer) -> "KpiScope":
        """A centre: its organisations' cases, or every case in its area when it commands cases; a department: its
        own."""
        if viewer.roles & set(CENTRE_ROLES):
            orgs = viewer.orgs_in(Domain.GRID)
            return cls(None if orgs is None else sorted(orgs), viewer.area_in(Domain.GRID))
        return cls(sorted(viewer.org_ids or ()))

    @property
    def limited(self) -> bool:
        return self.departments is not None or self.area_id is not None


def case_indicator_counts(start, end, as_of, group_column: str | None, scope: KpiScope = KpiScope()):
    """{group id: {counter: n}} for cases reported or filed in ``[start, end)``; one scan of grid_case."""
    key = group_column or "NULL::bigint"
    where = f"({_CASE_FLAGS['reported_in']} OR {_CASE_FLAGS['filed_in']})"
    params = {"start": start, "end": end, "as_of": as_of}
    if scope.departments is not None:
        where += " AND department_id = ANY(%(departments)s)"
        params["departments"] = scope.departments
    if scope.area_id is not None:
        where += " AND ST_Intersects(geom, (SELECT geom FROM core_adminarea WHERE id = %(area)s))"
        params["area"] = scope.area_id
    # the SQL text is built from the fixed fragments above only; every value is a parameter
    sql = (
        f"SELECT {key}, {_MASK}, count(*), sum(rework_count), count(*) FILTER (WHERE satisfaction <> ''), "  # noqa: S608
        f"count(*) FILTER (WHERE satisfaction = ANY(%(satisfied)s)) FROM grid_case WHERE {where} GROUP BY 1, 2"
    )
    params["satisfied"] = sorted(kpi.SATISFIED)
    with transaction.atomic(), connection.cursor() as cursor:
        # the planner expects as many groups as rows and would sort 1M rows; there are a few hundred: hash them
        cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    names = list(_CASE_FLAGS)
    counts: dict = {}
    for group, mask, n, reworks, rated, satisfied in rows:
        flags = SimpleNamespace(**{name: bool(mask >> bit & 1) for bit, name in enumerate(names)})
        mine = counts.setdefault(group, dict.fromkeys([*KPI_COUNTERS, REWORKS, "回访数", "满意数"], 0))
        if flags.reported_in:
            mine["回访数"] += rated
            mine["满意数"] += satisfied
        for counter, applies in KPI_COUNTERS.items():
            if applies(flags):
                mine[counter] += n
        if _to_close(flags):
            mine[REWORKS] += reworks
    return counts


_INSPECTOR_SQL = """
WITH r AS (
  SELECT reporter_id AS u, count(*) AS reports, count(*) FILTER (WHERE coalesce(filed_at <= %(as_of)s, false)) AS valid
  FROM grid_case WHERE channel = 'inspector' AND reporter_id IS NOT NULL
    AND reported_at >= %(start)s AND reported_at < %(end)s GROUP BY 1),
c AS (
  SELECT confirmer_id AS u, count(*) AS due, count(*) FILTER (WHERE ON_TIME_CONFIRM) AS on_time
  FROM grid_case WHERE confirmer_id IS NOT NULL
    AND confirmation_sent_at >= %(start)s AND confirmation_sent_at < %(end)s GROUP BY 1),
k AS (
  SELECT checker_id AS u, count(*) AS due, count(*) FILTER (WHERE ON_TIME_CHECK) AS on_time
  FROM grid_case WHERE checker_id IS NOT NULL AND handled_at >= %(start)s AND handled_at < %(end)s
    AND handled_at <= %(as_of)s GROUP BY 1),
g AS (
  SELECT gi.user_id AS u, count(*) AS filed, count(*) FILTER (WHERE c.channel <> 'inspector') AS missed
  FROM grid_case c JOIN grid_unitgrid_inspectors gi ON gi.unitgrid_id = c.grid_id
  WHERE c.filed_at >= %(start)s AND c.filed_at < %(end)s AND c.filed_at <= %(as_of)s GROUP BY 1)
SELECT u.id, coalesce(r.reports, 0), coalesce(r.valid, 0), coalesce(g.missed, 0), coalesce(g.filed, 0),
       coalesce(c.due, 0), coalesce(c.on_time, 0), coalesce(k.due, 0), coalesce(k.on_time, 0)
FROM core_user u
LEFT JOIN r ON r.u = u.id LEFT JOIN c ON c.u = u.id LEFT JOIN k ON k.u = u.id LEFT JOIN g ON g.u = u.id
WHERE r.u IS NOT NULL OR c.u IS NOT NULL OR k.u IS NOT NULL OR g.u IS NOT NULL
""".replace("ON_TIME_CONFIRM", _on_time("confirmed_at", "confirmation_deadline")).replace(
    "ON_TIME_CHECK", _on_time("checked_at", "verification_deadline")
)
_INSPECTOR_COUNTERS = ("上报数", "有效上报数", "漏报数", "立案数", "应核实数", "按时核实数", "应核查数", "按时核查数")


def inspector_indicator_counts(start, end, as_of) -> dict[int, dict[str, int]]:
    """Post evaluation of inspectors. 漏报数 counts hotline and citizen reports filed in the inspector's grids
    (problems the patrol did not report first); 立案数 all cases filed there."""
    with connection.cursor() as cursor:
        cursor.execute(_INSPECTOR_SQL, {"start": start, "end": end, "as_of": as_of})
        return {row[0]: dict(zip(_INSPECTOR_COUNTERS, row[1:], strict=True)) for row in cursor.fetchall()}


# English keys of the API → the kpi.py attribute (Chinese name of the standard indicator).
KPI_FIELDS = {
    "reports": "上报数", "valid_reports": "有效上报数", "valid_report_rate": "有效上报率",
    "filed": "立案数", "voided": "作废数", "accurate_filing_rate": "准确立案率",
    "dispatch_due": "应派遣数", "dispatched_on_time": "按时派遣数", "on_time_dispatch_rate": "按时派遣率",
    "accurate_dispatch_rate": "准确派遣率",
    "handling_due": "应处置数", "handled": "处置数", "handled_on_time": "按期处置数", "handling_rate": "处置率",
    "on_time_handling_rate": "按期处置率", "handled_late": "超期处置数", "overdue_unhandled": "超期未处置数",
    "overdue": "超期数", "overdue_unhandled_rate": "超期待处置率",
    "closure_due": "应结案数", "closed": "结案数", "closed_on_time": "按期结案数", "closure_rate": "结案率",
    "on_time_closure_rate": "按期结案率", "late_closure_rate": "超期结案率",
    "reworked": "返工数", "reworks": "返工次数", "rework_rate": "返工率",
    "postponed": "延期数", "postponement_rate": "延期率",
    "check_due": "应核查数", "checked_on_time": "按时核查数", "on_time_check_rate": "按时核查率",
    "callbacks_rated": "回访数", "satisfied": "满意数", "satisfaction_rate": "满意率",
    "composite_score": "综合指标值",
}  # fmt: skip
INSPECTOR_KPI_FIELDS = {
    "reports": "上报数", "valid_reports": "有效上报数", "valid_report_rate": "有效上报率",
    "missed": "漏报数", "filed_in_grids": "立案数", "missed_rate": "漏报率",
    "confirmation_due": "应核实数", "confirmed_on_time": "按时核实数", "on_time_confirmation_rate": "按时核实率",
    "check_due": "应核查数", "checked_on_time": "按时核查数", "on_time_check_rate": "按时核查率",
    "composite_score": "综合指标值",
}  # fmt: skip


def _values(indicators, fields: dict[str, str]) -> dict:
    out = {}
    for key, attr in fields.items():
        value = getattr(indicators, attr)
        out[key] = round(value, 4) if isinstance(value, float) else value
    return out


def _group_names(group_by: str, ids) -> dict:
    ids = [i for i in ids if i is not None]
    if group_by in ("district", "street"):
        from core.models import AdminArea

        return {a.pk: (a.code, a.name) for a in AdminArea.objects.filter(pk__in=ids)}
    if group_by == "department":
        return {o.pk: (o.code, o.name) for o in Organisation.objects.filter(pk__in=ids)}
    return {u.pk: (u.username, u.display_name) for u in User.objects.filter(pk__in=ids)}


def kpi_report(start, end, group_by: str, as_of, scope: KpiScope = KpiScope()) -> dict:
    """The indicators per group (and in total) for ``[start, end)`` as of ``as_of``, with grades."""
    if group_by == "inspector":
        counts = inspector_indicator_counts(start, end, as_of)
        make, fields = kpi.InspectorIndicators, INSPECTOR_KPI_FIELDS
    else:
        counts = case_indicator_counts(start, end, as_of, KPI_GROUPS[group_by], scope)
        make, fields = kpi.Indicators, KPI_FIELDS
    names = _group_names(group_by, counts)
    rows, total = [], {}
    for key, values in counts.items():
        for name, n in values.items():
            total[name] = total.get(name, 0) + n
        indicators = make(**values)
        code, name = names.get(key, (None, None))
        rows.append(
            {"id": key, "code": code, "name": name, "values": _values(indicators, fields),
             "grade": kpi.grade(indicators.综合指标值)}
        )  # fmt: skip
    rows.sort(key=lambda r: (r["code"] is None, r["code"] or ""))
    overall = make(**total)
    labels = fields
    if group_by == "inspector":  # patrol effort beside the post evaluation (not part of its composite score)
        effort = patrol.patrol_effort(start, min(end, as_of))
        for row in rows:
            row["values"].update(patrol.effort_values(effort.get(row["id"])))
        labels = {**fields, **patrol.EFFORT_LABELS}
    return {
        "from": start.isoformat(),
        "to": end.isoformat(),
        "as_of": as_of.isoformat(),
        "group_by": group_by,
        "labels": labels,
        "rows": rows,
        "total": {"values": _values(overall, fields), "grade": kpi.grade(overall.综合指标值)},
    }
