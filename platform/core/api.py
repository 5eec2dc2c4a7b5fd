"""Core REST API: administrative areas, point location, the current user, system health."""

import json

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_gis.serializers import GeoFeatureModelSerializer

from . import health, selectors, services
from .geo import SUPPORTED_CRS_TEXT, parse_crs, parse_geometry, parse_point
from .models import AdminArea, Role
from .permissions import ADMIN_ONLY_WRITES, roles_required
from .realtime import Viewer


class AreaSerializer(GeoFeatureModelSerializer):
    parent = serializers.CharField(source="parent.code", allow_null=True, default=None)

    class Meta:
        model = AdminArea
        geo_field = "geom"
        id_field = False
        fields = ["code", "name", "level", "parent"]

    def to_representation(self, instance):
        feature = super().to_representation(instance)
        feature["id"] = instance.code  # stable feature id for map clients (MapLibre promoteId, OGC items)
        return feature


class AreaUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=64, required=False, allow_blank=False)
    geometry = serializers.JSONField(required=False, help_text="GeoJSON Polygon or MultiPolygon")
    crs = serializers.CharField(required=False, default="wgs84", help_text=SUPPORTED_CRS_TEXT)

    def validate(self, attrs):
        if "name" not in attrs and "geometry" not in attrs:
            raise serializers.ValidationError("give 'name' and/or 'geometry'")
        if "geometry" in attrs:
            geom = parse_geometry(attrs["geometry"], attrs.get("crs"))
            if geom.geom_type not in ("Polygon", "MultiPolygon"):
                raise serializers.ValidationError(
                    {"geometry": f"must be a Polygon or MultiPolygon, not {geom.geom_type}"}
                )
            if not geom.valid:
                raise serializers.ValidationError({"geometry": f"invalid polygon: {geom.valid_reason}"})
            attrs["geometry"] = geom
        return attrs


class AreaListView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("level", str, enum=AdminArea.Level.values),
            OpenApiParameter("parent", str, description="parent area code"),
        ],
        responses=AreaSerializer(many=True),
    )
    def get(self, request):
        level = request.query_params.get("level")
        if level and level not in AdminArea.Level.values:
            return Response(
                {
                    "error": "invalid_input",
                    "field": "level",
                    "detail": f"level must be one of {AdminArea.Level.values}",
                },
                status=400,
            )
        areas = selectors.areas(level, request.query_params.get("parent"))
        return Response(AreaSerializer(areas, many=True).data)


class AreaDetailView(APIView):
    permission_classes = [ADMIN_ONLY_WRITES]

    @extend_schema(responses=AreaSerializer)
    def get(self, request, code):
        return Response(AreaSerializer(get_object_or_404(AdminArea, code=code)).data)

    @extend_schema(request=AreaUpdateSerializer, responses=AreaSerializer)
    def patch(self, request, code):
        area = get_object_or_404(AdminArea, code=code)
        payload = AreaUpdateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        area = services.update_area(request.user, area, name=data.get("name"), geom=data.get("geometry"))
        return Response(AreaSerializer(area).data)


class AreaRefSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    level = serializers.ChoiceField(AdminArea.Level.choices)


class LocatedSerializer(serializers.Serializer):
    geometry = serializers.JSONField(help_text="the input geometry in WGS84")
    areas = AreaRefSerializer(many=True, help_text="areas containing it, city first")


class LocateSerializer(serializers.Serializer):
    geometry = serializers.JSONField(help_text="GeoJSON geometry")
    crs = serializers.CharField(required=False, default="wgs84", help_text=SUPPORTED_CRS_TEXT)


def _located(geom) -> dict:
    return {
        "geometry": json.loads(geom.geojson),
        "areas": [
            {"code": a.code, "name": a.name, "level": a.level}
            for a in selectors.areas_containing(geom.point_on_surface if geom.geom_type != "Point" else geom)
        ],
    }


