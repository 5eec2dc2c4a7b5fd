"""What leaders and operators draw on a major incident's situation map (态势图)."""

from django.conf import settings
from django.contrib.gis.db import models
from django.utils.translation import gettext_lazy as _


class Annotation(models.Model):
    """One symbol of the small standard set, drawn by an operator on one incident's situation map."""

    class Symbol(models.TextChoices):
        COMMAND_POST = "command_post", _("Command post")
        CORDON = "cordon", _("Cordon")
        EVACUATION_ROUTE = "evacuation_route", _("Evacuation route")
        WATER_SOURCE = "water_source", _("Water source")
        HAZARD_AREA = "hazard_area", _("Hazard area")

    # A plain number, not a foreign key: the dispatch app's models evolve on their own schedule.
    incident_id = models.BigIntegerField(_("dispatch incident id"), db_index=True)
    symbol = models.CharField(_("symbol"), max_length=24, choices=Symbol.choices)
    label = models.CharField(_("label"), max_length=100, blank=True)
    geom = models.GeometryField(_("geometry"), srid=4326)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("drawn by"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("drawn at"), auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("situation map annotation")
        verbose_name_plural = _("situation map annotations")

    def __str__(self) -> str:
        return f"{self.symbol} #{self.pk} (incident {self.incident_id})"


# Which geometry each symbol takes: points for places, lines for routes, polygons (or lines) for areas.
SYMBOL_GEOMETRIES = {
    Annotation.Symbol.COMMAND_POST: {"Point"},
    Annotation.Symbol.WATER_SOURCE: {"Point"},
    Annotation.Symbol.EVACUATION_ROUTE: {"LineString"},
    Annotation.Symbol.CORDON: {"LineString", "Polygon"},
    Annotation.Symbol.HAZARD_AREA: {"Polygon", "MultiPolygon"},
}
# Areas whose population the situation map counts (people inside the cordon or the hazard area).
AFFECTED_AREA_SYMBOLS = (Annotation.Symbol.CORDON, Annotation.Symbol.HAZARD_AREA)
