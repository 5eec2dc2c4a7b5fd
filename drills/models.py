"""Drill scenarios (scripts) and the drills run from them, step by step."""

from django.conf import settings
from django.contrib.gis.db import models
from django.utils.translation import gettext_lazy as _

from dispatch.models import Incident


class Scenario(models.Model):
    """A scripted exercise (演练脚本): its steps (drills.script) and where it is played by default."""

    code = models.SlugField(_("code"), max_length=48, unique=True)
    name = models.CharField(_("name"), max_length=128)
    description = models.TextField(_("description"), blank=True)
    steps = models.JSONField(_("steps"))
    place = models.PointField(_("default place"), srid=4326)

    class Meta:
        ordering = ["code"]
        verbose_name = _("drill scenario")
        verbose_name_plural = _("drill scenarios")

    def __str__(self) -> str:
        return self.name


class Drill(models.Model):
    """One run of a scenario. Its incident is an exercise (dispatch.Incident.exercise): marked 演练 everywhere and
    never counted in the KPIs."""

    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        FINISHED = "finished", _("Finished")

    scenario = models.ForeignKey(Scenario, verbose_name=_("scenario"), on_delete=models.PROTECT)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.RUNNING)
    place = models.PointField(_("place"), srid=4326)
    incident = models.ForeignKey(
        Incident, verbose_name=_("incident"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_at = models.DateTimeField(_("started"))
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]
        verbose_name = _("drill")
        verbose_name_plural = _("drills")


class DrillStep(models.Model):
    """A step of the script, due at a time; done once (a step job that runs twice finds it done)."""

    drill = models.ForeignKey(Drill, on_delete=models.CASCADE, related_name="steps")
    index = models.PositiveSmallIntegerField()
    kind = models.CharField(max_length=16)
    spec = models.JSONField()
    due_at = models.DateTimeField()
    done_at = models.DateTimeField(null=True, blank=True)
    result = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["drill", "index"]
        constraints = [models.UniqueConstraint(fields=["drill", "index"], name="drills_step_once")]
