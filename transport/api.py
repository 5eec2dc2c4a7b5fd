"""Transport supervision REST API under /api/transport/ (read-only; alarms are acknowledged through dispatch)."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from core.models import Role
from core.permissions import roles_required
from core.realtime import Viewer
from dispatch import selectors as dispatch_selectors
from dispatch.api import track_window

from . import selectors

READ_ROLES = (Role.TRANSPORT, Role.OPERATOR, Role.LEADER, Role.ADMIN)
SUPERVISORS = roles_required(Role.ADMIN, read_roles=READ_ROLES)


def _viewer(request) -> Viewer:
    return Viewer.for_user(request.user)


class KeyVehicleListView(APIView):
    """The key vehicles the user may see, with category, carrier, cargo (UN number) and last position."""

    permission_classes = [SUPERVISORS]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request):
        return Response({"type": "FeatureCollection", "features": selectors.key_vehicle_features(_viewer(request))})


class KeyVehicleTrackView(APIView):
    """A key vehicle's stored fixes between ?from= and ?to= (ISO 8601; at most 7 days), as dispatch's track."""

    permission_classes = [SUPERVISORS]

    @extend_schema(
        parameters=[OpenApiParameter("from", OpenApiTypes.DATETIME), OpenApiParameter("to", OpenApiTypes.DATETIME)],
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request, pk):
        vehicle = selectors.visible_key_vehicle(_viewer(request), pk)
        if vehicle is None:
            raise NotFound(f"no key vehicle {pk} visible to you")
        return Response(dispatch_selectors.track(vehicle, *track_window(request.query_params)))


class KeyAlarmListView(APIView):
    """The alarms of the key vehicles the user may see (?open=0 for closed ones too)."""

    permission_classes = [SUPERVISORS]

    @extend_schema(parameters=[OpenApiParameter("open", bool)], responses=OpenApiTypes.OBJECT)
    def get(self, request):
        open_only = request.query_params.get("open", "1") not in ("0", "false")
        return Response({"type": "FeatureCollection", "features": selectors.key_alarms(_viewer(request), open_only)})


class PlatformListView(APIView):
    """The JT/T 809 lower platforms and the state of their links."""

    permission_classes = [SUPERVISORS]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request):
        return Response({"platforms": selectors.platforms()})
