"""Read queries of the spatial data app."""

from .models import Road


def roads(classes=()):
    qs = Road.objects.order_by("id")
    return qs.filter(road_class__in=classes) if classes else qs
