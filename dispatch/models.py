"""Where emergency units are based."""

from core.models import AdminArea, Organisation
from django.contrib.gis.db import models
from django.utils.translation import gettext_lazy as _


class Station(models.Model):
    class Kind(models.TextChoices):
        POLICE_STATION = "police_station", _("Police station")
        FIRE_STATION = "fire_station", _("Fire station")
        HOSPITAL = "hospital", _("Hospital / ambulance station")
        TRAFFIC_POST = "traffic_post", _("Traffic police post")

    name = models.CharField(_("name"), max_length=128)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    agency = models.ForeignKey(Organisation, verbose_name=_("agency"), on_delete=models.PROTECT)
    address = models.CharField(_("address"), max_length=128, blank=True)
    district = models.ForeignKey(AdminArea, verbose_name=_("district"), on_delete=models.PROTECT)
    geom = models.PointField(_("location"), srid=4326)

    class Meta:
        ordering = ["name"]
        verbose_name = _("station")
        verbose_name_plural = _("stations")

    def __str__(self) -> str:
        return self.name
