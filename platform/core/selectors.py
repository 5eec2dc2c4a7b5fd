"""Read queries of the core app."""

import functools

from django.conf import settings
from django.contrib.gis.db.models import Extent
from django.contrib.gis.geos import Polygon
from django.db.models import Max, Q

from .models import AdminArea, CityProfile, Event
from .realtime import REPLAY_LIMIT, TOPIC_DOMAINS, Viewer


def event_head() -> int:
    """The seq of the last committed event (0 for an empty log)."""
    return Event.objects.aggregate(head=Max("seq"))["head"] or 0


def topic_visibility(viewer: Viewer, topic: str) -> Q:
    """The event log rows of `topic` a viewer may see by organisation: events for every organisation (no `orgs`), or
    for one of the viewer's (a command centre of the topic's domain sees them all)."""
    orgs = viewer.orgs_in(TOPIC_DOMAINS.get(topic))
    return Q(topic=topic) & (Q() if orgs is None else Q(orgs=[]) | Q(orgs__overlap=sorted(orgs)))


def events_after(since: int, topics, viewer: Viewer, bbox=None, until: int | None = None):
    """Visible events with `since < seq <= until` (default: the head), in order, and that upper bound.

    Every seq up to the head read first is already committed (seq order is commit order), so the
    bound is exact: the caller has seen everything up to it. Returns (None, head) when more than
    REPLAY_LIMIT events match; the caller then sends a fresh snapshot instead.
    """
    upper = until if until is not None else event_head()
    visible = Q(pk__in=[])
    for topic in topics:
        visible |= topic_visibility(viewer, topic)
    rows = Event.objects.filter(visible, seq__gt=since, seq__lte=upper).order_by("seq")
    if bbox is not None:
        rows = rows.filter(Q(geom__isnull=True) | Q(geom__bboverlaps=Polygon.from_bbox(bbox)))
    events = list(rows[: REPLAY_LIMIT + 1])
    if len(events) > REPLAY_LIMIT:
        return None, event_head()
    return events, upper


def city_profile() -> CityProfile | None:
    """The city this deployment runs (None until `setup_city` or the demo loader made it)."""
    return CityProfile.objects.select_related("boundary").first()


@functools.cache
def metric_srid() -> int:
    """The EPSG code of the city's projected CRS: lengths, areas and buffers are computed in it, on the fly
    (geometries are stored in WGS84). The deployment's CITYOPS_METRIC_SRID until a city is set up.

    Kept per process and read again after a save of the profile, at each request and at each job (core/apps.py,
    core/jobs.py), so an edit in the admin reaches every process; code that converts there and back within one
    piece of work reads it once."""
    profile = CityProfile.objects.only("projected_srid").first()
    return profile.projected_srid if profile else settings.CITYOPS_METRIC_SRID


def forget_metric_srid(**_signal) -> None:
    metric_srid.cache_clear()


def city_boundary() -> AdminArea | None:
    """The city's boundary area: what incidents and imports must lie in (None before a city is set up)."""
    profile = city_profile()
    return profile.boundary if profile else None


def city_home() -> dict:
    """Where every map starts, for the page scripts: the profile's centre and zoom, the boundary's extent (a map
    that shows the whole city fits it) and the optional external base layer; the whole world before a city."""
    profile = CityProfile.objects.annotate(extent=Extent("boundary__geom")).first()  # one query, with the extent
    if profile is None:
        return {"center": [0.0, 20.0], "zoom": 2.0, "bounds": None, "baseLayer": None}
    west, south, east, north = profile.extent
    base_layer = None
    if profile.base_layer_url:
        base_layer = {"url": profile.base_layer_url, "attribution": profile.base_layer_attribution}
    return {
        "center": [profile.home_center.x, profile.home_center.y],
        "zoom": profile.home_zoom,
        "bounds": [west, south, east, north],
        "baseLayer": base_layer,
    }


def areas(level: str | None = None, parent_code: str | None = None):
    qs = AdminArea.objects.select_related("parent")
    if level:
        qs = qs.filter(level=level)
    if parent_code:
        qs = qs.filter(parent__code=parent_code)
    return qs


def areas_containing(point):
    """The administrative areas at every level that contain a point, city first."""
    return list(AdminArea.objects.filter(geom__intersects=point).order_by("code"))


def jurisdiction(user) -> AdminArea | None:
    """The area the user's organisation answers for; None: the whole city."""
    if user.is_superuser or user.organisation_id is None:
        return None
    return user.organisation.area


def in_area(area: AdminArea | None, field: str = "geom") -> Q:
    """Rows whose `field` lies in the area (all rows for the whole city)."""
    return Q() if area is None else Q(**{f"{field}__intersects": area.geom})


def in_commanded_area(viewer: Viewer, domain: str, field: str = "geom") -> Q:
    """Rows of a domain the viewer commands that lie in its organisation's area (all rows: no such limit)."""
    area_id = viewer.area_in(domain)
    return Q() if area_id is None else in_area(AdminArea.objects.get(pk=area_id), field)
