"""The configuration API under /api/grid/config/ (应用维护): each category's time limits and settings and the routing
rules, edited in a draft and published as a numbered version that applies to cases filed afterwards (grid/config.py).

Writes are the administrator's; the centre's dispatchers and leaders may read. Bad input is a 400 naming the
field, with nothing changed.
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api_schema import LIST_OF_OBJECTS
from core.errors import InputError
from core.models import Role
from core.permissions import roles_required

from . import config

CONFIG_ACCESS = roles_required(Role.ADMIN, read_roles=(Role.ADMIN, Role.LEADER, Role.GRID_DISPATCHER))


def _body(request) -> dict:
    if not isinstance(request.data, dict):
        raise InputError("body", "a JSON object is required")
    return request.data


class ConfigCategoriesView(APIView):
    """GET: every category (inactive ones too) with the limits and settings new cases get now and the draft's, if a
    draft exists."""

    permission_classes = [CONFIG_ACCESS]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request):
        return Response(config.categories())


class ConfigCategoryLimitsView(APIView):
    """PATCH: change one category's row in the draft: limits (``confirmation_hours``, ``dispatch_hours``,
    ``handling_limit``, ``handling_unit``, ``verification_hours``) and settings (``department_type``,
    ``callback_required``, ``duplicate_radius_m``, ``duplicate_window_hours``, ``active``)."""

    permission_classes = [CONFIG_ACCESS]

    @extend_schema(request=OpenApiTypes.OBJECT, responses=OpenApiTypes.OBJECT)
    def patch(self, request, code):
        return Response(config.set_limits(request.user, code, _body(request)))


class ConfigRulesView(APIView):
    """GET: the routing rules of ``version`` (a number or ``draft``; default: the draft, else the latest).
    POST: add a rule to the draft (``category_code`` or ``department_type``, ``district_id``, ``organisation_id``)."""

    permission_classes = [CONFIG_ACCESS]

    @extend_schema(parameters=[OpenApiParameter("version", str)], responses=LIST_OF_OBJECTS)
    def get(self, request):
        ref = request.query_params.get("version")
        chosen = config.version(ref) if ref else (config.draft() or config.latest())
        return Response(config.rules(chosen))

    @extend_schema(request=OpenApiTypes.OBJECT, responses={201: OpenApiTypes.OBJECT})
    def post(self, request):
        return Response(config.add_rule(request.user, _body(request)), status=201)


class ConfigRuleView(APIView):
    """PATCH: change a rule of the draft. DELETE: remove it."""

    permission_classes = [CONFIG_ACCESS]

    @extend_schema(request=OpenApiTypes.OBJECT, responses=OpenApiTypes.OBJECT)
    def patch(self, request, pk):
        return Response(config.change_rule(request.user, pk, _body(request)))

    @extend_schema(responses={204: None})
    def delete(self, request, pk):
        config.remove_rule(request.user, pk)
        return Response(status=204)


class ConfigDraftView(APIView):
    """POST: open the draft (a copy of the latest version) if there is none. DELETE: throw the draft away."""

    permission_classes = [CONFIG_ACCESS]

    @extend_schema(request=None, responses={201: OpenApiTypes.OBJECT})
    def post(self, request):
        return Response(config.version_json(config.open_draft(request.user)), status=201)

    @extend_schema(responses={204: None})
    def delete(self, request):
        config.discard_draft(request.user)
        return Response(status=204)


class ConfigPublishView(APIView):
    """POST ``note``: publish the draft as the next version; cases filed from now on are filed under it."""

    permission_classes = [CONFIG_ACCESS]

    @extend_schema(request=OpenApiTypes.OBJECT, responses={201: OpenApiTypes.OBJECT})
    def post(self, request):
        note = _body(request).get("note") or ""
        if not isinstance(note, str):
            raise InputError("note", "must be text")
        return Response(config.version_json(config.publish(request.user, note)), status=201)


class ConfigVersionsView(APIView):
    """GET: the draft and every published version, newest first: who published it, when, and what changed."""

    permission_classes = [CONFIG_ACCESS]

    @extend_schema(responses=LIST_OF_OBJECTS)
    def get(self, request):
        return Response(config.versions())


class ConfigDiffView(APIView):
    """GET ``from`` and ``to`` (version numbers or ``draft``): the limits and rules that differ."""

    permission_classes = [CONFIG_ACCESS]

    @extend_schema(
        parameters=[OpenApiParameter("from", str, required=True), OpenApiParameter("to", str, required=True)],
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request):
        params = request.query_params
        old = config.version(params.get("from"), "from")
        new = config.version(params.get("to"), "to")
        return Response(config.diff(old, new))
