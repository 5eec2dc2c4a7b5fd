"""Notify REST API under /api/notify/: send and follow notifications, the user's inbox and 确认, templates,
public warnings (CAP 1.2). The public pages and the CAP feed are in notify.public."""

from datetime import timedelta

from django.contrib.gis.geos import Point
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.generics import ListCreateAPIView, RetrieveUpdateDestroyAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api_errors import validated
from core.api_schema import LIST_OF_OBJECTS
from core.errors import InputError
from core.geo import parse_geometry
from core.models import AdminArea, Organisation, Role, User
from core.permissions import ADMIN_ONLY_WRITES, roles_required
from core.security_log import source_of

from . import selectors, services
from .cap import warning_json
from .models import Delivery, Notification, PublicWarning, Severity, Template

SENDERS = (Role.OPERATOR, Role.LEADER, Role.ADMIN)
SEND = roles_required(*SENDERS)
SIGNED_IN = roles_required(*Role.values)  # reads by anyone with a role; writes to one's own inbox only


class ContactSerializer(serializers.Serializer):
    address = serializers.CharField(max_length=254, help_text="a phone number (SMS) or an e-mail address")
    name = serializers.CharField(max_length=128, required=False, default="")


class AboutSerializer(serializers.Serializer):
    app = serializers.CharField(max_length=32)
    id = serializers.CharField(max_length=64)
    label = serializers.CharField(max_length=128, required=False, default="")


class SendSerializer(serializers.Serializer):
    subject = serializers.CharField(max_length=services.MAX_SUBJECT, required=False, default="", allow_blank=True)
    body = serializers.CharField(required=False, default="", allow_blank=True, trim_whitespace=False)
    template = serializers.SlugField(required=False, help_text="a template's code instead of subject and body")
    context = serializers.DictField(required=False, default=dict, help_text="values of the template's placeholders")
    severity = serializers.CharField(required=False)
    channels = serializers.ListField(child=serializers.CharField(), help_text="in_app, email, sms")
    users = serializers.ListField(child=serializers.CharField(), required=False, default=list, help_text="usernames")
    roles = serializers.ListField(child=serializers.ChoiceField(Role.choices), required=False, default=list)
    organisation = serializers.CharField(required=False, help_text="organisation code: limits `roles` to it")
    area = serializers.CharField(required=False, help_text="area code: limits `roles` to organisations in it")
    contacts = ContactSerializer(many=True, required=False, default=list)
    about = AboutSerializer(required=False)
    ack_within_minutes = serializers.IntegerField(required=False, min_value=1, max_value=7 * 24 * 60)
    escalation = serializers.ListField(child=serializers.CharField(), required=False, default=list)


def _users(usernames: list[str], field: str) -> list[User]:
    found = {user.username: user for user in User.objects.filter(username__in=usernames, is_active=True)}
    for i, name in enumerate(usernames):
        if name not in found:
            raise InputError(f"{field}[{i}]", f"no active user {name!r}")
    return [found[name] for name in usernames]


def _by_code(model, code: str | None, field: str):
    if code is None:
        return None
    found = model.objects.filter(code=code).first()
    if found is None:
        raise InputError(field, f"no {model._meta.verbose_name} with code {code!r}")
    return found


def delivery_json(delivery: Delivery) -> dict:
    return {
        "id": delivery.pk,
        "channel": delivery.channel,
        "recipient": delivery.user.username if delivery.user_id else None,
        "name": delivery.name,
        "address": delivery.address,
        "state": delivery.state,
        "state_label": str(Delivery.State(delivery.state).label),
        "attempts": delivery.attempts,
        "last_error": delivery.last_error,
        "provider_id": delivery.provider_id,
        "reference": str(delivery.reference),
        "escalation_step": delivery.escalation_step,
        "sent_at": delivery.sent_at,
        "delivered_at": delivery.delivered_at,
        "acknowledged_at": delivery.acknowledged_at,
    }


