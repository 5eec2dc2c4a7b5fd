"""Pipelines REST API (mounted at /api/pipelines/): networks, burst isolation, repair orders, valves, topology."""

from urllib.parse import quote

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from core import limits, uploads
from core.api_errors import validated
from core.api_schema import LIST_OF_OBJECTS
from core.errors import InputError
from core.geo import SUPPORTED_CRS_TEXT, parse_crs, parse_geojson_point, parse_point
from core.geojson_fields import FeatureCollectionField, GeometryField
from core.models import Organisation, Role
from core.permissions import roles_required
from core.realtime import Viewer
from core.security_log import source_of
from core.services import record_audit

from . import gis_import, outage_notice, planning, printing, selectors, services, survey_import
from .models import Network, RepairOrder, Utility, Valve
from .selectors import PipelineInputError

VIEW_ROLES = (Role.PLANNER, Role.OPERATOR, Role.CALL_TAKER, Role.LEADER, Role.ADMIN)
# Isolation is an analysis: a POST that changes nothing, open to everyone who may look at the network.
ANALYSIS = roles_required(*VIEW_ROLES, read_roles=VIEW_ROLES)
REPAIR_ORDER_ROLES = (Role.OPERATOR, Role.CALL_TAKER, Role.ADMIN)
REPAIR_ORDER_WRITERS = roles_required(*REPAIR_ORDER_ROLES, read_roles=VIEW_ROLES)
VALVE_WRITERS = roles_required(Role.OPERATOR, Role.ADMIN, read_roles=VIEW_ROLES)
# A utility's repair crew (抢修班组, Role.CREW) reads its own orders and reports its progress on them; it opens none.
ORDER_READERS = roles_required(*REPAIR_ORDER_ROLES, read_roles=(*VIEW_ROLES, Role.CREW))
CREW_REPORTS = roles_required(*REPAIR_ORDER_ROLES, Role.CREW, read_roles=(*VIEW_ROLES, Role.CREW))
NETWORK_IMPORTERS = roles_required(Role.ADMIN, Role.PLANNER, read_roles=VIEW_ROLES)


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
        point = parse_geojson_point(data["point"], crs, field="point")
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
        data = validated(BurstRequestSerializer, request.data)
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
        "created_by": user.display_name if user else None,
        "created_at": timezone.localtime(order.created_at).isoformat(),
        "incident_id": order.incident_id,
        "print_url": reverse("pipelines-repair-order-print", args=[order.number]),
        "pdf_url": reverse("pipelines-repair-order-pdf", args=[order.number]),
        "isolation": order.isolation,
    }


def _scope(user) -> frozenset[int] | None:
    """The row rule of repair orders: the command centre's roles see every order, a crew its utility's only."""
    return None if user.has_role(*REPAIR_ORDER_ROLES, *VIEW_ROLES) else Viewer.for_user(user).org_ids


def _not_found(number: str) -> Response:
    return Response({"error": "not_found", "detail": f"no repair order {number}"}, status=404)


def _visible_order(request, number: str) -> RepairOrder | None:
    return selectors.repair_orders_for(_scope(request.user)).filter(number=number).first()


class RepairOrderListView(APIView):
    """GET: the repair orders the user may work on (a crew: its utility's), under way unless ?finished=1.
    POST: create a numbered repair order (抢修单) from a burst: same input as isolation, plus incident_ref, notes."""

    permission_classes = [ORDER_READERS]

    @extend_schema(
        operation_id="api_pipelines_repair_orders_list",
        parameters=[OpenApiParameter("finished", bool, description="also restored and cancelled orders")],
        responses=LIST_OF_OBJECTS,
    )
    def get(self, request):
        finished = request.query_params.get("finished", "0")
        if finished not in ("0", "1"):
            raise InputError("finished", "0 or 1")
        return Response(selectors.repair_order_list(_scope(request.user), finished=finished == "1"))

    @extend_schema(request=RepairOrderRequestSerializer, responses={201: OpenApiTypes.OBJECT})
    def post(self, request):
        data = validated(RepairOrderRequestSerializer, request.data)
        order = services.create_repair_order(
            request.user,
            _burst(data),
            failed_valves=data["failed_valves"],
            incident_ref=data.get("incident_ref"),
            notes=data["notes"],
        )
        return Response(_order_json(order), status=status.HTTP_201_CREATED)


