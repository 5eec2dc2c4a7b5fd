"""HTTP side of dispatch: the OsmAnd GPS endpoint used by phone apps and the fleet simulator, and the REST
API of incidents, units, tracks, alarms and KPIs under /api/dispatch/.

The OsmAnd protocol (as Traccar documents it) is a plain query string, not a REST resource, so that one is
a plain Django view: no session, no CSRF (devices have neither); the device id is the credential.
"""

import math
from datetime import UTC, datetime, timedelta

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api_errors import time_param, validated
from core.api_schema import LIST_OF_OBJECTS
from core.errors import InputError, Refusal
from core.geo import SUPPORTED_CRS_TEXT, parse_crs, parse_geojson_point
from core.models import Role
from core.permissions import roles_required
from core.realtime import TOPIC_ROLES, Viewer

from . import alarms, commands, device_security, features, selectors, services, tracks
from .features import alarm_feature, incident_feature
from .models import AGENCY_CODES, Assignment, Incident, IncidentType

KNOT_KMH = 1.852  # OsmAnd speeds are knots
_SECONDS_LIMIT = 2**31 - 1  # Traccar's rule: larger integer timestamps are milliseconds
_feed = tracks.SharedVehicleFeed()


class OsmAndError(ValueError):
    pass


def _number(params, *names: str, required: bool = False, default: float = 0.0) -> float:
    for name in names:
        raw = params.get(name)
        if raw not in (None, ""):
            try:
                value = float(raw)
            except ValueError:
                raise OsmAndError(f"'{name}' must be a number, got {raw!r}") from None
            if not math.isfinite(value):
                raise OsmAndError(f"'{name}' must be a finite number, got {raw!r}")
            return value
    if required:
        raise OsmAndError(f"'{names[0]}' is required")
    return default


def _timestamp(raw: str | None) -> datetime:
    """Unix seconds or milliseconds, ISO 8601, or "yyyy-MM-dd HH:mm:ss" in the server's zone; absent = now."""
    if not raw:
        return timezone.now()
    try:
        if raw.isdigit():
            value = int(raw)
            return datetime.fromtimestamp(value if value <= _SECONDS_LIMIT else value / 1000, UTC)
        parsed = datetime.fromisoformat(raw)
    except (ValueError, OverflowError, OSError):
        raise OsmAndError(f"'timestamp' is not Unix seconds/milliseconds or an ISO 8601 time: {raw!r}") from None
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed)


def parse_fix(params, vehicle_id: int, terminal_name: str) -> tracks.Fix:
    lat, lon = params.get("lat"), params.get("lon")
    if (lat in (None, "") or lon in (None, "")) and params.get("location"):
        lat, _, lon = params["location"].partition(",")
    position = {"lat": lat, "lon": lon}
    return tracks.Fix(
        terminal=tracks.osmand_terminal(terminal_name),
        vehicle_id=vehicle_id,
        fix_time=_timestamp(params.get("timestamp")),
        latitude=_number(position, "lat", required=True),
        longitude=_number(position, "lon", required=True),
        speed_kmh=_number(params, "speed") * KNOT_KMH,
        heading=round(_number(params, "bearing", "heading")) % 360,
        altitude=round(_number(params, "altitude")),
    )


@csrf_exempt
def osmand(request: HttpRequest) -> HttpResponse:
    """One position per request (GET query, or form body when the query is empty); 200 only after commit.

    The device id a phone sends is the secret token an administrator issued for its unit: any other id, a unit's
    plain name or a guess, gets one and the same answer, so ids cannot be told apart; too many positions from one
    address or with one id, known or not, get a 429 before the id is looked up."""
    if request.method not in ("GET", "POST"):
        return HttpResponse("use GET or POST\n", status=405, content_type="text/plain")
    params = request.GET if request.GET else request.POST
    token = params.get("id") or params.get("deviceid")
    if not token:
        return HttpResponse("'id' (the device token) is required\n", status=400, content_type="text/plain")
    retry_after = device_security.osmand_retry_after(token, request.META.get("REMOTE_ADDR", ""))
    if retry_after is not None:
        response = HttpResponse("too many positions\n", status=429, content_type="text/plain")
        response["Retry-After"] = str(retry_after)
        return response
    unit = selectors.osmand_device(token)
    if unit is None:
        return HttpResponse("device not recognised\n", status=403, content_type="text/plain")
    try:
        fix = parse_fix(params, unit.pk, unit.osmand_id or f"unit-{unit.pk}")
    except OsmAndError as exc:
        return HttpResponse(f"{exc}\n", status=400, content_type="text/plain")
    result = tracks.ingest_fixes([fix], lambda stored: _feed.publish(stored.moved))
    if result.refused[0] is not None:
        return HttpResponse(f"position refused: {result.refused[0]}\n", status=400, content_type="text/plain")
    return HttpResponse("OK\n", content_type="text/plain")