def notification_json(notification: Notification, deliveries: bool = False) -> dict:
    data = {
        "id": notification.pk,
        "subject": notification.subject,
        "body": notification.body,
        "severity": notification.severity,
        "severity_label": str(Severity(notification.severity).label),
        "channels": notification.channels,
        "about": {"app": notification.about_app, "id": notification.about_id, "label": notification.about_label}
        if notification.about_app
        else None,
        "sender": notification.sender.username if notification.sender_id else None,
        "created_at": notification.created_at,
        "ack_deadline": notification.ack_deadline,
        "acknowledged_at": notification.acknowledged_at,
        "escalation_step": notification.escalation_step,
    }
    if deliveries:
        data["deliveries"] = [delivery_json(d) for d in notification.deliveries.select_related("user")]
    return data


class NotificationListView(APIView):
    """Notifications the user may see (its organisation's, its own, those to it; a command centre: all); POST
    sends one (operator, leader, admin). Delivery happens in the background: follow `deliveries` on the detail."""

    permission_classes = [roles_required(*SENDERS, read_roles=tuple(Role.values))]

    @extend_schema(operation_id="api_notify_notifications_list", responses=LIST_OF_OBJECTS)
    def get(self, request):
        rows = selectors.visible_notifications(request.user)[:200]
        return Response([notification_json(n) for n in rows])

    @extend_schema(request=SendSerializer, responses={201: OpenApiTypes.OBJECT})
    def post(self, request):
        data = validated(SendSerializer, request.data)
        template = _by_code(Template, data.get("template"), "template")
        users = _users(data["users"], "users")
        if data["roles"]:
            organisation = _by_code(Organisation, data.get("organisation"), "organisation")
            area = _by_code(AdminArea, data.get("area"), "area")
            users += list(selectors.users_with_roles(data["roles"], organisation, area))
        about = data.get("about")
        minutes = data.get("ack_within_minutes")
        notification = services.send(
            sender=request.user,
            channels=data["channels"],
            users=users,
            contacts=[services.Contact(c["address"], c["name"]) for c in data["contacts"]],
            subject=data["subject"],
            body=data["body"],
            template=template,
            context=data["context"],
            severity=data.get("severity"),
            about=services.About(about["app"], about["id"], about["label"]) if about else None,
            ack_within=timedelta(minutes=minutes) if minutes else None,
            escalation=_users(data["escalation"], "escalation"),
        )
        return Response(notification_json(notification, deliveries=True), status=status.HTTP_201_CREATED)


class NotificationDetailView(APIView):
    permission_classes = [SIGNED_IN]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, pk: int):
        notification = get_object_or_404(selectors.visible_notifications(request.user), pk=pk)
        return Response(notification_json(notification, deliveries=True))


def _person(user: User | None) -> str:
    return user.display_name if user is not None else ""


def inbox_json(delivery: Delivery) -> dict:
    notification = delivery.notification
    return {
        "id": delivery.pk,
        "notification_id": notification.pk,
        "subject": notification.subject,
        "body": notification.body,
        "severity": notification.severity,
        "severity_label": str(Severity(notification.severity).label),
        "sender": _person(notification.sender),
        "about": notification.about_label,
        "created_at": notification.created_at,
        "ack_deadline": notification.ack_deadline,
        "state": delivery.state,
        "acknowledged": delivery.state == Delivery.State.ACKNOWLEDGED,
        "ack_url": f"/api/notify/inbox/{delivery.pk}/ack/",
    }


class InboxView(APIView):
    """The signed-in user's in-app notices, unacknowledged first (`unacknowledged`: how many)."""

    permission_classes = [SIGNED_IN]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request):
        items = [inbox_json(d) for d in selectors.inbox(request.user)]
        return Response({"unacknowledged": sum(not i["acknowledged"] for i in items), "items": items})


class AcknowledgeView(APIView):
    """确认: acknowledge one of your notices (again: no change). Stops its escalation."""

    permission_classes = [roles_required(*Role.values)]

    @extend_schema(request=None, responses=OpenApiTypes.OBJECT)
    def post(self, request, pk: int):
        delivery = services.acknowledge(request.user, pk)
        return Response(inbox_json(Delivery.objects.select_related("notification__sender").get(pk=delivery.pk)))