class RepairOrderDetailView(APIView):
    permission_classes = [ORDER_READERS]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, number):
        order = _visible_order(request, number)
        if order is None:
            return _not_found(number)
        return Response(_order_json(order))


class RepairOrderMapSerializer(serializers.Serializer):
    """A repair order as every map draws it (selectors.repair_order_map): the one declaration of that shape."""

    number = serializers.CharField()
    status = serializers.ChoiceField(RepairOrder.Status.choices)
    status_label = serializers.CharField()
    utility = serializers.ChoiceField(Utility.choices)
    network = serializers.CharField()
    burst_point = GeometryField(help_text="GeoJSON Point, WGS84")
    customer_count = serializers.IntegerField(min_value=0)
    sensitive_customer_count = serializers.IntegerField(min_value=0)
    valve_count = serializers.IntegerField(min_value=0)
    closed_valve_count = serializers.IntegerField(min_value=0)
    pipes = FeatureCollectionField(
        help_text="pipes shut in or without supply; properties: code, diameter_mm, material, length_m, "
        "cause (isolated | outage)"
    )
    valves = FeatureCollectionField(
        help_text="valves to close (points); properties: code, order, far_side, unverified, closed"
    )
    customers = FeatureCollectionField(
        help_text="customers cut off (points); properties: name, type, sensitive, cause, address"
    )
    address = serializers.CharField(allow_null=True, help_text="the address nearest the burst")
    outage_ended = serializers.BooleanField(help_text="supply restored or order cancelled: no pipes or customers")
    record = serializers.DictField(
        help_text="抢修记录: isolating_at, isolated_at, repaired_at, restored_at, duration_s, crew, valves_closed, "
        "valves_failed (codes), log [{at, by, action, valve, code}]"
    )


class RepairOrderNotifyCustomersView(APIView):
    """停水停气通知: text the customers the order's isolation cuts off, sensitive ones first (SMS, in the background).
    Idempotent: asking again texts only customers not texted before. Follow the deliveries at
    /api/notify/notifications/<notification_id>/."""

    permission_classes = [REPAIR_ORDER_WRITERS]

    @extend_schema(request=None, responses=OpenApiTypes.OBJECT)
    def post(self, request, number):
        order = selectors.repair_order(number)
        if order is None:
            return Response({"error": "not_found", "detail": f"no repair order {number}"}, status=404)
        notification, customers = outage_notice.notify_customers(request.user, order)
        return Response({"notification_id": notification.pk if notification else None, "customers": customers})


class ValveClosedSerializer(serializers.Serializer):
    valve = serializers.IntegerField(help_text="id of a valve in the order's valves to close")


class RepairOrderMapView(APIView):
    """The order as maps draw it, with the crew's progress and the repair record (the crew app's view of it)."""

    permission_classes = [ORDER_READERS]

    @extend_schema(responses=RepairOrderMapSerializer)
    def get(self, request, number):
        order = _visible_order(request, number)
        return _not_found(number) if order is None else Response(selectors.repair_order_map(order))


class CrewReportView(APIView):
    """A crew's report on an order it may see (any other is 404): the input checked by `serializer`, the change made
    by `report`, the order's map answered (and every console and situation map follows live)."""

    permission_classes = [CREW_REPORTS]
    serializer = ValveClosedSerializer

    def report(self, user, number: str, data: dict) -> RepairOrder:
        raise NotImplementedError

    def post(self, request, number):
        if _visible_order(request, number) is None:
            return _not_found(number)
        data = validated(self.serializer, request.data)
        return Response(selectors.repair_order_map(self.report(request.user, number, data)))


@extend_schema(request=ValveClosedSerializer, responses=RepairOrderMapSerializer)
class RepairOrderValveClosedView(CrewReportView):
    """The crew reports a valve of the plan closed (idempotent); consoles and situation maps update live."""

    def report(self, user, number, data):
        return services.report_valve_closed(user, number, data["valve"])