# -- incidents and units (REST, /api/dispatch/) -----------------------------------------------------------

READ_ROLES = tuple(TOPIC_ROLES["incidents"])
DISPATCHERS = roles_required(Role.CALL_TAKER, Role.OPERATOR, Role.ADMIN, read_roles=READ_ROLES)
MAX_TRACK_RANGE = timedelta(days=7)


def _viewer(request) -> Viewer:
    return Viewer.for_user(request.user)


def incident_or_404(request, pk: int) -> Incident:
    incident = selectors.visible_incident(_viewer(request), pk)
    if incident is None:
        raise NotFound(f"no incident {pk} visible to you")
    return incident


def _feature(pk: int) -> dict:
    return incident_feature(selectors.incidents_for(selectors.CITY_WIDE).get(pk=pk))


class IncidentTypeListView(APIView):
    permission_classes = [DISPATCHERS]

    @extend_schema(responses=LIST_OF_OBJECTS)
    def get(self, request):
        return Response(selectors.incident_types())


class IncidentRequestSerializer(serializers.Serializer):
    caller_number = serializers.CharField(required=False, allow_blank=True, max_length=32, default="")
    call_received_at = serializers.DateTimeField(required=False)
    type_code = serializers.CharField(max_length=32)
    priority = serializers.IntegerField(required=False, min_value=1, max_value=4)
    description = serializers.CharField(required=False, allow_blank=True, max_length=4000, default="")
    address = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")
    location = serializers.JSONField(required=False, help_text="GeoJSON Point")
    crs = serializers.CharField(required=False, default="wgs84", help_text=SUPPORTED_CRS_TEXT)
    confirm_new = serializers.BooleanField(required=False, default=False)
    same_as = serializers.IntegerField(required=False, help_text="id of the open incident this call is about")


class IncidentListView(APIView):
    """GET: incidents as a FeatureCollection (?status=open|closed|all). POST: a call → an incident."""

    permission_classes = [DISPATCHERS]

    @extend_schema(
        parameters=[OpenApiParameter("status", str, enum=["open", "closed", "all"])],
        responses=OpenApiTypes.OBJECT,
        operation_id="api_dispatch_incidents_list",
    )
    def get(self, request):
        which = request.query_params.get("status", "open")
        if which not in ("open", "closed", "all"):
            raise InputError("status", "must be open, closed or all")
        features = selectors.incident_list(_viewer(request), which)
        return Response({"type": "FeatureCollection", "features": features})

    @extend_schema(request=IncidentRequestSerializer, responses={201: OpenApiTypes.OBJECT, 409: OpenApiTypes.OBJECT})
    def post(self, request):
        data = validated(IncidentRequestSerializer, request.data)
        call = {
            "caller_number": data["caller_number"],
            "call_received_at": data.get("call_received_at"),
            "description": data["description"],
        }
        if "same_as" in data:
            incident = incident_or_404(request, data["same_as"])
            services.attach_call(request.user, incident, **call)
            return Response(_feature(incident.pk))
        incident_type = IncidentType.objects.filter(code=data["type_code"], active=True).first()
        if incident_type is None:
            raise InputError("type_code", _("unknown incident type %(code)r") % {"code": data["type_code"]})
        if data.get("location") is None:
            raise InputError("location", _("the incident's location (a GeoJSON Point) is required"))
        point = parse_geojson_point(data["location"], parse_crs(data["crs"]))
        incident = services.create_incident(
            request.user,
            incident_type=incident_type,
            point=point,
            priority=data.get("priority"),
            address=data["address"],
            confirm_new=data["confirm_new"],
            **call,
        )
        return Response(_feature(incident.pk), status=status.HTTP_201_CREATED)


class IncidentDetailView(APIView):
    permission_classes = [DISPATCHERS]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, pk):
        incident = incident_or_404(request, pk)
        return Response({**incident_feature(incident), "timeline": selectors.timeline(incident)})


