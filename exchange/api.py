"""REST API under /api/exchange/: tasks the upper platform sends down (its own bearer token, no session), and the
status of the upward link with a retry of failed records for administrators."""

import hmac

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import AuthenticationFailed, NotAuthenticated, PermissionDenied
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api_errors import validated
from core.errors import InputError
from core.geo import parse_crs, parse_geojson_point, parse_point
from core.models import Role
from core.permissions import roles_required
from grid import services as grid_services
from grid.models import Case

from . import selectors, services, shape

ADMIN = roles_required(Role.ADMIN, read_roles=(Role.ADMIN,))


class TaskIn(serializers.Serializer):
    task_id = serializers.RegexField(r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$", max_length=64)
    category_code = serializers.CharField(max_length=8)
    description = serializers.CharField(max_length=2000, allow_blank=True, required=False, default="")
    address = serializers.CharField(max_length=200, allow_blank=True, required=False, default="")
    location = serializers.JSONField(required=False)
    lon = serializers.FloatField(required=False)
    lat = serializers.FloatField(required=False)
    crs = serializers.CharField(max_length=16, required=False, default="cgcs2000")


def _task(data) -> services.Task:
    if not isinstance(data, dict):
        raise InputError("body", "must be a JSON object")
    fields = validated(TaskIn, data)
    crs = parse_crs(fields["crs"])
    if "location" in fields:
        position = parse_geojson_point(fields["location"], crs)
    elif "lon" in fields and "lat" in fields:
        position = parse_point(fields["lon"], fields["lat"], crs)
    else:
        raise InputError("location", "a position is required: 'location' (GeoJSON Point) or 'lon' and 'lat'")
    report = grid_services.Report(
        category_code=fields["category_code"],
        position=position,
        description=fields["description"],
        address=fields["address"],
        channel=Case.Channel.UPPER_PLATFORM,
    )
    return services.Task(fields["task_id"], report)


def _check_token(request) -> None:
    expected = settings.CITYOPS_EXCHANGE_TASK_TOKEN
    if not expected:
        raise PermissionDenied("tasks from the upper platform are off: set CITYOPS_EXCHANGE_TASK_TOKEN")
    sent = request.headers.get("Authorization", "")
    if not sent:
        raise NotAuthenticated("send Authorization: Bearer <token>")
    if not hmac.compare_digest(sent.encode(), f"Bearer {expected}".encode()):
        raise AuthenticationFailed("wrong token")


class TaskView(APIView):
    """POST a task sent down (下派) by the provincial/national platform, ``Authorization: Bearer
    <CITYOPS_EXCHANGE_TASK_TOKEN>``: ``task_id``, ``category_code``, ``location`` (GeoJSON Point) or ``lon``+``lat``,
    ``crs`` (default cgcs2000), ``description``, ``address``. 201 with our ``case_number`` for a new case, 200 with
    the same answer when the task was taken before; 409 when the ``task_id`` came with different content."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    def get_authenticate_header(self, request):
        return "Bearer"

    @extend_schema(request=OpenApiTypes.OBJECT, responses=OpenApiTypes.OBJECT)
    def post(self, request):
        _check_token(request)
        task = _task(request.data)
        case, created = services.take_task(task)
        return Response(
            {"task_id": task.task_id, "case_number": case.number, "stage": case.stage,
             "record_id_prefix": shape.record_id(case.number, 0)[:-4]},
            status=201 if created else 200,
        )  # fmt: skip


class StatusView(APIView):
    """The upward link: records pending, sent and failed (with the receiver's reasons), the oldest waiting."""

    permission_classes = [ADMIN]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request):
        return Response({"enabled": services.enabled(), **selectors.status()})


class RetryView(APIView):
    """POST: send a failed record again (and the records of its case waiting behind it)."""

    permission_classes = [ADMIN]

    @extend_schema(request=None, responses=OpenApiTypes.OBJECT)
    def post(self, request, record_id):
        record = services.retry_one(request.user, record_id)
        return Response({"record_id": record.record_id, "state": record.state})