@extend_schema(request=ValveClosedSerializer, responses=RepairOrderMapSerializer)
class RepairOrderValveFailedView(CrewReportView):
    """关不上: the crew reports a valve of the plan that will not close (idempotent). The isolation is planned again
    past it at once: the answer (and every map, live) has the new valves to close, pipes and customers."""

    def report(self, user, number, data):
        return services.report_valve_failed(user, number, data["valve"])


class RepairOrderStepSerializer(serializers.Serializer):
    step = serializers.ChoiceField(list(services.CREW_STEPS), help_text="isolated → repaired → restored")


@extend_schema(request=RepairOrderStepSerializer, responses=RepairOrderMapSerializer)
class RepairOrderStepView(CrewReportView):
    """已隔离 / 已修复 / 已恢复供应: the crew's next step (409 naming the order's current state if it does not fit)."""

    serializer = RepairOrderStepSerializer

    def report(self, user, number, data):
        return services.advance_repair_order(user, number, data["step"])


class RepairOrderPrintView(APIView):
    """The printable repair order (HTML, A4, Chinese), with the burst drawn as inline SVG."""

    permission_classes = [REPAIR_ORDER_WRITERS]

    @extend_schema(responses={(200, "text/html"): OpenApiTypes.STR})
    def get(self, request, number):
        order = selectors.repair_order(number)
        if order is None:
            return Response({"error": "not_found", "detail": f"no repair order {number}"}, status=404)
        return HttpResponse(printing.repair_order_html(order, request), content_type="text/html; charset=utf-8")


class RepairOrderPdfView(APIView):
    """The repair order as an A4 PDF: the print page rendered server-side (WeasyPrint), map included."""

    permission_classes = [REPAIR_ORDER_WRITERS]

    @extend_schema(responses={(200, "application/pdf"): OpenApiTypes.BINARY})
    def get(self, request, number):
        order = selectors.repair_order(number)
        if order is None:
            return Response({"error": "not_found", "detail": f"no repair order {number}"}, status=404)
        with limits.slot("render"):
            pdf = printing.repair_order_pdf(order)
        record_audit(request.user, "export.repair_order_pdf", order, order.number, source=source_of(request))
        response = HttpResponse(pdf, content_type="application/pdf")
        response["Content-Disposition"] = f"inline; filename*=UTF-8''{quote(order.number)}.pdf"
        return response


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
        data = validated(ValveUpdateSerializer, request.data)
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


class NetworkFeaturesView(APIView):
    """The whole network as GeoJSON for the map: pipes, valves (state, operability) and sources."""

    permission_classes = [ANALYSIS]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, code):
        return Response(planning.network_features(get_object_or_404(Network, code=code)))


def _network_codes(request) -> list[str]:
    text = request.query_params.get("networks", "")
    return [code.strip() for code in text.split(",") if code.strip()]


class ClearanceView(APIView):
    """GB 50289 violations between networks (horizontal 4.1.9, vertical 4.1.14) and of cover depth (4.1.1).

    A GeoJSON FeatureCollection of points where a rule is broken; `status` is error (rule value from the
    official table), warning (value to be checked) or review (depth unknown, cannot be checked).
    """

    permission_classes = [ANALYSIS]

    @extend_schema(
        parameters=[
            OpenApiParameter("networks", str, description="network codes, comma-separated (default: all)"),
            OpenApiParameter("lane", str, description="under_motor_lane (default) or under_sidewalk_or_non_motor_lane"),
        ],
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request):
        lane = request.query_params.get("lane", "under_motor_lane")
        return Response(planning.clearance_report(_network_codes(request), lane))


class MaintenanceWarningsView(APIView):
    """管件更换预警: pipes and valves to replace or inspect (age, material, repair history), most urgent first."""

    permission_classes = [ANALYSIS]

    @extend_schema(
        parameters=[OpenApiParameter("networks", str, description="network codes, comma-separated (default: all)")],
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request):
        return Response(planning.maintenance_warnings(planning.networks_by_code(_network_codes(request))))


