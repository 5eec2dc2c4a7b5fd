"""Inspector patrol REST API under /api/patrol/."""

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api_errors import time_param, validated
from core.errors import InputError
from core.geo import OFFSET_CRS, parse_point
from core.models import Role
from core.permissions import roles_required
from core.realtime import Viewer

from . import selectors, services

CENTRE_READ = (Role.ADMIN, Role.LEADER, Role.GRID_DISPATCHER, Role.CALL_TAKER, Role.OPERATOR)
POSITIONS_ACCESS = roles_required(Role.INSPECTOR, read_roles=())
CENTRE_ACCESS = roles_required(Role.ADMIN, read_roles=CENTRE_READ)


class FixSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    lon = serializers.FloatField()
    lat = serializers.FloatField()
    accuracy = serializers.FloatField(required=False, allow_null=True)
    # a tablet showing a Chinese map SDK's positions sends them as they are; they are stored in WGS84
    crs = serializers.ChoiceField(choices=["wgs84", *OFFSET_CRS], default="wgs84")


class PositionBatchSerializer(serializers.Serializer):
    positions = serializers.ListField(child=FixSerializer(), allow_empty=False, max_length=services.BATCH_LIMIT)


class PositionBatchView(APIView):
    """POST ``{"positions": [{"at", "lon", "lat", "accuracy", "crs"}, …]}`` (up to ``BATCH_LIMIT``): the calling
    inspector's fixes from the tablet's outbox. Idempotent by fix time; one bad fix refuses the whole batch (400
    naming it) so the outbox keeps it for a person to see, rather than silently losing part of a track."""

    permission_classes = [POSITIONS_ACCESS]

    @extend_schema(request=PositionBatchSerializer, responses=OpenApiTypes.OBJECT)
    def post(self, request):
        data = validated(PositionBatchSerializer, request.data)
        fixes = [services.Fix(p["at"], *_wgs84(p), p.get("accuracy")) for p in data["positions"]]
        stored = services.record_positions(request.user, fixes)
        return Response({"received": len(fixes), "stored": stored})


def _wgs84(fix: dict) -> tuple[float, float]:
    if fix["crs"] == "wgs84":
        return fix["lon"], fix["lat"]  # range-checked with the rest of the fix by services.check_fix
    point = parse_point(fix["lon"], fix["lat"], fix["crs"])
    return point.x, point.y


class OnDutyView(APIView):
    """Inspectors in a shift now that the caller may see (selectors.visible_inspectors, as on the live feed):
    attendance state (未上岗/在岗/离岗/超时未报) and last position."""

    permission_classes = [CENTRE_ACCESS]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request):
        return Response({"inspectors": selectors.on_duty(viewer=Viewer.for_user(request.user))})


class EffortView(APIView):
    """Patrol effort per inspector for ``[from, to)``: on-duty and in-grid time, distance, cases reported."""

    permission_classes = [CENTRE_ACCESS]

    @extend_schema(
        parameters=[
            OpenApiParameter("from", str, description="ISO date-time (default: 24 hours ago)"),
            OpenApiParameter("to", str, description="ISO date-time, exclusive (default: now)"),
        ],
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request):
        end = time_param(request.query_params, "to", timezone.now())
        start = time_param(request.query_params, "from", end - timezone.timedelta(days=1))
        if start >= end:
            raise InputError("from", "'from' must be before 'to'")
        effort = selectors.patrol_effort(start, end)
        return Response({"from": start, "to": end, "inspectors": [{"id": k, **v} for k, v in effort.items()]})
