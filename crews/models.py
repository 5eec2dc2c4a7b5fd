"""Crew sign-ons to vehicles, and the answers to MDT actions kept for their idempotency keys."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class CrewSignOn(models.Model):
    """A crew member on one of their agency's vehicles for a shift: the MDT shows that vehicle's assignment.

    Open while ``ended_at`` is null; a person has at most one open sign-on (several people may crew one vehicle).
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("crew member"), on_delete=models.CASCADE, related_name="crew_sign_ons"
    )
    vehicle = models.ForeignKey(
        "dispatch.Vehicle", verbose_name=_("vehicle"), on_delete=models.CASCADE, related_name="crew_sign_ons"
    )
    started_at = models.DateTimeField(_("signed on at"))
    ended_at = models.DateTimeField(_("signed off at"), null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(fields=["user"], condition=Q(ended_at__isnull=True), name="one_open_crew_sign_on")
        ]
        verbose_name = _("crew sign-on")
        verbose_name_plural = _("crew sign-ons")

    def __str__(self) -> str:
        return f"{self.user} @ {self.vehicle}"


class CrewAction(models.Model):
    """An MDT action as it was answered, under the Idempotency-Key the device made for it: the outbox may send
    it again after a lost answer (or replay it after a day offline) and gets the same answer, never a second
    change."""

    key = models.CharField(_("idempotency key"), max_length=100, unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("crew member"), on_delete=models.CASCADE)
    request = models.CharField(_("request"), max_length=200, help_text=_("What was asked: path and parameters."))
    status_code = models.PositiveSmallIntegerField(_("answer status"))
    answer = models.JSONField(_("answer"))
    at = models.DateTimeField(_("answered at"), auto_now_add=True)

    class Meta:
        verbose_name = _("crew action")
        verbose_name_plural = _("crew actions")

    def __str__(self) -> str:
        return f"{self.request} ({self.status_code})"
