"""数字城管 REST API (mounted at /api/grid/): cases and their actions, categories, grids, components, KPIs.

Thin: parse and check the request, call ``services`` / ``selectors``, answer JSON. Bad input is a 400
``{"error": "invalid_input", "field", "detail"}``; a refused transition is 409 (not possible in this stage) or
403 (role / organisation), naming the stage, the action and the roles.
"""

import json
import re
from datetime import datetime, time

from django.conf import settings
from django.db import transaction
from django.http import FileResponse, Http404
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api_schema import LIST_OF_OBJECTS
from core.errors import Forbidden, InputError
from core.geo import parse_crs, parse_geojson_point, parse_point
from core.models import Organisation, Role
from core.permissions import roles_required
from core.realtime import Viewer

from . import selectors, services, survey
from .features import case_feature
from .models import CasePhoto, Component
from .photos import Photo, check_photo
from .workflow import Action

CASE_ACCESS = roles_required(
    Role.INSPECTOR, Role.CALL_TAKER, Role.GRID_DISPATCHER, Role.DEPARTMENT_HANDLER, Role.LEADER, Role.ADMIN,
    read_roles=selectors.CASE_ROLES,
)  # fmt: skip
KPI_ACCESS = roles_required(Role.ADMIN, read_roles=(Role.LEADER, Role.ADMIN, Role.GRID_DISPATCHER, Role.CALL_TAKER,
                                                    Role.OPERATOR, Role.DEPARTMENT_HANDLER))  # fmt: skip
INSPECTORS = roles_required(Role.INSPECTOR, read_roles=(Role.INSPECTOR,))


def _text(data, name: str, max_length: int | None = None) -> str:
    value = data.get(name, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InputError(name, "must be text")
    if max_length is not None and len(value) > max_length:
        raise InputError(name, f"at most {max_length} characters")
    return value


def _position(data, required: bool):
    """``location`` (GeoJSON Point, or its JSON text in a form) or ``lon``/``lat``, in ``crs``."""
    crs = parse_crs(_text(data, "crs") or None)
    if data.get("location") not in (None, ""):
        return parse_geojson_point(data["location"], crs)
    if data.get("lon") not in (None, "") or data.get("lat") not in (None, ""):
        return parse_point(data.get("lon"), data.get("lat"), crs)
    if required:
        raise InputError("location", "a position is required: 'location' (GeoJSON Point) or 'lon' and 'lat'")
    return None


def _photos(request) -> list[Photo]:
    files = [*request.FILES.getlist("photo"), *request.FILES.getlist("photos")]
    if len(files) > settings.CITYOPS_GRID_PHOTOS_PER_REQUEST:
        raise InputError("photo", f"at most {settings.CITYOPS_GRID_PHOTOS_PER_REQUEST} photos per request")
    return [check_photo(f, "photo") for f in files]


def _feature(case) -> dict:
    return selectors.features([case])[0]


class CaseListView(APIView):
    """GET: cases as a FeatureCollection (``stage`` comma list or ``open``, ``mine=1``, ``bbox``).
    POST: report a case (JSON or multipart with ``photo``; a hotline caller as ``reporter_contact`` ``{"name", "phone",
    "callback"}``), idempotent by the ``Idempotency-Key`` header."""

    permission_classes = [CASE_ACCESS]

    @extend_schema(
        parameters=[
            OpenApiParameter("stage", str, description="comma-separated stages, or 'open'"),
            OpenApiParameter("mine", bool),
            OpenApiParameter("bbox", str, description="minLon,minLat,maxLon,maxLat"),
        ],
        responses=OpenApiTypes.OBJECT,
        operation_id="api_grid_cases_list",
    )
    def get(self, request):
        params = request.query_params
        feats = selectors.case_list(
            request.user,
            stage=params.get("stage"),
            mine=params.get("mine") in ("1", "true"),
            bbox=selectors.parse_bbox(params.get("bbox")),
        )
        return Response({"type": "FeatureCollection", "features": feats})

    @extend_schema(
        parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER)],
        request=OpenApiTypes.OBJECT,
        responses={201: OpenApiTypes.OBJECT, 200: OpenApiTypes.OBJECT},
    )
    def post(self, request):
        data = request.data
        key = request.headers.get("Idempotency-Key", "").strip() or None
        if key is not None and len(key) > 100:
            raise InputError("Idempotency-Key", "at most 100 characters")
        report = _report(data, photos=_photos(request))
        case, created = services.report_case(request.user, report, idempotency_key=key)
        feature = case_feature(case)
        # the same problem reported before: the centre may merge the new report into one of them at once
        others = selectors.possible_duplicates(
            case.category, case.geom, case.reported_at, within=selectors.visible_cases(request.user).exclude(pk=case.pk)
        )
        feature["properties"]["possible_duplicates"] = selectors.duplicate_features(others)
        return Response(feature, status=201 if created else 200)


