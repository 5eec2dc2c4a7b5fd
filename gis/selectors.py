"""Read queries of the spatial data app."""

from django.db import connection
from django.db.models import Q, QuerySet

from .models import Road, SavedQuery


def roads(classes=()):
    qs = Road.objects.order_by("id")
    return qs.filter(road_class__in=classes) if classes else qs


def road_network_version() -> int:
    """A number that changes in the transaction of any change to roads or turn restrictions (a trigger writes it):
    one indexed-free read of a one-row table, cheap enough for every request that routes."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT version FROM geo_road_network_version")
        return cursor.fetchone()[0]


def saved_queries_for(user) -> QuerySet:
    """The user's own queries and those shared in their organisation."""
    visible = Q(owner=user)
    if user.organisation_id:
        visible |= Q(shared=True, organisation_id=user.organisation_id)
    return SavedQuery.objects.filter(visible).select_related("owner").order_by("name", "id")
