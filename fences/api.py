"""Fences REST API under /api/fences/: fences (GeoJSON) with their rules, for the /fences/ screen and the maps."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api_errors import validated
from core.errors import InputError
from core.geo import SUPPORTED_CRS_TEXT, parse_crs, parse_geometry
from core.models import Organisation, Role
from core.permissions import roles_required
from core.realtime import Viewer
from dispatch.models import Vehicle, VehicleGroup
from dispatch.selectors import CITY_WIDE, visible_units

from . import selectors, services
from .models import Fence, Rule

EDITORS = roles_required(
    Role.OPERATOR, Role.ADMIN, read_roles=(Role.OPERATOR, Role.CALL_TAKER, Role.LEADER, Role.ADMIN)
)


class FenceSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=128)
    shape = serializers.ChoiceField(Fence.Shape.values)
    geometry = serializers.JSONField(
        help_text="GeoJSON: a Polygon, the circle's centre Point, the corridor's LineString"
    )
    radius_m = serializers.FloatField(required=False, allow_null=True, default=None)
    note = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")
    crs = serializers.CharField(required=False, default="wgs84", help_text=SUPPORTED_CRS_TEXT)
    organisation_id = serializers.IntegerField(required=False, help_text="default: your organisation")


class RuleSerializer(serializers.Serializer):
    target = serializers.ChoiceField(Rule.Target.values, default=Rule.Target.ALL)
    vehicle_id = serializers.IntegerField(required=False, allow_null=True, default=None)
    vehicle_kind = serializers.ChoiceField(Vehicle.Kind.values, required=False, allow_blank=True, default="")
    group_id = serializers.IntegerField(required=False, allow_null=True, default=None)
    trigger = serializers.ChoiceField(Rule.Trigger.values)
    threshold = serializers.FloatField(required=False, allow_null=True, default=None, min_value=0, max_value=10_000)
    calendar = serializers.ListField(child=serializers.DictField(), required=False, default=list, max_length=20)
    active = serializers.BooleanField(required=False, default=True)
    severity = serializers.ChoiceField(Rule.Severity.values, required=False, default=Rule.Severity.WARNING)


def _viewer(request) -> Viewer:
    return Viewer.for_user(request.user)


def _fence_or_404(request, pk: int) -> Fence:
    fence = selectors.visible_fences(_viewer(request)).filter(pk=pk).first()
    if fence is None:
        raise NotFound(f"no fence {pk} visible to you")
    return fence


def _fence_fields(request) -> dict:
    data = validated(FenceSerializer, request.data)
    viewer = _viewer(request)
    org_id = data.get("organisation_id") or request.user.organisation_id
    if org_id is None:
        raise InputError("organisation_id", "you belong to no organisation: name the one that keeps the fence")
    organisation = Organisation.objects.filter(pk=org_id).first()
    if organisation is None or (viewer.org_ids is not None and not viewer.oversees and org_id not in viewer.org_ids):
        raise InputError("organisation_id", f"no organisation {org_id} of yours")
    drawn = parse_geometry(data["geometry"], parse_crs(data["crs"]))
    return {
        "name": data["name"],
        "organisation": organisation,
        "shape": data["shape"],
        "drawn": drawn,
        "radius_m": data["radius_m"],
        "note": data["note"],
    }


def _rule_fields(request) -> dict:
    data = validated(RuleSerializer, request.data)
    viewer = _viewer(request)
    vehicle = group = None
    if data["target"] == Rule.Target.VEHICLE and data["vehicle_id"] is not None:
        vehicle = visible_units(viewer).filter(pk=data["vehicle_id"]).first()
        if vehicle is None:
            raise InputError("vehicle_id", f"no vehicle {data['vehicle_id']} visible to you")
    if data["target"] == Rule.Target.GROUP and data["group_id"] is not None:
        groups = VehicleGroup.objects.all()
        if viewer.org_ids is not None and not viewer.oversees:
            groups = groups.filter(organisation_id__in=viewer.org_ids)
        group = groups.filter(pk=data["group_id"]).first()
        if group is None:
            raise InputError("group_id", f"no vehicle group {data['group_id']} of yours")
    fields = {k: data[k] for k in ("target", "vehicle_kind", "trigger", "threshold", "calendar", "active", "severity")}
    return {**fields, "vehicle": vehicle, "group": group}


def _feature(pk: int) -> dict:
    return selectors.fence_feature(selectors.visible_fences(CITY_WIDE).get(pk=pk))


class FenceListView(APIView):
    """GET: the fences you may see, with their rules (FeatureCollection). POST: draw one."""

    permission_classes = [EDITORS]

    @extend_schema(operation_id="api_fences_list", responses=OpenApiTypes.OBJECT)
    def get(self, request):
        features = [selectors.fence_feature(f) for f in selectors.visible_fences(_viewer(request))]
        return Response({"type": "FeatureCollection", "features": features})

    @extend_schema(request=FenceSerializer, responses={201: OpenApiTypes.OBJECT})
    def post(self, request):
        fence = services.save_fence(request.user, None, **_fence_fields(request))
        return Response(_feature(fence.pk), status=status.HTTP_201_CREATED)


class FenceDetailView(APIView):
    """PUT: redraw or rename a fence. DELETE: remove it with its rules (their open alarms end)."""

    permission_classes = [EDITORS]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, pk):
        return Response(selectors.fence_feature(_fence_or_404(request, pk)))

    @extend_schema(request=FenceSerializer, responses=OpenApiTypes.OBJECT)
    def put(self, request, pk):
        fence = _fence_or_404(request, pk)
        services.save_fence(request.user, fence, **_fence_fields(request))
        return Response(_feature(fence.pk))

    @extend_schema(responses={204: None})
    def delete(self, request, pk):
        services.delete_fence(request.user, _fence_or_404(request, pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


class RuleListView(APIView):
    """POST: attach a rule to the fence."""

    permission_classes = [EDITORS]

    @extend_schema(request=RuleSerializer, responses={201: OpenApiTypes.OBJECT})
    def post(self, request, pk):
        fence = _fence_or_404(request, pk)
        services.save_rule(request.user, fence, None, **_rule_fields(request))
        return Response(_feature(fence.pk), status=status.HTTP_201_CREATED)


class RuleDetailView(APIView):
    """PUT: change a rule. DELETE: remove it (its open alarms end)."""

    permission_classes = [EDITORS]

    def _rule(self, request, pk: int) -> Rule:
        rule = Rule.objects.filter(pk=pk, fence__in=selectors.visible_fences(_viewer(request))).first()
        if rule is None:
            raise NotFound(f"no rule {pk} visible to you")
        return rule

    @extend_schema(request=RuleSerializer, responses=OpenApiTypes.OBJECT)
    def put(self, request, pk):
        rule = self._rule(request, pk)
        services.save_rule(request.user, rule.fence, rule, **_rule_fields(request))
        return Response(_feature(rule.fence_id))

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def delete(self, request, pk):
        rule = self._rule(request, pk)
        services.delete_rule(request.user, rule)
        return Response(_feature(rule.fence_id))


class OptionsView(APIView):
    """What a rule may target: your vehicle groups and vehicles, the vehicle kinds; and the choice labels."""

    permission_classes = [EDITORS]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request):
        viewer = _viewer(request)
        groups = VehicleGroup.objects.all()
        if viewer.org_ids is not None and not viewer.oversees:
            groups = groups.filter(organisation_id__in=viewer.org_ids)
        return Response(
            {
                "groups": [{"id": g.pk, "name": g.name} for g in groups],
                "vehicles": list(visible_units(viewer).values("id", "call_sign", "kind").order_by("call_sign")[:5000]),
                "kinds": [{"code": c, "label": str(label)} for c, label in Vehicle.Kind.choices],
                "shapes": [{"code": c, "label": str(label)} for c, label in Fence.Shape.choices],
                "targets": [{"code": c, "label": str(label)} for c, label in Rule.Target.choices],
                "triggers": [{"code": c, "label": str(label)} for c, label in Rule.Trigger.choices],
                "severities": [{"code": c, "label": str(label)} for c, label in Rule.Severity.choices],
            }
        )
