"""REST API of resources under /api/resources/: the layers (teams, depots, shelters, hazard sources), experts, stock,
shelter check-in/out, the search from an incident, and supply requests with their allocations. Thin: the row rule
is in selectors, every change in services."""

from django.contrib.gis.geos import MultiPolygon
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api_errors import validated
from core.api_schema import LIST_OF_OBJECTS
from core.errors import Forbidden, InputError
from core.geo import SUPPORTED_CRS_TEXT, parse_geojson_point, parse_geometry
from core.models import AdminArea, Domain, Organisation, Role
from core.permissions import roles_required
from core.realtime import Viewer

from . import selectors, services
from .models import Allocation, Depot, Expert, HazardSource, RescueTeam, Shelter, SupplyRequest
from .selectors import READ_ROLES

EDITORS = roles_required(Role.OPERATOR, Role.ADMIN, read_roles=READ_ROLES)
ALLOCATORS = roles_required(Role.OPERATOR, Role.CALL_TAKER, Role.ADMIN, read_roles=READ_ROLES)
MAX_SEARCH_LIMIT = 50


def _viewer(request) -> Viewer:
    return Viewer.for_user(request.user)


def _check_writable(viewer: Viewer, data: dict) -> None:
    """A writer may place rows only where it could read them: its own organisations, inside its commanded area."""
    orgs = viewer.orgs_in(Domain.DISPATCH)
    if "organisation" in data and orgs is not None and data["organisation"].pk not in orgs:
        raise Forbidden("you may only enter resources of your own organisation")
    area_id = viewer.area_in(Domain.DISPATCH)
    if "geom" in data and area_id is not None and not AdminArea.objects.get(pk=area_id).geom.intersects(data["geom"]):
        raise Forbidden("the location is outside your area")


class PointField(serializers.JSONField):
    """A GeoJSON Point (WGS84 unless `crs` is given) → a GEOS point."""

    def to_internal_value(self, data):
        return parse_geojson_point(data, self.parent.initial_data.get("crs", "wgs84"), field=self.field_name)


class HeldSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=128)
    organisation = serializers.SlugRelatedField(slug_field="code", queryset=Organisation.objects.all())
    address = serializers.CharField(max_length=200, required=False, allow_blank=True)
    location = PointField(source="geom", help_text="GeoJSON Point")
    crs = serializers.CharField(required=False, write_only=True, help_text=SUPPORTED_CRS_TEXT)


class TeamSerializer(HeldSerializer):
    skills = serializers.ListField(child=serializers.CharField(max_length=32), required=False, max_length=30)
    headcount = serializers.IntegerField(min_value=0, max_value=100_000)
    on_duty = serializers.IntegerField(min_value=0, max_value=100_000)
    phone = serializers.CharField(max_length=32, required=False, allow_blank=True)


class ShelterSerializer(HeldSerializer):
    capacity = serializers.IntegerField(min_value=0, max_value=10_000_000)
    status = serializers.ChoiceField(choices=Shelter.Status.choices, required=False)
    footprint = serializers.JSONField(required=False, help_text="GeoJSON MultiPolygon of the site")

    def validate_footprint(self, value):
        shape = parse_geometry(value, self.initial_data.get("crs", "wgs84"), field="footprint")
        if shape.geom_type == "Polygon":
            shape = MultiPolygon(shape, srid=4326)
        if shape.geom_type != "MultiPolygon":
            raise InputError("footprint", "must be a GeoJSON Polygon or MultiPolygon")
        return shape


class SubstanceSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=64)
    un_number = serializers.RegexField(r"^\d{4}$", required=False, allow_blank=True, help_text="UN number, 4 digits")


class HazardSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=128)
    kind = serializers.ChoiceField(choices=HazardSource.Kind.choices)
    operator = serializers.CharField(max_length=128, required=False, allow_blank=True)
    substances = SubstanceSerializer(many=True, required=False)
    radius_m = serializers.IntegerField(min_value=1, max_value=50_000)
    grade = serializers.ChoiceField(choices=HazardSource.Grade.choices)
    address = serializers.CharField(max_length=200, required=False, allow_blank=True)
    location = PointField(source="geom", help_text="GeoJSON Point")
    crs = serializers.CharField(required=False, write_only=True, help_text=SUPPORTED_CRS_TEXT)


class ExpertSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=64)
    fields = serializers.ListField(child=serializers.CharField(max_length=32), required=False, max_length=20)
    organisation = serializers.SlugRelatedField(slug_field="code", queryset=Organisation.objects.all())
    employer = serializers.CharField(max_length=128, required=False, allow_blank=True)
    phone = serializers.RegexField(r"^[0-9+\- ]{0,32}$", required=False, allow_blank=True)


# kind → (model, serializer, the viewer's rows, one feature, the viewer's features)
KINDS = {
    "teams": (RescueTeam, TeamSerializer, selectors.teams, selectors.team_feature, selectors.team_features),
    "depots": (Depot, HeldSerializer, selectors.depots, selectors.depot_feature, selectors.depot_features),
    "shelters": (Shelter, ShelterSerializer, selectors.shelters, selectors.shelter_feature, selectors.shelter_features),
    "hazards": (HazardSource, HazardSerializer, selectors.hazards, selectors.hazard_feature, selectors.hazard_features),
}


def _fields(data: dict) -> dict:
    return {name: value for name, value in data.items() if name != "crs"}


class LayerListView(APIView):
    """GET: the visible rows of a layer as a FeatureCollection. POST: a new row (operators, admins)."""

    permission_classes = [EDITORS]
    kind = ""

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request):
        features = KINDS[self.kind][4]  # the skill labels read once for the list, not once per team
        return Response({"type": "FeatureCollection", "features": features(_viewer(request))})

    @extend_schema(request=OpenApiTypes.OBJECT, responses={201: OpenApiTypes.OBJECT})
    def post(self, request):
        model, serializer = KINDS[self.kind][:2]
        data = _fields(validated(serializer, request.data))
        _check_writable(_viewer(request), data)
        row = services.save_resource(request.user, model, **data)
        return Response(services._feature(row), status=status.HTTP_201_CREATED)