class DuplicateCheckView(APIView):
    """GET ``category_code`` and ``location``/``lon``+``lat`` (``crs``): the open cases this report probably
    repeats (same category, within the category's radius and time window), nearest first, before filing."""

    permission_classes = [CASE_ACCESS]

    @extend_schema(
        parameters=[
            OpenApiParameter("category_code", str, required=True),
            OpenApiParameter("lon", float, required=True),
            OpenApiParameter("lat", float, required=True),
            OpenApiParameter("crs", str),
        ],
        responses=OpenApiTypes.OBJECT,
        operation_id="api_grid_cases_duplicates",
    )
    def get(self, request):
        params = request.query_params
        category = services.category_by_code(params.get("category_code"))
        point = _position(params, required=True)
        found = selectors.possible_duplicates(
            category, point, timezone.now(), within=selectors.visible_cases(request.user)
        )
        return Response({"type": "FeatureCollection", "features": selectors.duplicate_features(found)})


class CaseMergeView(APIView):
    """POST /cases/{id}/merge/ ``{"into": <case id>, "note"}``: this case is a duplicate of ``into``; ``into``
    stays with all reports and photos, this one is voided as merged, every reporter is told. 409 when the two
    are the same case, of different categories, or one is no longer open."""

    permission_classes = [CASE_ACCESS]

    @extend_schema(request=OpenApiTypes.OBJECT, responses=OpenApiTypes.OBJECT)
    def post(self, request, pk):
        data = _fields(request.data)
        duplicate = selectors.case_for(request.user, pk)
        try:
            into_id = int(data.get("into"))
        except (TypeError, ValueError):
            raise InputError("into", "the id of the case to merge into is required") from None
        into = selectors.case_for(request.user, into_id)
        if duplicate is None or into is None:
            raise Http404
        kept = services.merge_case(request.user, duplicate, into, note=_text(data, "note", 2000))
        return Response(_feature(kept))


class CaseBatchView(APIView):
    """POST ``{"reports": [{"idempotency_key", "category_code", "location" | "lon"+"lat", "crs", "description",
    "address", "channel"}, …]}``: up to ``BATCH_LIMIT`` reports at once (a 12345 hotline system's or an offline
    queue's backlog), each idempotent by its own key, so a batch resent after a lost answer files nothing twice.

    Answers 200 with ``results`` in the order sent: ``{"status": 201|200, "id", "number", "stage"}`` for a filed
    (or already filed) report, ``{"status": 400|409, "error", "field", "detail"}`` for one refused. A bad report
    changes nothing and does not stop the others. Photos go with single reports (``POST /api/grid/cases/``)."""

    permission_classes = [CASE_ACCESS]

    @extend_schema(request=OpenApiTypes.OBJECT, responses=OpenApiTypes.OBJECT, operation_id="api_grid_cases_batch")
    def post(self, request):
        items = request.data.get("reports") if isinstance(request.data, dict) else None
        if not isinstance(items, list) or not items:
            raise InputError("reports", 'send a non-empty list of reports: {"reports": [{…}, …]}')
        if len(items) > services.BATCH_LIMIT:
            raise InputError("reports", f"at most {services.BATCH_LIMIT} reports per batch, not {len(items)}")
        outcomes: list[services.Filed | None] = [None] * len(items)
        reports, positions = [], []
        for i, item in enumerate(items):
            try:
                reports.append(_batch_report(item))
                positions.append(i)
            except InputError as exc:
                outcomes[i] = services.refused(exc)
        filed = services.report_cases(request.user, reports)
        for i, outcome in zip(positions, filed, strict=True):
            outcomes[i] = outcome
        return Response({"results": [_batch_result(outcome) for outcome in outcomes]})