class RecommendationView(APIView):
    permission_classes = [DISPATCHERS]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, pk):
        incident = incident_or_404(request, pk)
        return Response(selectors.recommendation(_viewer(request), incident))


class DispatchRequestSerializer(serializers.Serializer):
    vehicle_ids = serializers.ListField(child=serializers.IntegerField(), min_length=1, max_length=50)


class DispatchView(APIView):
    """Send units (all or nothing); each assignment keeps the road ETA at the moment of dispatch."""

    permission_classes = [DISPATCHERS]

    @extend_schema(request=DispatchRequestSerializer, responses={200: OpenApiTypes.OBJECT, 409: OpenApiTypes.OBJECT})
    def post(self, request, pk):
        incident = incident_or_404(request, pk)
        ids = list(dict.fromkeys(validated(DispatchRequestSerializer, request.data)["vehicle_ids"]))
        services.dispatch_units(request.user, _viewer(request), incident, ids, selectors.etas(incident, ids))
        return Response(_feature(incident.pk))


class IncidentStatusSerializer(serializers.Serializer):
    status = serializers.ChoiceField([Incident.Status.UNDER_CONTROL, Incident.Status.CLOSED])


class IncidentStatusView(APIView):
    permission_classes = [DISPATCHERS]

    @extend_schema(request=IncidentStatusSerializer, responses={200: OpenApiTypes.OBJECT, 409: OpenApiTypes.OBJECT})
    def post(self, request, pk):
        incident = incident_or_404(request, pk)
        target = validated(IncidentStatusSerializer, request.data)["status"]
        services.set_incident_status(request.user, incident, target)
        return Response(_feature(incident.pk))


class AssignmentStatusSerializer(serializers.Serializer):
    status = serializers.ChoiceField(["en_route", "on_scene", "returning", "available", "cleared"])


class AssignmentStatusView(APIView):
    """A unit's status on its assignment; "available" (or "cleared") releases it."""

    permission_classes = [DISPATCHERS]

    @extend_schema(request=AssignmentStatusSerializer, responses={200: OpenApiTypes.OBJECT, 409: OpenApiTypes.OBJECT})
    def post(self, request, pk):
        assignment = Assignment.objects.filter(pk=pk).first()
        if assignment is None or selectors.visible_incident(_viewer(request), assignment.incident_id) is None:
            raise NotFound(f"no assignment {pk} visible to you")
        agencies = selectors.viewer_agencies(_viewer(request))
        if agencies is not None and assignment.agency not in agencies:
            raise Refusal(_("the unit belongs to agency %(agency)s") % {"agency": assignment.agency})
        target = validated(AssignmentStatusSerializer, request.data)["status"]
        target = Assignment.Status.CLEARED if target == "available" else target
        services.set_assignment_status(request.user, assignment, target)
        return Response(_feature(assignment.incident_id))


class AgencyLinkSerializer(serializers.Serializer):
    link = serializers.ChoiceField(AGENCY_CODES, required=False)
    unlink = serializers.ChoiceField(AGENCY_CODES, required=False)

    def validate(self, attrs):
        if ("link" in attrs) == ("unlink" in attrs):
            raise serializers.ValidationError({"link": "give exactly one of link or unlink"})
        return attrs


class AgencyLinkView(APIView):
    """联动: link another agency to the incident (its desk sees it at once), or withdraw one."""

    permission_classes = [DISPATCHERS]

    @extend_schema(request=AgencyLinkSerializer, responses={200: OpenApiTypes.OBJECT, 409: OpenApiTypes.OBJECT})
    def post(self, request, pk):
        incident = incident_or_404(request, pk)
        data = validated(AgencyLinkSerializer, request.data)
        services.link_agency(request.user, _viewer(request), incident, **data)
        return Response(_feature(incident.pk))


class UnitListView(APIView):
    """The status board: every unit the user may see, with its status and last position."""

    permission_classes = [DISPATCHERS]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request):
        return Response({"type": "FeatureCollection", "features": selectors.unit_features(_viewer(request))})


class TrackView(APIView):
    """轨迹回放: a unit's stored fixes between ?from= and ?to= (ISO 8601; at most 7 days)."""

    permission_classes = [DISPATCHERS]

    @extend_schema(
        parameters=[OpenApiParameter("from", OpenApiTypes.DATETIME), OpenApiParameter("to", OpenApiTypes.DATETIME)],
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request, pk):
        vehicle = selectors.visible_vehicle(_viewer(request), pk)
        if vehicle is None:
            raise NotFound(f"no unit {pk} visible to you")
        return Response(selectors.track(vehicle, *track_window(request.query_params)))


