"""The daily roll-up of the track: each closed day's trips, stops, speeding episodes and mileage per vehicle.

A month's report over 2,000 vehicles cannot be computed from tens of millions of raw fixes in seconds, so
``services.roll_up_day`` stores what ``episodes.EPISODES_SQL`` computes from the track table for one local day, and
the reports read these rows for the rolled days and compute the rest (today, days not rolled yet) on the fly with
the same SQL: the two paths give the same rows.
"""

from django.contrib.gis.db import models
from django.utils.translation import gettext_lazy as _

from dispatch.models import Vehicle


class Episode(models.Model):
    """One trip, stop or speeding episode of a vehicle in a local day, or the day's whole track (mileage)."""

    class Kind(models.TextChoices):
        TRIP = "trip", _("Trip")
        STOP = "stop", _("Stop")
        SPEEDING = "speeding", _("Speeding")
        TRACK = "track", _("Day's track")

    vehicle = models.ForeignKey(Vehicle, on_delete=models.CASCADE, related_name="+")
    day = models.DateField(_("day"))
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    started_at = models.DateTimeField(_("start"))
    ended_at = models.DateTimeField(_("end"))
    start_geom = models.PointField(_("start place"), srid=4326)
    end_geom = models.PointField(_("end place"), srid=4326)
    distance_m = models.FloatField(_("distance (m)"), default=0)
    max_speed_kmh = models.FloatField(_("maximum speed (km/h)"), default=0)
    limit_kmh = models.FloatField(_("speed limit (km/h)"), null=True, blank=True)
    fixes = models.PositiveIntegerField(_("fixes"), default=0)

    class Meta:
        indexes = [models.Index(fields=["day", "kind", "vehicle"], name="trips_episode_day_kind")]
        verbose_name = _("track episode")
        verbose_name_plural = _("track episodes")


class RolledDay(models.Model):
    """A local day whose episodes are stored; ``rolled_at`` tells which later-received fixes it lacks."""

    day = models.DateField(_("day"), primary_key=True)
    rolled_at = models.DateTimeField(_("rolled up at"))

    class Meta:
        verbose_name = _("rolled-up day")
        verbose_name_plural = _("rolled-up days")