def _batch_result(outcome: services.Filed) -> dict:
    if outcome.error is not None:
        return {"status": outcome.status, **outcome.error}
    case = outcome.case
    return {"status": outcome.status, "id": case.pk, "number": case.number, "stage": case.stage}


def _fields(data, field: str = "body"):
    """A request body or batch item that has fields (a JSON object or a form); InputError names `field` otherwise."""
    if not hasattr(data, "get"):
        raise InputError(field, f"must be a JSON object (or a form), not {type(data).__name__}")
    return data


def _report(data, photos=()) -> services.Report:
    """A report's fields from a request body or a batch item; InputError names what is wrong."""
    data = _fields(data)
    return services.Report(
        category_code=_text(data, "category_code", 8),
        position=_position(data, required=True),
        description=_text(data, "description", 2000),
        address=_text(data, "address", 200),
        channel=_text(data, "channel", 16),
        photos=list(photos),
        reporter_contact=_caller(data.get("reporter_contact")),
    )


CALLER_PHONE = re.compile(r"\+?[0-9][0-9 -]{2,23}")


def _caller(value) -> dict:
    """``reporter_contact`` ``{"name", "phone", "callback"}`` (or its JSON text in a form): who called the hotline,
    kept for the call-back (回访) and the merge notice; InputError names the bad key."""
    if value in (None, ""):
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise InputError("reporter_contact", "must be a JSON object {name, phone, callback}") from None
    if not isinstance(value, dict):
        raise InputError("reporter_contact", "must be an object {name, phone, callback}")
    unknown = set(value) - {"name", "phone", "callback"}
    if unknown:
        raise InputError(f"reporter_contact.{sorted(unknown)[0]}", "unknown; send name, phone and callback")
    contact = {}
    for key, limit in (("name", 50), ("phone", 24)):
        try:
            text = _text(value, key, limit).strip()
        except InputError as exc:
            raise InputError(f"reporter_contact.{key}", exc.detail) from None
        if text:
            contact[key] = text
    phone = contact.get("phone", "")
    if phone and not (CALLER_PHONE.fullmatch(phone) and sum(c.isdigit() for c in phone) >= 3):
        raise InputError("reporter_contact.phone", "a phone number: digits, spaces and '-', optionally a leading '+'")
    if "callback" in value:
        if not isinstance(value["callback"], bool):
            raise InputError("reporter_contact.callback", "true or false: whether the caller wants a call-back")
        contact["callback"] = value["callback"]
    return contact


def _batch_report(item) -> tuple[str, services.Report]:
    """(idempotency key, report) of one batch item; InputError names what is wrong with it."""
    item = _fields(item, "reports")
    key = _text(item, "idempotency_key", 100).strip()
    if not key:
        raise InputError(
            "idempotency_key", "each report of a batch needs its idempotency_key (a resent batch must not file twice)"
        )
    return key, _report(item)


class CaseDetailView(APIView):
    """One case: its Feature, ``history`` (every transition) and the ``actions`` this user may take now."""

    permission_classes = [CASE_ACCESS]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, pk):
        case = selectors.case_for(request.user, pk)
        if case is None:
            raise Http404
        feature = _feature(case)
        feature["history"] = selectors.history(case)
        feature["properties"]["actions"] = selectors.allowed_actions(request.user, case)
        feature["properties"]["needs_callback"] = services.needs_callback(case)
        feature["callbacks"] = selectors.callbacks(case)
        if request.user.has_role(*services.CALLBACK_ROLES):  # whom to call back; not in the published feature
            feature["caller"] = case.reporter_contact or None
        return Response(feature)


