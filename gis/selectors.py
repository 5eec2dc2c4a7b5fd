"""Read queries of the spatial data app."""

from django.db.models import Q, QuerySet

from .models import Road, SavedQuery


def roads(classes=()):
    qs = Road.objects.order_by("id")
    return qs.filter(road_class__in=classes) if classes else qs


def saved_queries_for(user) -> QuerySet:
    """The user's own queries and those shared in their organisation."""
    visible = Q(owner=user)
    if user.organisation_id:
        visible |= Q(shared=True, organisation_id=user.organisation_id)
    return SavedQuery.objects.filter(visible).select_related("owner").order_by("name", "id")
