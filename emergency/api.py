"""REST API of response plans under /api/emergency/: plans and their versions, and per incident the suggestion,
the activation, level changes, plan actions and the after-action report. An incident is reached through dispatch's
row rule: one the user may not see is a 404 here too."""

from datetime import time

from django.contrib.gis.geos import MultiPolygon
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api_errors import validated
from core.api_schema import LIST_OF_OBJECTS
from core.errors import InputError
from core.geo import parse_geometry
from core.models import AdminArea, Role
from core.permissions import roles_required
from core.realtime import TOPIC_ROLES, Viewer
from dispatch.api import incident_or_404
from dispatch.models import Incident, IncidentType

from . import selectors, services
from .models import ResponsePlan

INCIDENT_READERS = tuple(TOPIC_ROLES["incidents"])
RESPONDERS = roles_required(Role.OPERATOR, Role.CALL_TAKER, Role.LEADER, Role.ADMIN, read_roles=INCIDENT_READERS)
PLAN_AUTHORS = roles_required(Role.OPERATOR, Role.ADMIN, read_roles=INCIDENT_READERS)


def _activation(incident: Incident):
    activation = selectors.activation_of(incident)
    if activation is None:
        raise NotFound(f"no plan is active on incident {incident.number}")
    return activation


class PlanSerializer(serializers.Serializer):
    code = serializers.SlugField(max_length=48)
    name = serializers.CharField(max_length=128)
    incident_type = serializers.SlugRelatedField(slug_field="code", queryset=IncidentType.objects.all())
    district = serializers.SlugRelatedField(
        slug_field="code", queryset=AdminArea.objects.filter(level=AdminArea.Level.DISTRICT), required=False,
        allow_null=True,
    )  # fmt: skip
    zone = serializers.JSONField(required=False, allow_null=True)
    hours = serializers.ListField(child=serializers.TimeField(), min_length=2, max_length=2, required=False)
    rank = serializers.IntegerField(min_value=-100, max_value=100, default=0)
    affected_radius_m = serializers.IntegerField(min_value=10, max_value=50_000, default=500)
    levels = serializers.JSONField()
    note = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")


def _zone(value):
    if value is None:
        return None
    zone = parse_geometry(value, field="zone")
    if zone.geom_type == "Polygon":
        zone = MultiPolygon(zone, srid=zone.srid)
    if zone.geom_type != "MultiPolygon":
        raise InputError("zone", "must be a Polygon or MultiPolygon")
    return zone


class PlanListView(APIView):
    """GET: the current version of every plan (?incident_type=); POST: a plan's next version (admin, operator)."""

    permission_classes = [PLAN_AUTHORS]

    @extend_schema(responses=LIST_OF_OBJECTS)
    def get(self, request):
        return Response(selectors.plans_list(request.query_params.get("incident_type")))

    @extend_schema(request=PlanSerializer, responses={201: OpenApiTypes.OBJECT})
    def post(self, request):
        data = validated(PlanSerializer, request.data)
        hours: list[time] | None = data.get("hours")
        plan = services.save_plan(
            request.user,
            code=data["code"],
            name=data["name"],
            incident_type=data["incident_type"],
            levels=data["levels"],
            district=data.get("district"),
            zone=_zone(data.get("zone")),
            hours=tuple(hours) if hours else None,
            rank=data["rank"],
            affected_radius_m=data["affected_radius_m"],
            note=data["note"],
        )
        return Response(selectors.plan_json(plan), status=201)


class PlanVersionsView(APIView):
    permission_classes = [PLAN_AUTHORS]

    @extend_schema(responses=LIST_OF_OBJECTS)
    def get(self, request, code):
        versions = selectors.plan_versions(code)
        if not versions:
            raise NotFound(f"no plan {code}")
        return Response(versions)


class SuggestionView(APIView):
    permission_classes = [RESPONDERS]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, pk):
        return Response(selectors.suggestion(incident_or_404(request, pk)))


class ActivateSerializer(serializers.Serializer):
    plan = serializers.PrimaryKeyRelatedField(queryset=ResponsePlan.objects.all())
    level = serializers.IntegerField(min_value=1, max_value=4)
    reason = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")


class ActivationView(APIView):
    """GET: the plan in force on the incident ({"active": true, …}), else the suggestion ({"active": false,
    "suggestion"}); POST: activate one (the operator confirms)."""

    permission_classes = [RESPONDERS]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, pk):
        incident = incident_or_404(request, pk)
        activation = selectors.activation_of(incident)
        if activation is None:  # not an error: the console shows the suggestion instead
            return Response({"active": False, "suggestion": selectors.suggestion(incident)})
        return Response({"active": True, **selectors.activation_json(activation)})

    @extend_schema(request=ActivateSerializer, responses={201: OpenApiTypes.OBJECT, 409: OpenApiTypes.OBJECT})
    def post(self, request, pk):
        incident = incident_or_404(request, pk)
        data = validated(ActivateSerializer, request.data)
        activation = services.activate(request.user, incident, plan=data["plan"], level=data["level"],
                                       reason=data["reason"])  # fmt: skip
        return Response(selectors.activation_json(activation), status=201)


class SurroundingsView(APIView):
    """What the level in force stages, with the nearest qualifying resources by road time, and the hazard sources
    near the incident, as this user may see them (road searches: read when the level changes, not polled)."""

    permission_classes = [RESPONDERS]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, pk):
        activation = _activation(incident_or_404(request, pk))
        return Response(selectors.surroundings(Viewer.for_user(request.user), activation))


class LevelSerializer(serializers.Serializer):
    level = serializers.IntegerField(min_value=1, max_value=4)
    reason = serializers.CharField(max_length=255)


class LevelView(APIView):
    permission_classes = [RESPONDERS]

    @extend_schema(request=LevelSerializer, responses={200: OpenApiTypes.OBJECT, 409: OpenApiTypes.OBJECT})
    def post(self, request, pk):
        incident = incident_or_404(request, pk)
        data = validated(LevelSerializer, request.data)
        activation = services.change_level(request.user, incident, level=data["level"], reason=data["reason"])
        return Response(selectors.activation_json(activation))


class ActionDoneSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")


class ActionDoneView(APIView):
    permission_classes = [RESPONDERS]

    @extend_schema(request=ActionDoneSerializer, responses={200: OpenApiTypes.OBJECT, 409: OpenApiTypes.OBJECT})
    def post(self, request, pk, item):
        incident = incident_or_404(request, pk)
        data = validated(ActionDoneSerializer, request.data)
        services.complete_action(request.user, incident, item, data["note"])
        return Response(selectors.activation_json(_activation(incident)))


class AfterActionView(APIView):
    permission_classes = [RESPONDERS]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, pk):
        incident = incident_or_404(request, pk)
        return Response(selectors.after_action(incident, _activation(incident)))