class CaseCallbackView(APIView):
    """GET: the call-backs (回访) of a case. POST ``{"result": reached|no_answer|declined, "satisfaction":
    satisfied|basically_satisfied|dissatisfied (when reached), "note"}`` (centre roles, a handled or verified
    case). Hotline and citizen reports, and categories with ``callback_required``, close only after one."""

    permission_classes = [CASE_ACCESS]

    @extend_schema(responses=LIST_OF_OBJECTS)
    def get(self, request, pk):
        case = selectors.case_for(request.user, pk)
        if case is None:
            raise Http404
        return Response(selectors.callbacks(case))

    @extend_schema(request=OpenApiTypes.OBJECT, responses={201: LIST_OF_OBJECTS})
    def post(self, request, pk):
        case = selectors.case_for(request.user, pk)
        if case is None:
            raise Http404
        data = _fields(request.data)
        services.record_callback(
            request.user, case, _text(data, "result", 16), _text(data, "satisfaction", 24), _text(data, "note", 2000)
        )
        return Response(selectors.callbacks(case), status=201)


class CaseActionView(APIView):
    """POST /cases/{id}/actions/{action}/ with ``note``, ``department_id``, ``category_code``, ``postpone_hours``,
    ``photo`` (one or more), ``location``/``lon``+``lat``/``crs``, ``inspector_id``."""

    permission_classes = [CASE_ACCESS]

    @extend_schema(request=OpenApiTypes.OBJECT, responses=OpenApiTypes.OBJECT)
    def post(self, request, pk, action):
        if action not in Action._value2member_map_:
            raise InputError("action", f"unknown action {action!r}; one of {', '.join(Action)}")
        case = selectors.case_for(request.user, pk)
        if case is None:  # elsewhere or nowhere: the same answer, so a case's number does not leak
            raise Http404
        data = _fields(request.data)
        step = services.Step(
            note=_text(data, "note", 2000),
            photos=_photos(request),
            position=_position(data, required=False),
            department=_organisation(data.get("department_id")),
            category_code=_text(data, "category_code", 8),
            extension_hours=_hours(data.get("postpone_hours")),
            inspector=_inspector(data.get("inspector_id")),
        )
        if action == Action.DISPATCH and step.department is None:
            step.department = selectors.responsible_department(case)
        case = services.transition(request.user, case, action, step)
        return Response(_feature(case))


def _organisation(value):
    if value in (None, ""):
        return None
    try:
        return Organisation.objects.get(pk=int(value))
    except (TypeError, ValueError, Organisation.DoesNotExist):
        raise InputError("department_id", f"unknown department {value!r}") from None


def _inspector(value):
    if value in (None, ""):
        return None
    from core.models import User

    try:
        user = User.objects.get(pk=int(value))
    except (TypeError, ValueError, User.DoesNotExist):
        raise InputError("inspector_id", f"unknown user {value!r}") from None
    if not user.has_role(Role.INSPECTOR):
        raise InputError("inspector_id", f"user {user.username} is not an inspector")
    return user


def _hours(value):
    if value in (None, ""):
        return None
    try:
        hours = float(value)
    except (TypeError, ValueError):
        raise InputError("postpone_hours", "must be a number of hours") from None
    if not 0 < hours <= 24 * 365:
        raise InputError("postpone_hours", "must be more than 0 and at most a year")
    return hours


class PhotoView(APIView):
    """A case photo, for those who may see the case."""

    permission_classes = [CASE_ACCESS]

    @extend_schema(responses={(200, "image/*"): OpenApiTypes.BINARY})
    def get(self, request, pk):
        photo = CasePhoto.objects.filter(pk=pk).first()
        if photo is None or selectors.case_for(request.user, photo.case_id) is None:
            raise Http404
        return FileResponse(photo.image.open("rb"), content_type=photo.content_type)