class LayerDetailView(APIView):
    """GET one visible row; PATCH some of its fields; DELETE it."""

    permission_classes = [EDITORS]
    kind = ""

    def _row(self, request, pk):
        row = KINDS[self.kind][2](_viewer(request)).filter(pk=pk).first()
        if row is None:
            raise NotFound(f"no {self.kind} {pk} visible to you")
        return row

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, pk):
        return Response(KINDS[self.kind][3](self._row(request, pk)))

    @extend_schema(request=OpenApiTypes.OBJECT, responses=OpenApiTypes.OBJECT)
    def patch(self, request, pk):
        model, serializer = KINDS[self.kind][:2]
        row = self._row(request, pk)
        data = _fields(validated(serializer, request.data, partial=True))
        _check_writable(_viewer(request), data)
        row = services.save_resource(request.user, model, row, **data)
        return Response(services._feature(row))

    @extend_schema(responses={204: None})
    def delete(self, request, pk):
        services.remove_resource(request.user, self._row(request, pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


def layer_views(kind: str):
    """The list and detail views of one layer, their request bodies documented by its serializer."""
    serializer = KINDS[kind][1]
    listing = extend_schema_view(
        get=extend_schema(operation_id=f"api_resources_{kind}_list"),
        post=extend_schema(request=serializer, responses={201: OpenApiTypes.OBJECT}),
    )(type(f"{kind.title()}ListView", (LayerListView,), {"kind": kind}))
    detail = extend_schema_view(patch=extend_schema(request=serializer, responses=OpenApiTypes.OBJECT))(
        type(f"{kind.title()}DetailView", (LayerDetailView,), {"kind": kind})
    )
    return listing.as_view(), detail.as_view()


class CodesView(APIView):
    """The code tables: supplies (with units), team skills, expert fields, hazard kinds."""

    permission_classes = [EDITORS]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request):
        return Response(
            {
                "supplies": selectors.supply_items(),
                "skills": selectors.specialties("skill"),
                "fields": selectors.specialties("field"),
                "hazard_kinds": [{"code": k, "label": str(label)} for k, label in HazardSource.Kind.choices],
            }
        )


class ExpertListView(APIView):
    """GET: the visible experts (?field=<code>); the phone only for command-centre staff. POST: a new expert."""

    permission_classes = [EDITORS]

    @extend_schema(parameters=[OpenApiParameter("field", str)], responses=LIST_OF_OBJECTS)
    def get(self, request):
        return Response(selectors.expert_list(_viewer(request), request.query_params.get("field") or None))

    @extend_schema(request=ExpertSerializer, responses={201: OpenApiTypes.OBJECT})
    def post(self, request):
        data = validated(ExpertSerializer, request.data)
        _check_writable(_viewer(request), data)
        expert = services.save_expert(request.user, **data)
        return Response({"id": expert.pk, "name": expert.name}, status=status.HTTP_201_CREATED)


class ExpertDetailView(APIView):
    permission_classes = [EDITORS]

    def _expert(self, request, pk) -> Expert:
        expert = selectors.experts(_viewer(request)).filter(pk=pk).first()
        if expert is None:
            raise NotFound(f"no expert {pk} visible to you")
        return expert

    @extend_schema(request=ExpertSerializer, responses=OpenApiTypes.OBJECT)
    def patch(self, request, pk):
        expert = self._expert(request, pk)
        data = validated(ExpertSerializer, request.data, partial=True)
        _check_writable(_viewer(request), data)
        services.save_expert(request.user, expert, **data)
        return Response({"id": expert.pk, "name": expert.name})

    @extend_schema(responses={204: None})
    def delete(self, request, pk):
        services.remove_expert(request.user, self._expert(request, pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


class StockSerializer(serializers.Serializer):
    item = serializers.CharField(max_length=32, help_text="supplies code")
    on_hand = serializers.IntegerField(min_value=0, max_value=100_000_000)


class StockView(APIView):
    """PUT: set the quantity on hand of one item in a depot (restock, count)."""

    permission_classes = [EDITORS]

    @extend_schema(request=StockSerializer, responses=OpenApiTypes.OBJECT)
    def put(self, request, pk):
        depot = selectors.depots(_viewer(request)).filter(pk=pk).first()
        if depot is None:
            raise NotFound(f"no depot {pk} visible to you")
        data = validated(StockSerializer, request.data)
        services.set_stock(request.user, depot, data["item"], data["on_hand"])
        return Response(selectors.depot_feature(selectors.depots(_viewer(request)).get(pk=pk)))


class PeopleSerializer(serializers.Serializer):
    people = serializers.IntegerField(min_value=1, max_value=1_000_000)


class ShelterStatusSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Shelter.Status.choices)


def _shelter(request, pk) -> Shelter:
    shelter = selectors.shelters(_viewer(request)).filter(pk=pk).first()
    if shelter is None:
        raise NotFound(f"no shelter {pk} visible to you")
    return shelter


class ShelterOccupancyView(APIView):
    """POST {"people": n}: check people in to (or, for check-out/, out of) a shelter; 409 if it is full or closed."""

    permission_classes = [ALLOCATORS]
    action = "check_in"

    @extend_schema(request=PeopleSerializer, responses={200: OpenApiTypes.OBJECT, 409: OpenApiTypes.OBJECT})
    def post(self, request, pk):
        shelter = _shelter(request, pk)
        people = validated(PeopleSerializer, request.data)["people"]
        change = services.check_in if self.action == "check_in" else services.check_out
        return Response(selectors.shelter_feature(change(request.user, shelter, people)))


class ShelterStatusView(APIView):
    permission_classes = [ALLOCATORS]

    @extend_schema(request=ShelterStatusSerializer, responses=OpenApiTypes.OBJECT)
    def post(self, request, pk):
        shelter = _shelter(request, pk)
        data = validated(ShelterStatusSerializer, request.data)
        return Response(selectors.shelter_feature(services.set_shelter_status(request.user, shelter, data["status"])))


class SearchView(APIView):
    """Resources ranked from an incident or a point: the nearest depots holding an item, teams with a skill, open
    shelters with free places, by road travel time (dispatch's road graph) or straight-line distance; hazard sources
    within a radius."""

    permission_classes = [EDITORS]

    @extend_schema(
        parameters=[
            OpenApiParameter("near", str, required=True, description="incident id, or lon,lat (WGS84)"),
            OpenApiParameter("kind", str, enum=list(selectors.SEARCH_KINDS)),
            OpenApiParameter("item", str, description="supplies code (kind=depot)"),
            OpenApiParameter("skill", str, description="skill code (kind=team)"),
            OpenApiParameter("min_quantity", int, description="free stock, people on duty, free places (default 1)"),
            OpenApiParameter("by", str, enum=["eta", "distance"]),
            OpenApiParameter("limit", int),
            OpenApiParameter("radius", float, description="metres (hazards: default 2000)"),
        ],
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request):
        params = request.query_params
        kind = params.get("kind", "depot")
        if kind not in selectors.SEARCH_KINDS:
            raise InputError("kind", f"must be one of {', '.join(selectors.SEARCH_KINDS)}")
        by = params.get("by", "eta")
        if by not in ("eta", "distance"):
            raise InputError("by", "must be eta or distance")
        minimum = _integer(params, "min_quantity", 1, 1, 100_000_000)
        limit = _integer(params, "limit", 50 if kind == "hazard" else 3, 1, MAX_SEARCH_LIMIT)
        radius = params.get("radius")
        if radius is not None:
            try:
                radius = float(radius)
            except ValueError:
                raise InputError("radius", "must be a number of metres") from None
            if not 0 < radius <= 100_000:
                raise InputError("radius", "must be more than 0 and at most 100000 m")
        viewer = _viewer(request)
        origin = selectors.origin_for(viewer, params.get("near", ""))
        return Response(
            selectors.search(
                viewer, origin, kind, item=params.get("item") or None, skill=params.get("skill") or None,
                minimum=minimum, by=by, limit=limit, radius_m=radius,
            )
        )  # fmt: skip


def _integer(params, name: str, default: int, low: int, high: int) -> int:
    raw = params.get(name)
    if raw in (None, ""):
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise InputError(name, f"must be a whole number {low}..{high}")
    return int(raw)


class RequestSerializer(serializers.Serializer):
    incident_id = serializers.IntegerField(min_value=1)
    item = serializers.CharField(max_length=32, help_text="supplies code")
    quantity = serializers.IntegerField(min_value=1, max_value=100_000_000)
    note = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")


class RequestListView(APIView):
    """GET: supply requests of the incidents you may see (?incident=<id>). POST: request N of an item."""

    permission_classes = [ALLOCATORS]

    @extend_schema(parameters=[OpenApiParameter("incident", int)], responses=LIST_OF_OBJECTS)
    def get(self, request):
        incident = request.query_params.get("incident")
        if incident is not None and not incident.isdigit():
            raise InputError("incident", "must be an incident id")
        return Response(selectors.supply_requests(_viewer(request), int(incident) if incident else None))

    @extend_schema(request=RequestSerializer, responses={201: OpenApiTypes.OBJECT})
    def post(self, request):
        data = validated(RequestSerializer, request.data)
        made = services.request_supplies(
            request.user, _viewer(request), data["incident_id"], data["item"], data["quantity"], data["note"]
        )
        return Response(selectors.request_row(made), status=status.HTTP_201_CREATED)


def _request(request, pk) -> SupplyRequest:
    found = selectors.requests_for(_viewer(request)).filter(pk=pk).first()
    if found is None:
        raise NotFound(f"no supply request {pk} visible to you")
    return found


class AllocateSerializer(serializers.Serializer):
    depot = serializers.IntegerField(min_value=1)
    quantity = serializers.IntegerField(min_value=1, max_value=100_000_000)


class AllocateView(APIView):
    """POST {"depot", "quantity"}: take the quantity from the depot's free stock; 409 ``shortfall`` if it has not."""

    permission_classes = [ALLOCATORS]

    @extend_schema(request=AllocateSerializer, responses={201: OpenApiTypes.OBJECT, 409: OpenApiTypes.OBJECT})
    def post(self, request, pk):
        supply_request = _request(request, pk)
        data = validated(AllocateSerializer, request.data)
        depot = selectors.depots(_viewer(request)).filter(pk=data["depot"]).first()
        if depot is None:
            raise InputError("depot", f"no depot {data['depot']} visible to you")
        allocation = services.allocate(request.user, supply_request, depot, data["quantity"])
        return Response(selectors.request_row(allocation.request), status=status.HTTP_201_CREATED)


class RequestCancelView(APIView):
    permission_classes = [ALLOCATORS]

    @extend_schema(request=None, responses=OpenApiTypes.OBJECT)
    def post(self, request, pk):
        return Response(selectors.request_row(services.cancel_request(request.user, _request(request, pk))))


class AllocationCloseView(APIView):
    """POST: release an allocation (back to free stock) or consume it (used up at the incident)."""

    permission_classes = [ALLOCATORS]
    action = "release"

    @extend_schema(request=None, responses={200: OpenApiTypes.OBJECT, 409: OpenApiTypes.OBJECT})
    def post(self, request, pk):
        visible = selectors.requests_for(_viewer(request))
        allocation = Allocation.objects.filter(pk=pk, request__in=visible).first()
        if allocation is None:
            raise NotFound(f"no allocation {pk} visible to you")
        (services.release if self.action == "release" else services.consume)(request.user, allocation)
        return Response(selectors.request_row(visible.get(pk=allocation.request_id)))
