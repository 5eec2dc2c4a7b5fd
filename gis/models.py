"""The road network (routing and base map) and address points (geocoding)."""

from django.contrib.gis.db import models
from django.utils.translation import gettext_lazy as _

from core.models import AdminArea


class Road(models.Model):
    """One segment between two intersections, digitised in the travel direction when one-way."""

    class RoadClass(models.TextChoices):
        EXPRESSWAY = "expressway", _("Expressway")
        ARTERIAL = "arterial", _("Arterial road")
        SECONDARY = "secondary", _("Secondary road")
        BRANCH = "branch", _("Branch road")

    name = models.CharField(_("name"), max_length=64, db_index=True)
    road_class = models.CharField(_("class"), max_length=16, choices=RoadClass.choices)
    speed_kmh = models.FloatField(_("speed (km/h)"))
    oneway = models.BooleanField(_("one-way"), default=False)
    lanes = models.PositiveSmallIntegerField(_("lanes"), default=2)
    geom = models.LineStringField(_("geometry"), srid=4326)
    osm_way_id = models.BigIntegerField(_("OSM way id"), null=True, blank=True, db_index=True)
    """Set for segments imported from OpenStreetMap (one way is cut into segments at intersections)."""

    class Meta:
        verbose_name = _("road segment")
        verbose_name_plural = _("roads")

    def __str__(self) -> str:
        return self.name


class Address(models.Model):
    road_name = models.CharField(_("road"), max_length=64)
    number = models.PositiveIntegerField(_("number"))
    label = models.CharField(_("address"), max_length=128, db_index=True)
    district = models.ForeignKey(AdminArea, verbose_name=_("district"), on_delete=models.PROTECT)
    geom = models.PointField(_("location"), srid=4326)

    class Meta:
        ordering = ["label"]
        verbose_name = _("address")
        verbose_name_plural = _("addresses")

    def __str__(self) -> str:
        return self.label


class Landcover(models.Model):
    """Water and green areas of the base map (rivers, lakes, parks, woodland)."""

    class Kind(models.TextChoices):
        WATER = "water", _("Water")
        PARK = "park", _("Park")
        WOODLAND = "woodland", _("Woodland")

    name = models.CharField(_("name"), max_length=64, blank=True)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, db_index=True)
    geom = models.MultiPolygonField(_("geometry"), srid=4326)

    class Meta:
        verbose_name = _("land cover area")
        verbose_name_plural = _("land cover")

    def __str__(self) -> str:
        return self.name or self.get_kind_display()