class CategoryListView(APIView):
    """The category table: search ``q`` in code, name (Chinese or English) and major class."""

    @extend_schema(
        parameters=[
            OpenApiParameter("q", str),
            OpenApiParameter("scheme", str, enum=["gbt47678", "cjt214"]),
            OpenApiParameter("kind", str, enum=["component", "event"]),
        ],
        responses=LIST_OF_OBJECTS,
    )
    def get(self, request):
        p = request.query_params
        return Response(selectors.categories(p.get("q"), p.get("scheme"), p.get("kind")))


class GridListView(APIView):
    """Unit grids as GeoJSON (``bbox`` recommended: a city has tens of thousands)."""

    @extend_schema(parameters=[OpenApiParameter("bbox", str)], responses=OpenApiTypes.OBJECT)
    def get(self, request):
        return Response(selectors.grids_geojson(selectors.parse_bbox(request.query_params.get("bbox"))))


class MyGridsView(APIView):
    """The unit grids assigned to the signed-in inspector (责任网格)."""

    permission_classes = [INSPECTORS]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request):
        return Response(selectors.grids_geojson(qs=services.unit_grids_for(request.user)))


class MyTasksView(APIView):
    """The signed-in inspector's field tasks: reports to confirm (核实) and handled cases to check (核查)."""

    permission_classes = [INSPECTORS]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request):
        return Response({"type": "FeatureCollection", "features": selectors.my_tasks(request.user)})


class DepartmentListView(APIView):
    """Departments a case can be sent to, with the department types they are responsible for."""

    @extend_schema(responses=LIST_OF_OBJECTS)
    def get(self, request):
        return Response(selectors.departments())


class NearestComponentView(APIView):
    """The nearest component(s) to ``lon``/``lat`` (``crs``), optionally of one ``class`` (5 or 4 digits)."""

    @extend_schema(
        parameters=[
            OpenApiParameter("lon", float, required=True),
            OpenApiParameter("lat", float, required=True),
            OpenApiParameter("crs", str),
            OpenApiParameter("class", str),
            OpenApiParameter("limit", int),
        ],
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request):
        p = request.query_params
        point = parse_point(p.get("lon"), p.get("lat"), p.get("crs"))
        try:
            limit = min(max(int(p.get("limit", 1)), 1), 50)
        except ValueError:
            raise InputError("limit", "must be an integer") from None
        feats = selectors.nearest_component(point, p.get("class") or None, limit)
        return Response({"type": "FeatureCollection", "features": feats})


# 部件普查: writes for the supervision centre (no survey role exists); reads for every signed-in user, like
# components/nearest/.
COMPONENT_SURVEY = roles_required(Role.ADMIN, Role.GRID_DISPATCHER)
_POSITION_KEYS = ("location", "lon", "lat", "crs")


def _attributes(data, *other_keys: str) -> dict:
    """The request body's component attributes: every key that is not the position or one of ``other_keys``."""
    if not hasattr(data, "items"):
        raise InputError("body", "must be a JSON object")
    return {k: v for k, v in data.items() if k not in (*_POSITION_KEYS, *other_keys)}


def _component(pk: int) -> Component:
    found = Component.objects.select_related("component_class", "owner", "grid").filter(pk=pk).first()
    if found is None:
        raise Http404
    return found