class ConnectivityRequestSerializer(serializers.Serializer):
    network = serializers.CharField(help_text="network id or code")
    start = serializers.JSONField(help_text="GeoJSON Point")
    end = serializers.JSONField(help_text="GeoJSON Point")
    crs = serializers.CharField(required=False, default="wgs84", help_text=SUPPORTED_CRS_TEXT)
    tolerance_m = serializers.FloatField(required=False, default=selectors.DEFAULT_TOLERANCE_M, min_value=0.1,
                                         max_value=1000)  # fmt: skip


class ConnectivityView(APIView):
    """Are two points of a network joined by pipes (physically, and in service with closed valves closed)?"""

    permission_classes = [ANALYSIS]

    @extend_schema(request=ConnectivityRequestSerializer, responses=OpenApiTypes.OBJECT)
    def post(self, request):
        data = validated(ConnectivityRequestSerializer, request.data)
        crs = parse_crs(data["crs"])
        network = data["network"]
        network = selectors.resolve_network(int(network) if network.isascii() and network.isdecimal() else network)
        start, end = parse_geojson_point(data["start"], crs, "start"), parse_geojson_point(data["end"], crs, "end")
        return Response(planning.connectivity(network, start, end, data["tolerance_m"]))


class ProfileRequestSerializer(serializers.Serializer):
    network = serializers.CharField(help_text="network id or code")
    pipes = serializers.ListField(child=serializers.IntegerField(), min_length=1, max_length=500,
                                  help_text="pipe ids of the run, in order")  # fmt: skip
    step_m = serializers.FloatField(required=False, default=planning.PROFILE_STEP_M, min_value=1, max_value=500)


class ProfileView(APIView):
    """纵剖面 of a pipe run: ground elevation (DEM) against the pipe's crown and invert, sampled along the run."""

    permission_classes = [ANALYSIS]

    @extend_schema(request=ProfileRequestSerializer, responses=OpenApiTypes.OBJECT)
    def post(self, request):
        data = validated(ProfileRequestSerializer, request.data)
        network = data["network"]
        network = selectors.resolve_network(int(network) if network.isascii() and network.isdecimal() else network)
        return Response(planning.profile(network, data["pipes"], data["step_m"]))


class NetworkImportView(APIView):
    """Import a network from a GIS file (multipart `file`: Shapefile .zip, .gpkg, .geojson or .dxf; at most
    CITYOPS_IMPORT_MAX_MB).

    Fields: `code`, `name`, `utility`, `owner` (organisation code), `tolerance_m` (snap, default 0.5),
    `mapping` (JSON: our field → the file's column), `pipe_layer` and `point_layer` (a DXF drawing's CAD layers),
    `crs` (for a file that declares none, as a DXF drawing never does). The topology is built from the geometry
    and checked first; a file that does not make one valid network is a 400 with the validation `report`, and
    nothing is written.
    """

    permission_classes = [NETWORK_IMPORTERS]
    parser_classes = [uploads.UploadParser]

    @extend_schema(request={"multipart/form-data": OpenApiTypes.OBJECT}, responses={201: OpenApiTypes.OBJECT})
    def post(self, request):
        upload = request.FILES.get("file")
        if upload is None:
            raise PipelineInputError("file", "attach the GIS file as multipart field 'file'")
        owner = _owner(request.data)
        try:
            tolerance = float(request.data.get("tolerance_m", 0.5))
        except ValueError:
            raise PipelineInputError("tolerance_m", "a snap tolerance in metres") from None
        mapping = _mapping(request.data, gis_import.DEFAULT_COLUMNS)
        code = request.data.get("code", "")
        options = gis_import.ImportOptions(
            code=code, name=request.data.get("name") or code, utility=request.data.get("utility", ""), owner=owner,
            tolerance_m=tolerance, mapping=mapping, pipe_layer=request.data.get("pipe_layer") or None,
            point_layer=request.data.get("point_layer") or None, crs=request.data.get("crs") or None,
        )  # fmt: skip
        try:
            network, report = services.import_network(request.user, upload, options)
        except gis_import.GisImportError as error:
            return _refused_import(error)
        return Response({"network": NetworkSerializer(network).data, "report": report}, status=status.HTTP_201_CREATED)