def track_window(params) -> tuple:
    """(start, end) of a track request: ?from= and ?to= (ISO 8601), the last hour by default, at most 7 days."""
    end = time_param(params, "to", timezone.now())
    start = time_param(params, "from", end - timedelta(hours=1))
    if start >= end:
        raise InputError("from", "must be before 'to'")
    if end - start > MAX_TRACK_RANGE:
        raise InputError("to", f"the range may span at most {MAX_TRACK_RANGE.days} days")
    return start, end


class AlarmListView(APIView):
    permission_classes = [DISPATCHERS]

    @extend_schema(parameters=[OpenApiParameter("open", bool)], responses=OpenApiTypes.OBJECT)
    def get(self, request):
        open_only = request.query_params.get("open", "1") not in ("0", "false")
        features = selectors.alarms_for(_viewer(request), open_only)
        return Response({"type": "FeatureCollection", "features": features})


# Who handles alarms (acknowledge, close); the others who read them only watch.
ALARM_HANDLERS = roles_required(Role.OPERATOR, Role.CALL_TAKER, Role.TRANSPORT, Role.ADMIN, read_roles=READ_ROLES)


class AlarmNoteSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, max_length=alarms.MAX_NOTE, default="")


def _alarm_or_404(request, pk: int):
    alarm = selectors.visible_alarm(_viewer(request), pk)
    if alarm is None:
        raise NotFound(f"no alarm {pk} visible to you")
    return alarm


class AlarmAcknowledgeView(APIView):
    """确认: the alarm is seen and being handled ({"note": optional}); 409 if acknowledged or closed already."""

    permission_classes = [ALARM_HANDLERS]

    @extend_schema(request=AlarmNoteSerializer, responses={200: OpenApiTypes.OBJECT, 409: OpenApiTypes.OBJECT})
    def post(self, request, pk):
        alarm = _alarm_or_404(request, pk)
        note = validated(AlarmNoteSerializer, request.data)["note"]
        return Response(alarm_feature(alarms.acknowledge_alarm(request.user, alarm, note)))


class AlarmCloseView(APIView):
    """关闭: handled ({"note": required}, how); the alarm leaves the consoles. 409 if closed already."""

    permission_classes = [ALARM_HANDLERS]

    @extend_schema(request=AlarmNoteSerializer, responses={200: OpenApiTypes.OBJECT, 409: OpenApiTypes.OBJECT})
    def post(self, request, pk):
        alarm = _alarm_or_404(request, pk)
        note = validated(AlarmNoteSerializer, request.data)["note"]
        return Response(alarm_feature(alarms.close_alarm(request.user, alarm, note)))


class KpiView(APIView):
    """Response-time KPIs (p90 per agency and district) against the objectives named in the answer."""

    permission_classes = [DISPATCHERS]

    @extend_schema(
        parameters=[
            OpenApiParameter("from", OpenApiTypes.DATETIME),
            OpenApiParameter("to", OpenApiTypes.DATETIME),
            OpenApiParameter("district", str),
            OpenApiParameter("agency", str, enum=AGENCY_CODES),
        ],
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request):
        end = time_param(request.query_params, "to", timezone.now())
        start = time_param(request.query_params, "from", end - timedelta(days=30))
        if start >= end:
            raise InputError("from", "must be before 'to'")
        agency = request.query_params.get("agency") or None
        if agency is not None and agency not in AGENCY_CODES:
            raise InputError("agency", f"must be one of {', '.join(AGENCY_CODES)}")
        mine = selectors.viewer_agencies(_viewer(request))
        if mine is not None and agency is None:
            agency = min(mine) if len(mine) == 1 else None
        if mine is not None and agency not in mine:
            raise InputError("agency", f"you may see the KPIs of agency {', '.join(sorted(mine)) or 'none'} only")
        district = request.query_params.get("district") or None
        return Response(selectors.response_kpis(start, end, district=district, agency=agency))


# -- commands to vehicles (JT/T 808 downlink) and the crews' MDT ----------------------------------------


class CommandSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(commands.Kind.values)
    params = serializers.JSONField(required=False, default=dict, help_text="per kind; see the README")
    expires_in_s = serializers.IntegerField(
        min_value=commands.EXPIRES_IN_S[0],
        max_value=commands.EXPIRES_IN_S[1],
        default=commands.DEFAULT_EXPIRES_IN_S,
        help_text="seconds a command waits for its terminal",
    )


class BatchSerializer(CommandSerializer):
    target = serializers.ChoiceField(commands.BATCH_TARGETS)
    group = serializers.IntegerField(required=False)
    agency = serializers.CharField(required=False, max_length=3)
    area = serializers.CharField(required=False, max_length=12, help_text="administrative area code")
    polygon = serializers.JSONField(required=False, help_text="GeoJSON Polygon (WGS84)")


def _command_input(data: dict) -> tuple[str, dict, timedelta]:
    params = commands.validate_params(data["kind"], data["params"])
    return data["kind"], params, timedelta(seconds=data["expires_in_s"])


def vehicle_or_404(request, pk: int):
    vehicle = selectors.visible_vehicle(_viewer(request), pk)
    if vehicle is None:
        raise NotFound(f"no unit {pk} visible to you")
    return vehicle


class VehicleCommandsView(APIView):
    """GET: the commands sent to a unit, newest first. POST: queue one (sent when its terminal is connected)."""

    permission_classes = [DISPATCHERS]

    @extend_schema(responses=LIST_OF_OBJECTS)
    def get(self, request, pk):
        return Response(commands.commands_for_vehicle(vehicle_or_404(request, pk)))

    @extend_schema(request=CommandSerializer, responses={201: OpenApiTypes.OBJECT})
    def post(self, request, pk):
        vehicle = vehicle_or_404(request, pk)
        kind, params, lifetime = _command_input(validated(CommandSerializer, request.data))
        command = commands.queue_command(request.user, vehicle, kind, params, lifetime)
        return Response(commands.command_json(command), status=status.HTTP_201_CREATED)


class CommandBatchListView(APIView):
    """POST: one command to every unit of a group, an agency, an administrative area or a drawn polygon that the
    user may see; the answer is the batch with each unit's state."""

    permission_classes = [DISPATCHERS]

    @extend_schema(request=BatchSerializer, responses={201: OpenApiTypes.OBJECT})
    def post(self, request):
        data = validated(BatchSerializer, request.data)
        kind, params, lifetime = _command_input(data)
        target = commands.resolve_target(_viewer(request), data)
        batch = commands.queue_batch(request.user, target, kind, params, lifetime)
        return Response(commands.visible_batch(_viewer(request), batch.pk), status=status.HTTP_201_CREATED)


class CommandBatchView(APIView):
    permission_classes = [DISPATCHERS]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, pk):
        batch = commands.visible_batch(_viewer(request), pk)
        if batch is None:
            raise NotFound(f"no command batch {pk} visible to you")
        return Response(batch)


class VehicleGroupSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=64)
    description = serializers.CharField(required=False, allow_blank=True, max_length=255, default="")
    vehicle_ids = serializers.ListField(child=serializers.IntegerField(), min_length=1, max_length=2000)


class VehicleGroupListView(APIView):
    """GET: the vehicle groups of the user's organisation. POST: a new one (of units the user may see)."""

    permission_classes = [DISPATCHERS]

    @extend_schema(responses=LIST_OF_OBJECTS)
    def get(self, request):
        return Response(commands.groups_for(_viewer(request)))

    @extend_schema(request=VehicleGroupSerializer, responses={201: OpenApiTypes.OBJECT})
    def post(self, request):
        data = validated(VehicleGroupSerializer, request.data)
        group = commands.create_group(request.user, _viewer(request), **data)
        return Response(commands.group_json(group), status=status.HTTP_201_CREATED)


class MdtMessagesView(APIView):
    """The texts dispatchers sent a unit, newest first (at most 50), for its crew's MDT."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses=LIST_OF_OBJECTS)
    def get(self, request, pk):
        return Response(commands.mdt_messages(vehicle_or_404(request, pk)))


class MdtMessageReadView(APIView):
    """The crew read a message (idempotent); for a unit without a JT/T 808 terminal this is its delivery."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses=OpenApiTypes.OBJECT)
    def post(self, request, pk, command_id):
        command = commands.mark_read(vehicle_or_404(request, pk), command_id)
        return Response({"id": command.pk, "state": command.state, "read_at": features.iso(command.read_at)})