class ComponentListView(APIView):
    """GET: components in ``bbox`` (required), ``class`` a comma list of 5-digit classes. POST: a newly surveyed
    component (``component_class``, ``location`` or ``lon``/``lat`` in ``crs``, name, owner, maintainer, status,
    note); its identifier and unit grid are worked out from the position."""

    permission_classes = [COMPONENT_SURVEY]

    @extend_schema(parameters=[OpenApiParameter("bbox", str, required=True), OpenApiParameter("class", str)],
                   responses=OpenApiTypes.OBJECT, operation_id="api_grid_components_list")  # fmt: skip
    def get(self, request):
        p = request.query_params
        classes = [c.strip() for c in (p.get("class") or "").split(",") if c.strip()]
        return Response(selectors.components_geojson(selectors.parse_bbox(p.get("bbox")), classes))

    @extend_schema(request=OpenApiTypes.OBJECT, responses={201: OpenApiTypes.OBJECT})
    def post(self, request):
        attributes = _attributes(request.data, "component_class")
        position = _position(request.data, required=True)
        component = survey.add_component(request.user, request.data.get("component_class"), position, attributes)
        return Response(selectors.component_detail(_component(component.pk)), status=201)


class ComponentDetailView(APIView):
    """GET: a component with its attributes and history. PATCH: move it (``location`` or ``lon``/``lat``) and/or
    change attributes (status, owner, maintainer, name, note), all or nothing."""

    permission_classes = [COMPONENT_SURVEY]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, pk: int):
        return Response(selectors.component_detail(_component(pk)))

    @extend_schema(request=OpenApiTypes.OBJECT, responses=OpenApiTypes.OBJECT)
    def patch(self, request, pk: int):
        component = _component(pk)
        attributes = _attributes(request.data)
        position = _position(request.data, required=False)
        if position is None and not attributes:
            raise InputError("location", "nothing to change: send a position or attributes")
        with transaction.atomic():
            if attributes:
                survey.edit_component(request.user, component, attributes)
            if position is not None:
                survey.move_component(request.user, component, position)
        return Response(selectors.component_detail(_component(pk)))


class ComponentRetireView(APIView):
    """POST: retire a component (``status`` removed, the default, or abandoned; ``note`` the reason). It is kept
    with that status, so the cases filed against it keep their link."""

    permission_classes = [COMPONENT_SURVEY]

    @extend_schema(request=OpenApiTypes.OBJECT, responses=OpenApiTypes.OBJECT)
    def post(self, request, pk: int):
        data = _attributes(request.data)
        status = data.get("status") or Component.Status.REMOVED
        survey.retire_component(request.user, _component(pk), status, data.get("note"))
        return Response(selectors.component_detail(_component(pk)))


def _moment(value: str | None, field: str, default: datetime) -> datetime:
    if not value:
        return default
    parsed = parse_datetime(value)
    if parsed is None:
        day = parse_date(value)
        if day is None:
            raise InputError(field, "use an ISO date (2026-01-31) or date-time")
        parsed = datetime.combine(day, time(0))
    return timezone.make_aware(parsed) if timezone.is_naive(parsed) else parsed


class KpiView(APIView):
    """Evaluation indicators (综合评价) for ``[from, to)`` grouped by district, street, department or inspector."""

    permission_classes = [KPI_ACCESS]

    @extend_schema(
        parameters=[
            OpenApiParameter("from", str, description="ISO date or date-time (default: 30 days ago)"),
            OpenApiParameter("to", str, description="ISO date or date-time, exclusive (default: now)"),
            OpenApiParameter("group_by", str, enum=list(selectors.KPI_GROUPS)),
            OpenApiParameter("as_of", str, description="evaluate as of (default: earlier of 'to' and now)"),
        ],
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request):
        p = request.query_params
        now = timezone.now()
        end = _moment(p.get("to"), "to", now)
        start = _moment(p.get("from"), "from", end - timezone.timedelta(days=30))
        if start >= end:
            raise InputError("from", "'from' must be before 'to'")
        group_by = p.get("group_by", "district")
        if group_by not in selectors.KPI_GROUPS:
            raise InputError("group_by", f"group_by must be one of {', '.join(selectors.KPI_GROUPS)}")
        as_of = _moment(p.get("as_of"), "as_of", min(end, now))
        scope = selectors.KpiScope.of(Viewer.for_user(request.user))
        if group_by == "inspector" and scope.limited:
            raise Forbidden("the inspectors' indicators are the supervision centre's")
        return Response(selectors.kpi_report(start, end, group_by, as_of, scope))
