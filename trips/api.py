"""REST API of the replay and the fleet reports under /api/trips/ (reads only).

Every answer covers only vehicles the reader may see (dispatch's row rule, selectors.report_vehicles): a vehicle
id outside it is answered 404 as if it did not exist. Reports come as JSON, or with ?format=csv|xlsx as a file of
the same rows.
"""

import re
from datetime import timedelta

from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api_errors import time_param
from core.api_schema import LIST_OF_OBJECTS
from core.errors import InputError
from core.models import Role
from core.permissions import roles_required
from core.realtime import Viewer
from dispatch.api import MAX_TRACK_RANGE
from dispatch.models import AGENCY_CODES

from . import export, selectors

READ_ROLES = (Role.OPERATOR, Role.CALL_TAKER, Role.LEADER, Role.PLANNER, Role.ADMIN)
READERS = roles_required(Role.ADMIN, read_roles=READ_ROLES)
MAX_REPORT_RANGE = timedelta(days=31)
MAX_REPLAY_RANGE = MAX_TRACK_RANGE  # as dispatch's track API: a week of fixes
MAX_STEP_S = 3600
_IDS = re.compile(r"^\d{1,12}(,\d{1,12})*$")
RANGE_PARAMETERS = [OpenApiParameter("from", OpenApiTypes.DATETIME), OpenApiParameter("to", OpenApiTypes.DATETIME)]


class ReadView(APIView):
    """JSON whatever ?format= says: `format` is the reports' file format here, not DRF's renderer override."""

    permission_classes = [READERS]

    def perform_content_negotiation(self, request, force=False):
        return JSONRenderer(), JSONRenderer.media_type


def _viewer(request) -> Viewer:
    return Viewer.for_user(request.user)


def time_range(params, default_span: timedelta, max_span: timedelta):
    """?from= and ?to= (ISO 8601): `to` defaults to now, `from` to `default_span` before it."""
    end = time_param(params, "to", timezone.now())
    start = time_param(params, "from", end - default_span)
    if start >= end:
        raise InputError("from", _("must be before 'to'"))
    if end - start > max_span:
        raise InputError("to", _("the range may span at most %(days)d days") % {"days": max_span.days})
    return start, end


def vehicle_ids(params, limit: int) -> list[int] | None:
    raw = params.get("vehicles")
    if raw is None or raw == "":
        return None
    if not _IDS.match(raw):
        raise InputError("vehicles", _("a comma-separated list of vehicle ids"))
    ids = list(dict.fromkeys(int(part) for part in raw.split(",")))
    if len(ids) > limit:
        raise InputError("vehicles", _("at most %(n)d vehicles") % {"n": limit})
    return ids


def _missing(asked: list[int], found) -> None:
    missing = sorted(set(asked) - set(found))
    if missing:
        raise NotFound(_("no vehicle %(ids)s visible to you") % {"ids": ", ".join(map(str, missing))})


class VehicleSearchView(ReadView):
    """The vehicles the reader may see whose call sign or plate contains ?q=."""

    @extend_schema(parameters=[OpenApiParameter("q", str)], responses=LIST_OF_OBJECTS)
    def get(self, request):
        text = request.query_params.get("q", "").strip()
        if len(text) > 32:
            raise InputError("q", _("at most 32 characters"))
        return Response(selectors.search_vehicles(_viewer(request), text))


class GroupListView(ReadView):
    @extend_schema(responses=LIST_OF_OBJECTS)
    def get(self, request):
        groups = selectors.visible_groups(_viewer(request)).order_by("name")
        return Response([{"id": g.pk, "name": g.name} for g in groups])


class ReplayView(ReadView):
    """The replay of ?vehicles= (1 to 10 ids) between ?from= and ?to= (at most 7 days): fixes (every one, or with
    ?step=N the first of each N seconds), alarms and stops."""

    @extend_schema(
        parameters=[OpenApiParameter("vehicles", str, required=True), OpenApiParameter("step", int), *RANGE_PARAMETERS],
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request):
        params = request.query_params
        ids = vehicle_ids(params, selectors.MAX_REPLAY_VEHICLES)
        if ids is None:
            raise InputError("vehicles", _("choose at least one vehicle"))
        start, end = time_range(params, timedelta(hours=2), MAX_REPLAY_RANGE)
        step = params.get("step", "0")
        if not step.isdigit() or int(step) > MAX_STEP_S:
            raise InputError("step", _("whole seconds from 0 to %(max)d") % {"max": MAX_STEP_S})
        found = selectors.replay_vehicles(_viewer(request), ids)
        _missing(ids, [v.pk for v in found])
        return Response(selectors.replay(found, start, end, int(step)))


class ReportView(ReadView):
    """A report (trips, stops, mileage, speeding, fences) of ?vehicles=, ?group= or ?agency= (none: every vehicle
    the reader may see) between ?from= and ?to= (at most 31 days); ?format=csv|xlsx gives its rows as a file."""

    @extend_schema(
        parameters=[
            OpenApiParameter("vehicles", str),
            OpenApiParameter("group", int),
            OpenApiParameter("agency", str, enum=AGENCY_CODES),
            OpenApiParameter("format", str, enum=["json", "csv", "xlsx"]),
            *RANGE_PARAMETERS,
        ],
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request, kind):
        if kind not in selectors.REPORT_KINDS:
            raise NotFound(_("no report %(kind)r") % {"kind": kind})
        params = request.query_params
        fmt = params.get("format", "json")
        if fmt not in ("json", "csv", "xlsx"):
            raise InputError("format", _("must be json, csv or xlsx"))
        start, end = time_range(params, timedelta(days=1), MAX_REPORT_RANGE)
        viewer = _viewer(request)
        ids = vehicle_ids(params, selectors.MAX_VEHICLES)
        group = None
        if params.get("group"):
            if not params["group"].isdigit():
                raise InputError("group", _("a vehicle group id"))
            group = selectors.visible_groups(viewer).filter(pk=int(params["group"])).first()
            if group is None:
                raise NotFound(_("no vehicle group %(id)s visible to you") % {"id": params["group"]})
        agency = params.get("agency") or None
        if agency is not None and agency not in AGENCY_CODES:
            raise InputError("agency", _("must be one of %(codes)s") % {"codes": ", ".join(AGENCY_CODES)})
        vehicles = selectors.report_vehicles(viewer, vehicle_ids=ids, group=group, agency=agency)
        if ids is not None and group is None and agency is None:
            _missing(ids, [v[0] for v in vehicles])
        if fmt == "json":
            return Response(selectors.report(kind, viewer, vehicles, start, end))
        answer = selectors.report(kind, viewer, vehicles, start, end, row_limit=selectors.MAX_EXPORT_ROWS)
        filename = f"{kind}-{selectors.local_day(start):%Y%m%d}-{selectors.local_day(end):%Y%m%d}"
        return export.file_response(answer["rows"], fmt, filename)