def _owner(data) -> Organisation:
    owner = Organisation.objects.filter(code=data.get("owner", "")).first()
    if owner is None:
        raise PipelineInputError("owner", "the code of the organisation that owns the network")
    return owner


def _mapping(data, fields) -> dict:
    try:
        return gis_import.parse_mapping(data.get("mapping"), fields)
    except gis_import.GisImportError as error:
        raise PipelineInputError("mapping", str(error)) from None


def _refused_import(error: gis_import.GisImportError) -> Response:
    body = {"error": "invalid_input", "field": "file", "detail": str(error)}
    if error.report is not None:
        body["report"] = error.report
    return Response(body, status=status.HTTP_400_BAD_REQUEST)


def _float_field(data, name: str, default: float) -> float:
    try:
        return float(data.get(name) or default)
    except ValueError:
        raise PipelineInputError(name, "a number") from None


class NetworkSurveyImportView(APIView):
    """Import a network from survey tables (管线探测成果表): multipart `file` once (a workbook with a point and a
    line sheet) or twice (point table, line table; CSV or .xlsx).

    Fields: `code`, `name`, `utility`, `owner`; `epsg` (the CGCS2000 zone of X/Y) or `offset_x`/`offset_y` (a
    local grid placed into the metric CRS, added to X and Y); `x_is_north` (default true, the survey order);
    `depth_to` (crown or invert, for a bare 埋深); `sources` (point numbers where supply enters, comma separated);
    `mapping` (JSON: our field → the table's header). A cell that cannot be read is a 400 naming its row and
    column; a network that fails its checks is a 400 with the `report`; nothing is written either way.
    """

    permission_classes = [NETWORK_IMPORTERS]
    parser_classes = [uploads.UploadParser]

    @extend_schema(request={"multipart/form-data": OpenApiTypes.OBJECT}, responses={201: OpenApiTypes.OBJECT})
    def post(self, request):
        data = request.data
        owner = _owner(data)
        epsg = data.get("epsg") or None
        if epsg is not None and not str(epsg).isdecimal():
            raise PipelineInputError("epsg", "an EPSG code, e.g. 4547")
        if data.get("depth_to") not in (None, "", "crown", "invert"):
            raise PipelineInputError("depth_to", "crown or invert")
        x_is_north = str(data.get("x_is_north", "true")).lower() not in ("false", "0", "no")
        offset_x, offset_y = _float_field(data, "offset_x", 0.0), _float_field(data, "offset_y", 0.0)
        mapping = _mapping(data, survey_import.POINT_COLUMNS | survey_import.LINE_COLUMNS)
        code = data.get("code", "")
        options = survey_import.SurveyOptions(
            code=code, name=data.get("name") or code, utility=data.get("utility", ""), owner=owner,
            georef=survey_import.survey_georef(int(epsg) if epsg else None, offset_x, offset_y, x_is_north=x_is_north),
            x_is_north=x_is_north, depth_to=data.get("depth_to") or None, mapping=mapping,
            sources=tuple(s.strip() for s in data.get("sources", "").split(",") if s.strip()),
        )  # fmt: skip
        try:
            network, report = services.import_survey(request.user, request.FILES.getlist("file"), options)
        except gis_import.GisImportError as error:
            return _refused_import(error)
        return Response({"network": NetworkSerializer(network).data, "report": report}, status=status.HTTP_201_CREATED)


class NetworkExportView(APIView):
    """The network as a GeoPackage (layers `pipes` and `points`), the layout the import reads back."""

    permission_classes = [ANALYSIS]

    @extend_schema(responses={(200, "application/geopackage+sqlite3"): OpenApiTypes.BINARY})
    def get(self, request, code):
        network = get_object_or_404(Network, code=code)
        response = HttpResponse(gis_import.export_geopackage(network), content_type="application/geopackage+sqlite3")
        response["Content-Disposition"] = f'attachment; filename="{network.code}.gpkg"'
        return response