class LocateView(APIView):
    """Where is this? Converts a position from any supported CRS to WGS84 and names its areas."""

    @extend_schema(
        parameters=[
            OpenApiParameter("lon", float, required=True),
            OpenApiParameter("lat", float, required=True),
            OpenApiParameter("crs", str, description=SUPPORTED_CRS_TEXT),
        ],
        responses=LocatedSerializer,
    )
    def get(self, request):
        params = request.query_params
        return Response(_located(parse_point(params.get("lon"), params.get("lat"), params.get("crs"))))

    @extend_schema(request=LocateSerializer, responses=LocatedSerializer)
    def post(self, request):
        payload = LocateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        crs = parse_crs(payload.validated_data["crs"])
        return Response(_located(parse_geometry(payload.validated_data["geometry"], crs)))


class OrganisationRefSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()


class MeSerializer(serializers.Serializer):
    username = serializers.CharField()
    name = serializers.CharField()
    roles = serializers.ListField(child=serializers.CharField())
    organisation = OrganisationRefSerializer(allow_null=True)
    topics = serializers.ListField(child=serializers.CharField(), help_text="live topics this user may subscribe to")


class MeView(APIView):
    @extend_schema(responses=MeSerializer)
    def get(self, request):
        user = request.user
        org = user.organisation
        return Response(
            {
                "username": user.username,
                "name": user.display_name,
                "roles": sorted(user.role_names),
                "organisation": {"code": org.code, "name": org.name} if org else None,
                "topics": sorted(Viewer.for_user(user).allowed_topics()),
            }
        )


class HealthComponentSerializer(serializers.Serializer):
    name = serializers.ChoiceField(choices=health.COMPONENTS)
    label = serializers.CharField(help_text="the component's name in the user's language")
    status = serializers.ChoiceField(
        choices=[health.UP, health.DEGRADED, health.DOWN, health.UNKNOWN],
        help_text="unknown: its heartbeat could not be read (Redis down)",
    )
    detail = serializers.CharField(allow_blank=True, help_text="why it is not up, for people")


class HealthStandbySerializer(serializers.Serializer):
    name = serializers.CharField(help_text="application_name of the standby (pg_stat_replication)")
    state = serializers.CharField()
    sync_state = serializers.CharField(help_text="sync, async, potential or quorum")
    lag_seconds = serializers.FloatField(allow_null=True, help_text="replay lag")


class HealthSerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=[health.UP, health.DEGRADED, health.DOWN], help_text="the worst of the components' statuses"
    )
    components = HealthComponentSerializer(many=True)
    standbys = HealthStandbySerializer(many=True, help_text="empty when the database has no standby")
    replication_lag_seconds = serializers.FloatField(allow_null=True, help_text="the largest standby replay lag")
    gps_fixes_total = serializers.IntegerField(allow_null=True, help_text="GPS fixes stored since Redis started")
    gps_fixes_per_second = serializers.FloatField(allow_null=True, help_text="ingest rate over the last minute")
    consoles_connected = serializers.IntegerField(allow_null=True, help_text="live-feed WebSocket consoles open")
    events_published_total = serializers.IntegerField(allow_null=True, help_text="the event log's head seq")
    at = serializers.FloatField(help_text="when it was read (Unix time)")


class HealthView(APIView):
    """The system-health panel's data (the wall and the admin page 系统状态 show the same reading):

    `status` and each of `components` (database, redis, gps_ingest, case_timers) is up, degraded or down (a
    heartbeat component is unknown while Redis is down); `standbys` and `replication_lag_seconds` describe
    PostgreSQL replication; the figures are null when their store (Redis or PostgreSQL) is down. Poll it every few
    seconds; a component turning down is also announced on the live feed (alarms: system.component_down / _up).
    """

    permission_classes = [roles_required(Role.ADMIN, read_roles=(Role.OPERATOR, Role.LEADER, Role.ADMIN))]

    @extend_schema(responses=HealthSerializer)
    def get(self, request):
        return Response(HealthSerializer(health.read().as_dict()).data)
