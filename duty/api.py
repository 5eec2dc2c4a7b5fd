"""Duty REST API under /api/duty/: desks and rosters, who is on duty now, sign-on and hand-over, hand-over items,
the duty log. Reads: operator, call taker and grid dispatcher (their own desk; a command centre's: every desk),
leader, admin. Writes: operator, leader, admin; sign-on and hand-over: the rostered person whatever their role (the
roster is the permission) or an admin."""

from datetime import date

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api_errors import time_param, validated
from core.api_schema import LIST_OF_OBJECTS
from core.errors import InputError
from core.models import Role, User
from core.permissions import roles_required

from . import selectors, services
from .models import Desk, DutyLogEntry, HandoverItem, ShiftSession

READ_ROLES = (Role.OPERATOR, Role.CALL_TAKER, Role.GRID_DISPATCHER, Role.LEADER, Role.ADMIN)
WRITE_ROLES = (Role.OPERATOR, Role.LEADER, Role.ADMIN)
READERS = roles_required(*WRITE_ROLES, read_roles=READ_ROLES)
# Sign-on and hand-over: any reader may try; the service checks the roster (or the admin role).
ROSTERED = roles_required(*READ_ROLES, read_roles=READ_ROLES)
MAX_CSV_BYTES = 2 * 2**20


def _desk(request, pk: int) -> Desk:
    desk = selectors.visible_desks(request.user).filter(pk=pk).first()
    if desk is None:
        raise NotFound(_("No duty desk %(id)s visible to you.") % {"id": pk})
    return desk


def _day(request, name: str = "date") -> date:
    raw = request.query_params.get(name)
    if not raw:
        return selectors.duty_date()
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise InputError(name, _("not a date (YYYY-MM-DD)")) from None


class DeskListView(APIView):
    """The desks you may read, with their shifts."""

    permission_classes = [READERS]

    @extend_schema(responses=LIST_OF_OBJECTS)
    def get(self, request):
        desks = selectors.visible_desks(request.user).prefetch_related("shifts")
        today = selectors.duty_date()
        return Response(
            [
                {**selectors.desk_json(d), "shifts": [selectors.shift_json(s, today) for s in d.shifts.all()]}
                for d in desks
            ]
        )


class NowView(APIView):
    """Who is on duty now, per desk (phones for the command centre's desks), with each desk's open shift and items."""

    permission_classes = [READERS]

    @extend_schema(parameters=[OpenApiParameter("at", OpenApiTypes.DATETIME)], responses=LIST_OF_OBJECTS)
    def get(self, request):
        return Response(selectors.now_board(request.user, time_param(request.query_params, "at")))


class RosterView(APIView):
    """GET: one date's roster per desk (?date=YYYY-MM-DD, default today)."""

    permission_classes = [READERS]

    @extend_schema(parameters=[OpenApiParameter("date", OpenApiTypes.DATE)], responses=LIST_OF_OBJECTS)
    def get(self, request):
        return Response(selectors.roster_of(request.user, _day(request)))


class RosterImportSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="CSV, UTF-8 or GB18030, header desk,date,shift,username,role")


class RosterImportView(APIView):
    """POST a roster CSV (desk,date,shift,username,role): all rows or none; bad rows are listed by line number."""

    permission_classes = [roles_required(*WRITE_ROLES, read_roles=WRITE_ROLES)]

    @extend_schema(request={"multipart/form-data": RosterImportSerializer}, responses={201: OpenApiTypes.OBJECT})
    def post(self, request):
        upload = validated(RosterImportSerializer, request.data)["file"]
        if upload.size > MAX_CSV_BYTES:
            raise InputError("file", _("the roster file is larger than 2 MB"))
        text = services.decode_roster(upload.read())
        return Response(services.import_roster(request.user, text), status=status.HTTP_201_CREATED)


class SignOnSerializer(serializers.Serializer):
    user = serializers.CharField(required=False, help_text="username of the rostered person (administrators only)")


class SignOnView(APIView):
    """POST: sign on to the desk's current shift (you must be on its roster)."""

    permission_classes = [ROSTERED]

    @extend_schema(request=SignOnSerializer, responses={201: OpenApiTypes.OBJECT})
    def post(self, request, pk):
        desk = _desk(request, pk)
        data = validated(SignOnSerializer, request.data)
        person = request.user
        if "user" in data:
            person = User.objects.filter(username=data["user"]).first()
            if person is None:
                raise InputError("user", _("no such user"))
        session = services.sign_on(request.user, desk, user=person)
        return Response(selectors.session_json(session), status=status.HTTP_201_CREATED)


class HandoverSerializer(serializers.Serializer):
    confirmed_item_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1), allow_empty=True, max_length=10_000,
        help_text="ids of every open item of the desk, as the hand-over preview listed them",
    )  # fmt: skip
    notes = serializers.CharField(required=False, allow_blank=True, max_length=4000, default="")


def _session(request, pk: int) -> ShiftSession:
    session = ShiftSession.objects.filter(pk=pk, desk__in=selectors.visible_desks(request.user)).first()
    if session is None:
        raise NotFound(_("No shift %(id)s visible to you.") % {"id": pk})
    return session


