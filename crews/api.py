"""Crew apps API (mounted at /api/crews/): sign-on to a vehicle, the MDT's job and its status buttons.

Status reports come from the MDT's outbox (frontend/static/frontend/grid/tablet-outbox.js): a form post with an
Idempotency-Key made once per press. The answer to a key is kept (CrewAction), so a replay after a lost answer
or a day offline gets the same answer and changes nothing a second time.
"""

import hashlib
import json

from django.db import IntegrityError, transaction
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api_errors import validated
from core.api_schema import LIST_OF_OBJECTS
from core.errors import InputError, Refusal
from core.models import Role
from core.permissions import roles_required
from core.realtime import Viewer

from . import selectors, services
from .models import CrewAction

CREW = roles_required(Role.CREW, Role.ADMIN, read_roles=(Role.CREW, Role.ADMIN))
MAX_KEY_LENGTH = 100


class IdempotencyConflict(Refusal):
    code = "idempotency_conflict"


def answered_once(request, act) -> Response:
    """Run `act` (→ Response) once per Idempotency-Key: a repeat of the same request gets the kept answer; the key
    used for another request (or by another person) is refused. Without a key the action simply runs."""
    key = request.headers.get("Idempotency-Key", "")
    if not key:
        return act()
    if len(key) > MAX_KEY_LENGTH:
        raise InputError("Idempotency-Key", f"at most {MAX_KEY_LENGTH} characters")
    body = json.dumps({k: request.data.get(k) for k in sorted(request.data)}, sort_keys=True, default=str)
    asked = f"{request.path} {hashlib.sha256(body.encode()).hexdigest()[:16]}"
    kept = CrewAction.objects.filter(key=key).first()
    if kept is None:
        try:
            with transaction.atomic():
                response = act()
                CrewAction.objects.create(
                    key=key, user=request.user, request=asked, status_code=response.status_code, answer=response.data
                )
            return response
        except IntegrityError:  # the same key sent twice at once: the first one's answer stands
            kept = CrewAction.objects.get(key=key)
    if kept.user_id != request.user.pk or kept.request != asked:
        raise IdempotencyConflict(
            f"Idempotency-Key {key!r} was already used for another request; send a new key", field="Idempotency-Key"
        )
    return Response(kept.answer, status=kept.status_code)


class VehicleListView(APIView):
    """The vehicles the user may sign on to (their agency's, by dispatch's row rule)."""

    permission_classes = [CREW]

    @extend_schema(responses=LIST_OF_OBJECTS)
    def get(self, request):
        return Response(selectors.vehicles_to_crew(Viewer.for_user(request.user)))


class CrewSignOnSerializer(serializers.Serializer):
    vehicle = serializers.IntegerField(help_text="id of the vehicle")


class SignOnView(APIView):
    """GET: the MDT's view (sign-on, vehicle, its active job with route and ETA; all null when not signed on).
    POST {"vehicle": id}: sign on for the shift (409 when already signed on). DELETE: sign off."""

    permission_classes = [CREW]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request):
        entry = selectors.open_sign_on(request.user)
        return Response(selectors.mdt_view(entry) if entry else {"sign_on": None, "vehicle": None, "job": None})

    @extend_schema(request=CrewSignOnSerializer, responses={201: OpenApiTypes.OBJECT})
    def post(self, request):
        data = validated(CrewSignOnSerializer, request.data)
        entry = services.sign_on(request.user, Viewer.for_user(request.user), data["vehicle"])
        return Response(selectors.mdt_view(selectors.open_sign_on(request.user) or entry), status=201)

    @extend_schema(request=None, responses={204: None})
    def delete(self, request):
        services.sign_off(request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class StatusSerializer(serializers.Serializer):
    assignment = serializers.IntegerField(help_text="id of the assignment the button was pressed for")
    status = serializers.ChoiceField(services.MDT_STATUSES)


class StatusView(APIView):
    """出发 / 到场 / 转运 / 完成 from the MDT (Idempotency-Key: the same key answers the same, once)."""

    permission_classes = [CREW]

    @extend_schema(
        request=StatusSerializer,
        parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER, required=False)],
        responses=OpenApiTypes.OBJECT,
    )
    def post(self, request):
        def act():
            data = validated(StatusSerializer, request.data)
            assignment = services.report_status(request.user, data["assignment"], data["status"])
            return Response({"id": assignment.pk, "status": assignment.status, "requested": data["status"]})

        return answered_once(request, act)
