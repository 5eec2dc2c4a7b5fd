"""Pipelines REST API (mounted at /api/pipelines/): networks, burst isolation, repair orders, valves, topology."""

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from core.geo import SUPPORTED_CRS_TEXT, parse_crs, parse_geometry, parse_point
from core.models import Role
from core.permissions import roles_required

from . import printing, selectors, services
from .models import Network, RepairOrder, Utility, Valve
from .selectors import PipelineInputError

VIEW_ROLES = (Role.PLANNER, Role.OPERATOR, Role.CALL_TAKER, Role.LEADER, Role.ADMIN)
# Isolation is an analysis: a POST that changes nothing, open to everyone who may look at the network.
ANALYSIS = roles_required(*VIEW_ROLES, read_roles=VIEW_ROLES)
REPAIR_ORDER_WRITERS = roles_required(Role.OPERATOR, Role.CALL_TAKER, Role.ADMIN, read_roles=VIEW_ROLES)
VALVE_WRITERS = roles_required(Role.OPERATOR, Role.ADMIN, read_roles=VIEW_ROLES)


def _validated(serializer_class, data) -> dict:
    """Validate with a DRF serializer but answer in the shared {"error", "field", "detail"} shape."""
    payload = serializer_class(data=data)
    if payload.is_valid():
        return payload.validated_data
    field, problems = next(iter(payload.errors.items()))
    while isinstance(problems, dict):  # list fields report {index: [messages]}
        index, problems = next(iter(problems.items()))
        field = f"{field}[{index}]"
    raise PipelineInputError(field, " ".join(str(problem) for problem in problems))


class NetworkSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()
    utility = serializers.ChoiceField(Utility.choices)
    owner = serializers.CharField(source="owner.name")
    version = serializers.IntegerField()


class NetworkListView(APIView):
    permission_classes = [ANALYSIS]

    @extend_schema(responses=NetworkSerializer(many=True))
    def get(self, request):
        return Response(NetworkSerializer(selectors.networks(), many=True).data)


class BurstRequestSerializer(serializers.Serializer):
    network = serializers.CharField(required=False, help_text="network id or code")
    utility = serializers.ChoiceField(Utility.choices, required=False, help_text="instead of network: its only one")
    pipe = serializers.IntegerField(required=False, help_text="id of the burst pipe")
    point = serializers.JSONField(required=False, help_text="GeoJSON Point of the burst")
    lon = serializers.FloatField(required=False)
    lat = serializers.FloatField(required=False)
    crs = serializers.CharField(required=False, default="wgs84", help_text=SUPPORTED_CRS_TEXT)
    tolerance_m = serializers.FloatField(
        required=False, default=selectors.DEFAULT_TOLERANCE_M, min_value=0.1, max_value=1000,
        help_text="how far from the point the nearest pipe may be (metres)",
    )  # fmt: skip
    failed_valves = serializers.ListField(
        child=serializers.IntegerField(), required=False, default=list, help_text="valve ids that will not close"
    )


def _burst(data: dict) -> selectors.Burst:
    crs = parse_crs(data["crs"])
    network = data.get("network")
    network = int(network) if network and network.isascii() and network.isdecimal() else network
    network = selectors.resolve_network(network, data.get("utility"))
    given = [name for name in ("pipe", "point") if name in data]
    if "lon" in data or "lat" in data:
        given.append("lon/lat")
    if len(given) != 1:
        raise PipelineInputError("point", "give exactly one of 'pipe', 'point' or 'lon' and 'lat'")
    if "pipe" in data:
        return selectors.locate_burst(network, pipe_id=data["pipe"])
    if "point" in data:
        point = parse_geometry(data["point"], crs, field="point")
        if point.geom_type != "Point":
            raise PipelineInputError("point", f"must be a GeoJSON Point, not {point.geom_type}")
    else:
        point = parse_point(data.get("lon"), data.get("lat"), crs)
    return selectors.locate_burst(network, point=point, tolerance_m=data["tolerance_m"])


class IsolationView(APIView):
    """爆管关阀分析: the valves to close for a burst, what goes dry, and who loses supply.

    Answer: `valves_to_close` (in closing order, each with `order`, `far_side`, `distance_m`, `unverified`,
    a GeoJSON point), `closed_boundary_valves`, `isolated` and `outage` (length, counts and the pipes as a
    FeatureCollection), `total_length_m`, and `customers` (sensitive first; `cause` isolated or outage).
    """

    permission_classes = [ANALYSIS]

    @extend_schema(request=BurstRequestSerializer, responses=OpenApiTypes.OBJECT)
    def post(self, request):
        data = _validated(BurstRequestSerializer, request.data)
        return Response(selectors.isolation_result(_burst(data), data["failed_valves"]))


