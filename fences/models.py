"""Fences drawn by operators, the rules attached to them, and where each vehicle is (for dwell, enter and exit)."""

from django.contrib.gis.db import models
from django.utils.translation import gettext_lazy as _

from core.models import Organisation, User
from dispatch.models import Vehicle, VehicleGroup


class Fence(models.Model):
    """An area on the map. The drawn shape is kept (to edit it again); ``geom`` is the area the rules test,
    derived from it with a metric buffer in the city's projected CRS (services.fence_area)."""

    class Shape(models.TextChoices):
        POLYGON = "polygon", _("Polygon")
        CIRCLE = "circle", _("Circle")
        CORRIDOR = "corridor", _("Corridor along a route")

    name = models.CharField(_("name"), max_length=128)
    organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("organisation"),
        on_delete=models.PROTECT,
        help_text=_("The organisation that keeps the fence; its staff see and edit it."),
    )
    shape = models.CharField(_("shape"), max_length=16, choices=Shape.choices)
    drawn = models.GeometryField(
        _("drawn shape"), srid=4326, help_text=_("A polygon, the circle's centre, or the corridor's line.")
    )
    radius_m = models.FloatField(
        _("radius / half-width (m)"), null=True, blank=True, help_text=_("A circle's radius, a corridor's half-width.")
    )
    geom = models.MultiPolygonField(_("area"), srid=4326)
    note = models.CharField(_("note"), max_length=255, blank=True)
    created_by = models.ForeignKey(User, verbose_name=_("created by"), null=True, on_delete=models.SET_NULL)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("fence")
        verbose_name_plural = _("fences")

    def __str__(self) -> str:
        return self.name


class Rule(models.Model):
    """What a fence means for which vehicles, and when: see fences.engine for how each trigger is evaluated."""

    class Target(models.TextChoices):
        ALL = "all", _("All vehicles")
        VEHICLE = "vehicle", _("One vehicle")
        KIND = "kind", _("A vehicle kind")
        GROUP = "group", _("A vehicle group")

    class Trigger(models.TextChoices):
        ENTER = "enter", _("Enters")
        EXIT = "exit", _("Leaves")
        DWELL = "dwell", _("Stays longer than")
        SPEED = "speed", _("Faster inside than")
        NO_GO = "no_go", _("Dangerous goods inside (no-go)")

    class Severity(models.TextChoices):
        INFO = "info", _("Information")
        WARNING = "warning", _("Warning")
        URGENT = "urgent", _("Urgent")

    fence = models.ForeignKey(Fence, verbose_name=_("fence"), on_delete=models.CASCADE, related_name="rules")
    target = models.CharField(_("applies to"), max_length=8, choices=Target.choices, default=Target.ALL)
    vehicle = models.ForeignKey(
        Vehicle, verbose_name=_("vehicle"), null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    vehicle_kind = models.CharField(_("vehicle kind"), max_length=24, choices=Vehicle.Kind.choices, blank=True)
    group = models.ForeignKey(
        VehicleGroup, verbose_name=_("vehicle group"), null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    trigger = models.CharField(_("trigger"), max_length=8, choices=Trigger.choices)
    threshold = models.FloatField(
        _("threshold"), null=True, blank=True, help_text=_("Minutes for a dwell rule, km/h for a speed rule.")
    )
    calendar = models.JSONField(
        _("time windows"),
        default=list,
        blank=True,
        help_text=_('[{"weekdays": [0..6], "ranges": [["07:00", "09:00"]], "dates_off": ["2026-10-01"]}]; '
                    "empty: always. Local time of the city; 0 is Monday."),
    )  # fmt: skip
    active = models.BooleanField(_("active"), default=True)
    severity = models.CharField(_("severity"), max_length=8, choices=Severity.choices, default=Severity.WARNING)

    class Meta:
        ordering = ["fence", "id"]
        verbose_name = _("fence rule")
        verbose_name_plural = _("fence rules")

    def __str__(self) -> str:
        return f"{self.fence} · {self.get_trigger_display()}"

    @property
    def key(self) -> str:
        """The rule's name in the alarms it raises (``Alarm.rule``)."""
        return f"fence-rule-{self.pk}"


class Presence(models.Model):
    """A vehicle inside a fence since ``entered_at`` (the fix that entered): kept in the table, so dwell and
    enter/exit continue across an ingest restart and between the processes that store positions."""

    vehicle = models.ForeignKey(Vehicle, on_delete=models.CASCADE, related_name="+")
    fence = models.ForeignKey(Fence, on_delete=models.CASCADE, related_name="+")
    entered_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["vehicle", "fence"], name="fences_one_presence")]
