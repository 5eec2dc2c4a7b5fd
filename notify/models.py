"""Notifications (信息发布): what was said to whom, over which channel, and how far each delivery got; templates;
public warnings (公众预警) as CAP 1.2 alerts."""

import uuid

from django.conf import settings
from django.contrib.gis.db import models
from django.contrib.postgres.fields import ArrayField
from django.utils.translation import gettext_lazy as _


class Channel(models.TextChoices):
    IN_APP = "in_app", _("In-app")
    EMAIL = "email", _("E-mail")
    SMS = "sms", _("SMS")


class Severity(models.TextChoices):
    INFO = "info", _("Information")
    WARNING = "warning", _("Warning")
    URGENT = "urgent", _("Urgent")


class Template(models.Model):
    """A reusable text with {placeholders}, filled from the context a sender gives."""

    code = models.SlugField(_("code"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=128)
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("body"))
    severity = models.CharField(_("severity"), max_length=8, choices=Severity.choices, default=Severity.INFO)

    class Meta:
        ordering = ["code"]
        verbose_name = _("notification template")
        verbose_name_plural = _("notification templates")

    def __str__(self) -> str:
        return self.name


class Notification(models.Model):
    """One message to many recipients. `about_*` names the object it is about without notify knowing its app.
    With `ack_within`, an unacknowledged notification goes to the next person of `escalation` when it runs out."""

    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("body"))
    template = models.ForeignKey(Template, verbose_name=_("template"), null=True, blank=True, on_delete=models.SET_NULL)
    severity = models.CharField(_("severity"), max_length=8, choices=Severity.choices, default=Severity.INFO)
    channels = ArrayField(models.CharField(max_length=8, choices=Channel.choices), verbose_name=_("channels"))
    about_app = models.CharField(_("about (app)"), max_length=32, blank=True)
    about_id = models.CharField(_("about (id)"), max_length=64, blank=True)
    about_label = models.CharField(_("about (label)"), max_length=128, blank=True)
    key = models.CharField(
        _("idempotency key"), max_length=128, null=True, blank=True, unique=True,
        help_text=_("A second send with the same key adds only the recipients not yet reached."),
    )  # fmt: skip
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("sender"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )  # fmt: skip
    sender_org = models.ForeignKey(
        "core.Organisation", verbose_name=_("sender's organisation"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+",
    )  # fmt: skip
    ack_within = models.DurationField(_("acknowledge within"), null=True, blank=True)
    ack_deadline = models.DateTimeField(_("acknowledgement deadline"), null=True, blank=True, db_index=True)
    escalation = ArrayField(models.BigIntegerField(), verbose_name=_("escalation (user ids, in order)"), default=list)
    escalation_step = models.PositiveSmallIntegerField(_("escalations done"), default=0)
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")

    def __str__(self) -> str:
        return self.subject


class Delivery(models.Model):
    """One notification to one recipient over one channel. `reference` is its idempotency key: the same on every
    attempt (the e-mail's Message-ID, the SMS's user_message_reference), so a receiver can drop a resend."""

    class State(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        DELIVERED = "delivered", _("Delivered")
        ACKNOWLEDGED = "acknowledged", _("Acknowledged")
        FAILED = "failed", _("Failed")
        ESCALATED = "escalated", _("Escalated")

    notification = models.ForeignKey(
        Notification, verbose_name=_("notification"), on_delete=models.CASCADE, related_name="deliveries"
    )
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("recipient"), null=True, blank=True, on_delete=models.CASCADE,
        related_name="+",
    )  # fmt: skip
    address = models.CharField(_("address"), max_length=254, help_text=_("E-mail address or phone number"))
    name = models.CharField(_("recipient name"), max_length=128, blank=True)
    state = models.CharField(_("state"), max_length=12, choices=State.choices, default=State.QUEUED, db_index=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.CharField(_("last error"), max_length=500, blank=True)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    reference = models.UUIDField(_("reference"), default=uuid.uuid4, unique=True, editable=False)
    provider_id = models.CharField(_("provider message id"), max_length=65, blank=True, db_index=True)
    escalation_step = models.PositiveSmallIntegerField(_("escalation step"), default=0)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        constraints = [
            models.UniqueConstraint(fields=["notification", "channel", "address"], name="notify_delivery_once")
        ]
        indexes = [models.Index(fields=["notification", "channel", "state"])]

    def __str__(self) -> str:
        return f"{self.notification_id}/{self.channel}/{self.address}"


class PublicWarning(models.Model):
    """公众预警: a CAP 1.2 alert as published on /warnings/ (one alert, one info block in zh-CN, one area)."""

    class Status(models.TextChoices):
        ACTUAL = "Actual", _("Actual")
        EXERCISE = "Exercise", _("Exercise (drill)")

    class MsgType(models.TextChoices):
        ALERT = "Alert", _("Alert")
        UPDATE = "Update", _("Update")
        CANCEL = "Cancel", _("Cancel")

    class Category(models.TextChoices):
        GEO = "Geo", _("Geophysical")
        MET = "Met", _("Meteorological")
        SAFETY = "Safety", _("Public safety")
        SECURITY = "Security", _("Security")
        RESCUE = "Rescue", _("Rescue")
        FIRE = "Fire", _("Fire")
        HEALTH = "Health", _("Health")
        ENV = "Env", _("Environment")
        TRANSPORT = "Transport", _("Transport")
        INFRA = "Infra", _("Infrastructure and utilities")
        CBRNE = "CBRNE", _("Chemical, biological, radiological, nuclear, explosive")
        OTHER = "Other", _("Other")

    class Urgency(models.TextChoices):
        IMMEDIATE = "Immediate", _("Immediate")
        EXPECTED = "Expected", _("Expected")
        FUTURE = "Future", _("Future")
        PAST = "Past", _("Past")
        UNKNOWN = "Unknown", _("Unknown")

    class CapSeverity(models.TextChoices):
        EXTREME = "Extreme", _("Extreme")
        SEVERE = "Severe", _("Severe")
        MODERATE = "Moderate", _("Moderate")
        MINOR = "Minor", _("Minor")
        UNKNOWN = "Unknown", _("Unknown")

    class Certainty(models.TextChoices):
        OBSERVED = "Observed", _("Observed")
        LIKELY = "Likely", _("Likely")
        POSSIBLE = "Possible", _("Possible")
        UNLIKELY = "Unlikely", _("Unlikely")
        UNKNOWN = "Unknown", _("Unknown")

    identifier = models.CharField(_("identifier"), max_length=64, unique=True)
    sent = models.DateTimeField(_("sent"))
    status = models.CharField(_("status"), max_length=8, choices=Status.choices)
    msg_type = models.CharField(_("message type"), max_length=8, choices=MsgType.choices, default=MsgType.ALERT)
    references = models.ForeignKey(
        "self", verbose_name=_("updates or cancels"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="followed_by",
    )  # fmt: skip
    category = models.CharField(_("category"), max_length=10, choices=Category.choices)
    event = models.CharField(_("event"), max_length=64)
    urgency = models.CharField(_("urgency"), max_length=10, choices=Urgency.choices)
    severity = models.CharField(_("severity"), max_length=10, choices=CapSeverity.choices)
    certainty = models.CharField(_("certainty"), max_length=10, choices=Certainty.choices)
    headline = models.CharField(_("headline"), max_length=160)
    description = models.TextField(_("description"))
    instruction = models.TextField(_("instruction"), blank=True)
    area_desc = models.CharField(_("area description"), max_length=200)
    polygon = models.PolygonField(_("area polygon"), srid=4326, null=True, blank=True)
    circle_center = models.PointField(_("area circle centre"), srid=4326, null=True, blank=True)
    circle_radius_km = models.FloatField(_("area circle radius (km)"), null=True, blank=True)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("issued by"), null=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-sent", "-id"]
        verbose_name = _("public warning")
        verbose_name_plural = _("public warnings")

    def __str__(self) -> str:
        return self.headline