class RepairOrderRequestSerializer(BurstRequestSerializer):
    incident_ref = serializers.CharField(required=False, allow_blank=True, max_length=64)
    notes = serializers.CharField(required=False, allow_blank=True, default="")


def _order_json(order: RepairOrder) -> dict:
    user = order.created_by
    return {
        "number": order.number,
        "status": order.status,
        "network": {"id": order.network_id, "code": order.network.code, "name": order.network.name},
        "burst_pipe": {"id": order.burst_pipe_id, "code": order.burst_pipe.code},
        "burst_point": {"type": "Point", "coordinates": list(order.burst_point.coords)},
        "network_version": order.network_version,
        "valves_to_close": order.valves_to_close,
        "failed_valves": order.failed_valves,
        "incident_ref": order.incident_ref,
        "notes": order.notes,
        "created_by": (user.get_full_name() or user.username) if user else None,
        "created_at": timezone.localtime(order.created_at).isoformat(),
        "print_url": reverse("pipelines-repair-order-print", args=[order.number]),
        "isolation": order.isolation,
    }


class RepairOrderListView(APIView):
    """Create a numbered repair order (抢修单) from a burst: same input as isolation, plus incident_ref, notes."""

    permission_classes = [REPAIR_ORDER_WRITERS]

    @extend_schema(request=RepairOrderRequestSerializer, responses={201: OpenApiTypes.OBJECT})
    def post(self, request):
        data = _validated(RepairOrderRequestSerializer, request.data)
        order = services.create_repair_order(
            request.user,
            _burst(data),
            failed_valves=data["failed_valves"],
            incident_ref=data.get("incident_ref"),
            notes=data["notes"],
        )
        return Response(_order_json(order), status=status.HTTP_201_CREATED)


class RepairOrderDetailView(APIView):
    permission_classes = [REPAIR_ORDER_WRITERS]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, number):
        order = selectors.repair_order(number)
        if order is None:
            return Response({"error": "not_found", "detail": f"no repair order {number}"}, status=404)
        return Response(_order_json(order))


class RepairOrderPrintView(APIView):
    """The printable repair order (HTML, A4, Chinese), with the burst drawn as inline SVG."""

    permission_classes = [REPAIR_ORDER_WRITERS]

    @extend_schema(responses={(200, "text/html"): OpenApiTypes.STR})
    def get(self, request, number):
        order = selectors.repair_order(number)
        if order is None:
            return Response({"error": "not_found", "detail": f"no repair order {number}"}, status=404)
        html = render_to_string("pipelines_mgmt/repair_order.html", printing.repair_order_context(order), request)
        return HttpResponse(html, content_type="text/html; charset=utf-8")


class ValveUpdateSerializer(serializers.Serializer):
    normal_state = serializers.ChoiceField(Valve.NormalState.choices, required=False)
    operability = serializers.ChoiceField(Valve.Operability.choices, required=False)


class ValveDetailView(APIView):
    """A valve; PATCH records a field report (normal position or operability) and re-keys the graph."""

    permission_classes = [VALVE_WRITERS]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, pk):
        return Response(services.valve_feature(get_object_or_404(Valve.objects.select_related("pipe__network"), pk=pk)))

    @extend_schema(request=ValveUpdateSerializer, responses=OpenApiTypes.OBJECT)
    def patch(self, request, pk):
        valve = get_object_or_404(Valve.objects.select_related("pipe__network"), pk=pk)
        data = _validated(ValveUpdateSerializer, request.data)
        valve = services.set_valve_state(request.user, valve, **data)
        return Response(services.valve_feature(valve))


class TopologyView(APIView):
    """Topology report of one network: dangling ends, near-misses, duplicates, islands, valves, no source."""

    permission_classes = [ANALYSIS]

    @extend_schema(
        parameters=[OpenApiParameter("tolerance_m", float, description="snap tolerance in metres (default 1)")],
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request, code):
        network = get_object_or_404(Network, code=code)
        try:
            tolerance = float(request.query_params.get("tolerance_m", 1.0))
        except ValueError:
            tolerance = -1.0
        if not 0 < tolerance <= 100:
            raise PipelineInputError("tolerance_m", "tolerance_m must be a number of metres, above 0 and at most 100")
        return Response(selectors.topology_report(network, tolerance))
