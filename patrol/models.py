"""Tables of inspector patrol: the positions an inspector's tablet reports, and the shifts they patrol.

Shifts are the patrol's own (an inspector patrols grids, not a duty desk, so duty's desk roster does not fit): one
row per inspector and working period, written by the grid dispatcher or imported from the city's schedule.
"""

from django.conf import settings
from django.contrib.gis.db import models
from django.contrib.postgres.indexes import BrinIndex
from django.utils.translation import gettext_lazy as _


class Position(models.Model):
    """One fix of an inspector's tablet. (inspector, at) is unique, so a batch resent from the tablet's outbox
    after a lost answer stores nothing twice."""

    inspector = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("inspector"), on_delete=models.CASCADE, related_name="+",
        db_index=False,
    )  # fmt: skip
    at = models.DateTimeField(_("time of the fix"))
    geom = models.PointField(_("position"), srid=4326, spatial_index=False)
    accuracy_m = models.FloatField(_("accuracy (m)"), null=True, blank=True)
    received_at = models.DateTimeField(_("received"), auto_now_add=True)

    class Meta:
        ordering = ["inspector", "at"]
        constraints = [models.UniqueConstraint(fields=["inspector", "at"], name="patrol_position_once")]
        # the unique (inspector, at) index serves one inspector's track; BRIN serves a period over all of them
        # (rows arrive in time order, so the block ranges stay tight and the index tiny)
        indexes = [BrinIndex(fields=["at"], name="patrol_position_at_brin")]
        verbose_name = _("patrol position")
        verbose_name_plural = _("patrol positions")

    def __str__(self) -> str:
        return f"{self.inspector_id} {self.at:%Y-%m-%d %H:%M:%S}"


class PatrolShift(models.Model):
    """An inspector's working period [start, end): the time they are expected to patrol their grids."""

    inspector = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("inspector"), on_delete=models.CASCADE, related_name="patrol_shifts"
    )
    start = models.DateTimeField(_("start"))
    end = models.DateTimeField(_("end"))

    class Meta:
        ordering = ["start", "inspector"]
        indexes = [models.Index(fields=["inspector", "start"])]
        constraints = [models.CheckConstraint(condition=models.Q(end__gt=models.F("start")), name="patrol_shift_order")]
        verbose_name = _("patrol shift")
        verbose_name_plural = _("patrol shifts")

    def __str__(self) -> str:
        return f"{self.inspector_id} {self.start:%Y-%m-%d %H:%M}–{self.end:%H:%M}"
