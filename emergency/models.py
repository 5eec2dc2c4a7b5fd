"""Response plans (versioned: an incident keeps the version it ran) and their activations on incidents."""

from django.conf import settings
from django.contrib.gis.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.models import AdminArea
from dispatch.models import Incident, IncidentType


class ResponsePlan(models.Model):
    """One version of a plan. A revision is a new row (version + 1, current); the old one stays for the incidents
    that ran it. Scope: an incident type, a district or the whole city, optionally a drawn zone and hours of the day."""

    code = models.CharField(_("code"), max_length=48)
    version = models.PositiveIntegerField(_("version"), default=1)
    current = models.BooleanField(_("current"), default=True)
    name = models.CharField(_("name"), max_length=128)
    incident_type = models.ForeignKey(IncidentType, verbose_name=_("incident type"), on_delete=models.PROTECT)
    district = models.ForeignKey(
        AdminArea, verbose_name=_("district"), null=True, blank=True, on_delete=models.PROTECT,
        limit_choices_to={"level": AdminArea.Level.DISTRICT}, help_text=_("Empty: the whole city."),
    )  # fmt: skip
    zone = models.MultiPolygonField(_("zone"), srid=4326, null=True, blank=True)
    hours_from = models.TimeField(_("from (local time)"), null=True, blank=True)
    hours_to = models.TimeField(_("to (local time)"), null=True, blank=True)
    rank = models.IntegerField(_("rank"), default=0, help_text=_("Between equally specific plans, higher wins."))
    affected_radius_m = models.PositiveIntegerField(
        _("affected radius (m)"), default=500, help_text=_("People within it count as affected.")
    )
    levels = models.JSONField(_("response levels"))
    note = models.CharField(_("revision note"), max_length=255, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), null=True, blank=True, on_delete=models.SET_NULL
    )

    class Meta:
        ordering = ["code", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["code", "version"], name="emergency_plan_version_unique"),
            models.UniqueConstraint(fields=["code"], condition=Q(current=True), name="emergency_plan_one_current"),
            models.CheckConstraint(
                condition=Q(hours_from__isnull=True, hours_to__isnull=True)
                | Q(hours_from__isnull=False, hours_to__isnull=False),
                name="emergency_plan_hours_both_or_none",
            ),
        ]
        indexes = [models.Index(fields=["incident_type"], condition=Q(current=True), name="emergency_plan_current")]
        verbose_name = _("response plan")
        verbose_name_plural = _("response plans")

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"


class Activation(models.Model):
    """A plan run on an incident: the version and level in force, and what the suggestion saw."""

    incident = models.OneToOneField(
        Incident, verbose_name=_("incident"), on_delete=models.CASCADE, related_name="plan_activation"
    )
    plan = models.ForeignKey(ResponsePlan, verbose_name=_("plan version"), on_delete=models.PROTECT)
    level = models.PositiveSmallIntegerField(_("response level"))
    facts = models.JSONField(_("facts at activation"), default=dict)
    activated_at = models.DateTimeField(_("activated"))
    activated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("activated by"), null=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("plan activation")
        verbose_name_plural = _("plan activations")

    def __str__(self) -> str:
        return f"{self.incident} {self.plan} L{self.level}"


class LevelChange(models.Model):
    """Activation (from_level null), escalation or de-escalation, with the operator's reason."""

    activation = models.ForeignKey(Activation, on_delete=models.CASCADE, related_name="changes")
    at = models.DateTimeField(_("time"))
    from_level = models.PositiveSmallIntegerField(_("from level"), null=True)
    to_level = models.PositiveSmallIntegerField(_("to level"))
    reason = models.CharField(_("reason"), max_length=255, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["at", "pk"]


class ChecklistItem(models.Model):
    """An action the plan asks for at a level, with its owner and deadline; done by someone, with a note."""

    activation = models.ForeignKey(Activation, on_delete=models.CASCADE, related_name="checklist")
    level = models.PositiveSmallIntegerField(_("level that asked for it"))
    text = models.CharField(_("action"), max_length=200)
    owner = models.CharField(_("owner"), max_length=64)
    due_at = models.DateTimeField(_("due"))
    done_at = models.DateTimeField(_("done"), null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.CharField(_("note"), max_length=255, blank=True)

    class Meta:
        ordering = ["due_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["activation", "text"], name="emergency_checklist_action_once"),
        ]


class CaseIncidentLink(models.Model):
    """平战结合: a 数字城管 case escalated into an incident, or a follow-up case an incident spawned (one link per
    pair). Both sides' histories carry a line of their own; this row is what the link views read."""

    class Kind(models.TextChoices):
        ESCALATION = "escalation", _("Escalation (a case became an incident)")
        FOLLOW_UP = "follow_up", _("Follow-up (an incident spawned a case)")

    case = models.ForeignKey(
        "grid.Case", verbose_name=_("case"), on_delete=models.CASCADE, related_name="incident_links"
    )
    incident = models.ForeignKey(
        Incident, verbose_name=_("incident"), on_delete=models.CASCADE, related_name="case_links"
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    note = models.CharField(_("note"), max_length=255, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), null=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["case", "incident"], name="emergency_case_incident_once"),
            # a case becomes an incident once; escalating it again answers the incident it already became
            models.UniqueConstraint(
                fields=["case"], condition=Q(kind="escalation"), name="emergency_case_escalated_once"
            ),
        ]
        verbose_name = _("case–incident link")
        verbose_name_plural = _("case–incident links")

    def __str__(self) -> str:
        return f"{self.case} ↔ {self.incident} ({self.kind})"
