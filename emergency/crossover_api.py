"""REST API of 平战结合 under /api/emergency/: escalate a case into an incident, spawn an incident's follow-up
cases, and read the links of either. A case is reached through grid's row rule (``visible_cases``), an incident
through dispatch's (``visible_incident``): one the user may not see is a 404, as if it did not exist."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api_errors import validated
from core.api_schema import LIST_OF_OBJECTS
from core.geo import parse_crs, parse_geojson_point
from core.models import Role
from core.permissions import roles_required
from core.realtime import TOPIC_ROLES
from dispatch.api import incident_or_404
from dispatch.models import IncidentType
from dispatch.selectors import incident_types
from grid.models import Case
from grid.selectors import CASE_ROLES, visible_cases

from . import crossover

ESCALATORS = (Role.GRID_DISPATCHER, Role.OPERATOR, Role.CALL_TAKER, Role.ADMIN)
CASE_LINKS = roles_required(*ESCALATORS, read_roles=CASE_ROLES)
FOLLOW_UP_ROLES = (Role.OPERATOR, Role.CALL_TAKER, Role.ADMIN)
INCIDENT_LINKS = roles_required(*FOLLOW_UP_ROLES, read_roles=tuple(TOPIC_ROLES["incidents"]))


def _case(request, number: str) -> Case:
    case = visible_cases(request.user).filter(number=number).select_related("category", "reporter").first()
    if case is None:
        raise NotFound(f"no case {number} visible to you")
    return case


class EscalationSerializer(serializers.Serializer):
    incident_type = serializers.SlugRelatedField(slug_field="code", queryset=IncidentType.objects.filter(active=True))
    priority = serializers.IntegerField(min_value=1, max_value=4, required=False, allow_null=True, default=None)
    note = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class FollowUpSerializer(serializers.Serializer):
    category_code = serializers.CharField(max_length=8)
    description = serializers.CharField(max_length=2000)
    location = serializers.JSONField(required=False, allow_null=True, default=None, help_text="GeoJSON Point")
    crs = serializers.CharField(required=False, default="wgs84")


class EscalationTypesView(APIView):
    """The incident types a case can be escalated to (the dialog's choices), for the roles that may escalate."""

    permission_classes = [roles_required(*ESCALATORS, read_roles=ESCALATORS)]

    @extend_schema(responses=LIST_OF_OBJECTS)
    def get(self, request):
        return Response(incident_types())


class CaseEscalateView(APIView):
    """POST {incident_type (code), priority 1–4 (default: the type's), note}: the case becomes a new incident (201);
    a case escalated before is a 409 naming its incident."""

    permission_classes = [roles_required(*ESCALATORS)]

    @extend_schema(request=EscalationSerializer, responses={201: OpenApiTypes.OBJECT, 409: OpenApiTypes.OBJECT})
    def post(self, request, number):
        case = _case(request, number)
        data = validated(EscalationSerializer, request.data)
        incident = crossover.escalate_case(
            request.user, case, incident_type=data["incident_type"], priority=data["priority"], note=data["note"]
        )
        return Response({"incident": {"id": incident.pk, "number": incident.number}}, status=201)


class CaseLinksView(APIView):
    """The incidents linked to a case, and whether this user may escalate it now."""

    permission_classes = [CASE_LINKS]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, number):
        case = _case(request, number)
        links = crossover.case_links(request.user, case)
        escalated = any(link["kind"] == "escalation" for link in links)
        return Response(
            {
                "case": {"id": case.pk, "number": case.number},
                "links": links,
                "can_escalate": request.user.has_role(*ESCALATORS) and not escalated,
            }
        )


class FollowUpCasesView(APIView):
    """POST {category_code, description, location (GeoJSON Point, default: the incident's), crs}: a follow-up case
    in the case centre's queue (201), linked to the incident."""

    permission_classes = [INCIDENT_LINKS]

    @extend_schema(request=FollowUpSerializer, responses={201: OpenApiTypes.OBJECT})
    def post(self, request, pk):
        incident = incident_or_404(request, pk)
        data = validated(FollowUpSerializer, request.data)
        point = None
        if data["location"] is not None:
            point = parse_geojson_point(data["location"], parse_crs(data["crs"]))
        case = crossover.spawn_follow_up(
            request.user, incident, category_code=data["category_code"], description=data["description"], point=point
        )
        return Response({"case": {"id": case.pk, "number": case.number, "stage": case.stage}}, status=201)


class IncidentLinksView(APIView):
    """The cases linked to an incident: the case it was escalated from and its follow-up cases, with their stage."""

    permission_classes = [INCIDENT_LINKS]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, pk):
        incident = incident_or_404(request, pk)
        return Response(
            {
                "incident": {"id": incident.pk, "number": incident.number},
                "links": crossover.incident_links(request.user, incident),
                "can_follow_up": request.user.has_role(*FOLLOW_UP_ROLES),
            }
        )
