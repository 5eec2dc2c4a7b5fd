"""State changes of the decision maps: the symbols operators draw on a situation map."""

from django.contrib.gis.geos import GEOSGeometry
from django.db import transaction
from django.utils.translation import gettext as _
from rest_framework.exceptions import PermissionDenied

from core.errors import InputError
from core.events import publish
from core.geo import parse_geometry
from core.models import Role
from dispatch import selectors as dispatch_selectors
from dispatch.models import Incident

from .models import SYMBOL_GEOMETRIES, Annotation
from .selectors import annotation_feature

LABEL_MAX = 100
EVENT_TOPIC = "incidents"


def _publish(incident: Incident, type_: str, data: dict, geom: GEOSGeometry | None) -> None:
    """On the incidents topic, to the same organisations that see the incident itself."""
    publish(EVENT_TOPIC, type_, data, geom=geom, orgs=dispatch_selectors.agency_org_ids(incident.agencies))


@transaction.atomic
def add_annotation(user, incident: Incident, *, symbol: str, geometry, label: str = "", crs=None) -> Annotation:
    if symbol not in Annotation.Symbol.values:
        raise InputError("symbol", f"symbol must be one of {', '.join(Annotation.Symbol.values)}")
    geom = parse_geometry(geometry, crs)
    allowed = SYMBOL_GEOMETRIES[symbol]
    if geom.geom_type not in allowed:
        raise InputError("geometry", f"a {symbol} is drawn as {' or '.join(sorted(allowed))}, not {geom.geom_type}")
    if not geom.valid:
        raise InputError("geometry", f"invalid geometry: {geom.valid_reason}")
    label = (label or "").strip()
    if len(label) > LABEL_MAX:
        raise InputError("label", f"at most {LABEL_MAX} characters")
    annotation = Annotation.objects.create(
        incident_id=incident.pk, symbol=symbol, label=label, geom=geom, created_by=user
    )
    _publish(incident, "situation.annotation_added", annotation_feature(annotation), annotation.geom)
    return annotation


@transaction.atomic
def removes_any(user) -> bool:
    """An administrator may remove any symbol drawn on a situation map."""
    return user.is_superuser or user.has_role(Role.ADMIN)


def may_remove(user, annotation: Annotation) -> bool:
    """Who drew a symbol removes it, or an administrator: a leader does not erase a colleague's cordon."""
    return removes_any(user) or annotation.created_by_id == user.pk


def delete_annotation(user, incident: Incident, annotation: Annotation) -> None:
    if not may_remove(user, annotation):
        drawn_by = annotation.created_by.get_full_name() if annotation.created_by_id else "?"
        raise PermissionDenied(_("drawn by %(name)s: only they or an administrator may remove it") % {"name": drawn_by})
    data = {"type": "Feature", "id": annotation.pk, "geometry": None, "properties": {"incident_id": incident.pk}}
    geom = annotation.geom
    annotation.delete()
    _publish(incident, "situation.annotation_removed", data, geom)