class HandoverView(APIView):
    """GET: what the hand-over would carry (open items, open incidents). POST: hand over, confirming the items."""

    permission_classes = [ROSTERED]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, pk):
        session = _session(request, pk)
        return Response({"session": selectors.session_json(session), **selectors.handover_preview(session.desk)})

    @extend_schema(request=HandoverSerializer, responses=OpenApiTypes.OBJECT)
    def post(self, request, pk):
        session = _session(request, pk)
        data = validated(HandoverSerializer, request.data)
        session = services.hand_over(
            request.user, session, confirmed_item_ids=data["confirmed_item_ids"], notes=data["notes"]
        )
        return Response(selectors.session_json(session))


class ItemSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=500)
    ref_app = serializers.CharField(required=False, allow_blank=True, max_length=32, default="")
    ref_id = serializers.CharField(required=False, allow_blank=True, max_length=64, default="")
    ref_number = serializers.CharField(required=False, allow_blank=True, max_length=64, default="")
    ref_label = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")

    def validate(self, attrs):
        if bool(attrs["ref_app"]) != bool(attrs["ref_id"]):
            raise serializers.ValidationError({"ref_id": _("give both ref_app and ref_id, or neither")})
        return attrs


class ItemListView(APIView):
    """GET: the desk's open hand-over items. POST: add one (text, optionally about an object: ref_app, ref_id...)."""

    permission_classes = [READERS]

    @extend_schema(responses=LIST_OF_OBJECTS)
    def get(self, request, pk):
        return Response([selectors.item_json(i) for i in selectors.open_items(_desk(request, pk))])

    @extend_schema(request=ItemSerializer, responses={201: OpenApiTypes.OBJECT})
    def post(self, request, pk):
        desk = _desk(request, pk)
        data = validated(ItemSerializer, request.data)
        ref = {"app": data["ref_app"], "id": data["ref_id"], "number": data["ref_number"], "label": data["ref_label"]}
        item = services.add_item(request.user, desk, data["text"], ref if data["ref_app"] else None)
        return Response(selectors.item_json(item), status=status.HTTP_201_CREATED)


class ItemDoneView(APIView):
    """POST: mark a hand-over item done."""

    permission_classes = [READERS]

    @extend_schema(request=None, responses=OpenApiTypes.OBJECT)
    def post(self, request, pk):
        item = HandoverItem.objects.filter(pk=pk, desk__in=selectors.visible_desks(request.user)).first()
        if item is None:
            raise NotFound(_("No hand-over item %(id)s visible to you.") % {"id": pk})
        return Response(selectors.item_json(services.close_item(request.user, item)))


class LogEntrySerializer(serializers.Serializer):
    text = serializers.CharField(max_length=4000)
    kind = serializers.ChoiceField(choices=DutyLogEntry.Kind.choices, default=DutyLogEntry.Kind.ROUTINE)
    at = serializers.DateTimeField(required=False)


class LogView(APIView):
    """GET: the desk's duty log (people's and the system's entries) in a window: ?date=&shift= (a shift of a
    date), ?from=&to=, or by default the current shift; ?major=1 for 大事记 only. POST: write an entry."""

    permission_classes = [READERS]

    @extend_schema(
        parameters=[
            OpenApiParameter("date", OpenApiTypes.DATE),
            OpenApiParameter("shift", str, description="a shift code of the desk, with date"),
            OpenApiParameter("from", OpenApiTypes.DATETIME),
            OpenApiParameter("to", OpenApiTypes.DATETIME),
            OpenApiParameter("major", bool),
        ],
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request, pk):
        desk = _desk(request, pk)
        start, end = time_param(request.query_params, "from"), time_param(request.query_params, "to")
        if (start is None) != (end is None):
            raise InputError("from" if start is None else "to", _("give both from and to"))
        if start is not None and end <= start:
            raise InputError("to", _("must be later than from"))
        if start is not None and (end - start).days > 31:
            raise InputError("to", _("a window of at most 31 days"))
        code = request.query_params.get("shift")
        if start is None and code:
            shift = desk.shifts.filter(code=code).first()
            if shift is None:
                raise InputError("shift", _("desk %(desk)s has no shift %(code)r") % {"desk": desk.code, "code": code})
            start, end = shift.window(_day(request))
        elif start is None:
            start, end = selectors.current_window(desk)
        major = request.query_params.get("major", "") in ("1", "true")
        entries = selectors.log_entries(request.user, desk, start, end, major_only=major)
        return Response({"desk": selectors.desk_json(desk), "from": start.isoformat(), "to": end.isoformat(),
                         "entries": entries})  # fmt: skip

    @extend_schema(request=LogEntrySerializer, responses={201: OpenApiTypes.OBJECT})
    def post(self, request, pk):
        desk = _desk(request, pk)
        data = validated(LogEntrySerializer, request.data)
        if not data["text"].strip():
            raise InputError("text", _("write something"))
        entry = services.add_log_entry(request.user, desk, data["text"].strip(), data["kind"], data.get("at"))
        return Response({"id": entry.pk, "at": entry.at.isoformat(), "kind": entry.kind, "text": entry.text},
                        status=status.HTTP_201_CREATED)  # fmt: skip