class TemplateSerializer(serializers.ModelSerializer):
    severity = serializers.ChoiceField(Severity.choices, default=Severity.INFO)

    class Meta:
        model = Template
        fields = ["id", "code", "name", "subject", "body", "severity"]


class TemplateListView(ListCreateAPIView):
    """Notification templates ({placeholder} in subject and body); admins write them."""

    permission_classes = [ADMIN_ONLY_WRITES]
    serializer_class = TemplateSerializer
    queryset = Template.objects.all()
    pagination_class = None

    def create(self, request, *args, **kwargs):
        template = Template.objects.create(**validated(TemplateSerializer, request.data))  # the shared error shape
        return Response(TemplateSerializer(template).data, status=status.HTTP_201_CREATED)


class TemplateDetailView(RetrieveUpdateDestroyAPIView):
    permission_classes = [ADMIN_ONLY_WRITES]
    serializer_class = TemplateSerializer
    queryset = Template.objects.all()


class WarningSerializer(serializers.Serializer):
    status = serializers.ChoiceField(PublicWarning.Status.choices, help_text="Exercise for a drill")
    msg_type = serializers.ChoiceField(PublicWarning.MsgType.choices, default=PublicWarning.MsgType.ALERT)
    references = serializers.CharField(required=False, help_text="identifier of the alert an Update/Cancel follows")
    category = serializers.ChoiceField(PublicWarning.Category.choices)
    event = serializers.CharField(max_length=64)
    urgency = serializers.ChoiceField(PublicWarning.Urgency.choices)
    severity = serializers.ChoiceField(PublicWarning.CapSeverity.choices)
    certainty = serializers.ChoiceField(PublicWarning.Certainty.choices)
    headline = serializers.CharField(max_length=160)
    description = serializers.CharField(max_length=4000)
    instruction = serializers.CharField(max_length=4000, required=False, default="")
    area_desc = serializers.CharField(max_length=200)
    polygon = serializers.JSONField(required=False, help_text="GeoJSON Polygon, WGS84")
    circle = serializers.JSONField(required=False, help_text='{"center": [lon, lat], "radius_km": r}')


def warning_fields(data: dict) -> dict:
    fields = {k: v for k, v in data.items() if k not in ("polygon", "circle", "references")}
    if "references" in data:
        fields["references"] = PublicWarning.objects.filter(identifier=data["references"]).first()
        if fields["references"] is None:
            raise InputError("references", f"no public warning {data['references']!r}")
    if "polygon" in data:
        polygon = parse_geometry(data["polygon"], field="polygon")
        if polygon.geom_type != "Polygon":
            raise InputError("polygon", "a GeoJSON Polygon")
        fields["polygon"] = polygon
    if "circle" in data:
        circle = data["circle"]
        try:
            lon, lat = (float(v) for v in circle["center"])
            radius = float(circle["radius_km"])
        except (TypeError, KeyError, ValueError):
            raise InputError("circle", 'give {"center": [lon, lat], "radius_km": r}') from None
        if not (-180 <= lon <= 180 and -90 <= lat <= 90 and 0 < radius <= 1000):
            raise InputError("circle", "centre in WGS84 degrees, radius between 0 and 1000 km")
        fields["circle_center"] = Point(lon, lat, srid=4326)
        fields["circle_radius_km"] = radius
    return fields


class WarningListView(APIView):
    """Public warnings (公众预警) as issued; POST issues one (operator, leader, admin; audited). It is public at
    once on /warnings/ and in the CAP feed /warnings/cap/."""

    permission_classes = [SEND]

    @extend_schema(responses=LIST_OF_OBJECTS)
    def get(self, request):
        return Response([warning_json(w) for w in selectors.public_warnings()[:200]])

    @extend_schema(request=WarningSerializer, responses={201: OpenApiTypes.OBJECT})
    def post(self, request):
        fields = warning_fields(validated(WarningSerializer, request.data))
        warning = services.issue_warning(request.user, source=source_of(request), **fields)
        return Response(warning_json(warning), status=status.HTTP_201_CREATED)
