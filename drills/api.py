"""Drills API under /api/drills/: scenarios, drills started and followed, finished. For the command centre."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api_errors import validated
from core.api_schema import LIST_OF_OBJECTS
from core.geo import parse_geojson_point
from core.models import Role
from core.permissions import roles_required

from . import selectors, services
from .models import Drill, Scenario

DRILL_ROLES = roles_required(Role.OPERATOR, Role.ADMIN, read_roles=(Role.OPERATOR, Role.ADMIN, Role.LEADER))


class ScenarioSerializer(serializers.Serializer):
    code = serializers.SlugField(max_length=48)
    name = serializers.CharField(max_length=128)
    description = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    steps = serializers.JSONField()
    place = serializers.JSONField()


class ScenarioListView(APIView):
    permission_classes = [DRILL_ROLES]

    @extend_schema(responses=LIST_OF_OBJECTS)
    def get(self, request):
        return Response(selectors.scenarios())

    @extend_schema(request=ScenarioSerializer, responses={201: OpenApiTypes.OBJECT})
    def post(self, request):
        data = validated(ScenarioSerializer, request.data)
        scenario = services.save_scenario(
            request.user,
            code=data["code"],
            name=data["name"],
            steps=data["steps"],
            place=parse_geojson_point(data["place"], field="place"),
            description=data["description"],
        )
        return Response(selectors.scenario_json(scenario), status=201)


class StartSerializer(serializers.Serializer):
    scenario = serializers.SlugRelatedField(slug_field="code", queryset=Scenario.objects.all())
    place = serializers.JSONField(required=False)


class DrillListView(APIView):
    """GET: the latest drills; POST: start one ({scenario: code, place?: GeoJSON Point})."""

    permission_classes = [DRILL_ROLES]

    @extend_schema(operation_id="api_drills_list", responses=LIST_OF_OBJECTS)
    def get(self, request):
        return Response(selectors.drills())

    @extend_schema(request=StartSerializer, responses={201: OpenApiTypes.OBJECT})
    def post(self, request):
        data = validated(StartSerializer, request.data)
        place = parse_geojson_point(data["place"], field="place") if data.get("place") is not None else None
        drill = services.start(request.user, data["scenario"], place)
        return Response(selectors.drill_json(drill), status=201)


def _drill(pk: int) -> Drill:
    drill = Drill.objects.select_related("scenario", "incident").filter(pk=pk).first()
    if drill is None:
        raise NotFound(f"no drill {pk}")
    return drill


class DrillDetailView(APIView):
    permission_classes = [DRILL_ROLES]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, pk):
        return Response(selectors.drill_json(_drill(pk), report=True))


class DrillFinishView(APIView):
    permission_classes = [DRILL_ROLES]

    @extend_schema(request=None, responses={200: OpenApiTypes.OBJECT, 409: OpenApiTypes.OBJECT})
    def post(self, request, pk):
        drill = services.finish(request.user, _drill(pk))
        return Response(selectors.drill_json(drill, report=True))
