"""State changes of the core app; each one audited and published in its own transaction."""

from django.contrib.gis.geos import MultiPolygon
from django.db import models, transaction

from .events import publish
from .models import AdminArea, AuditEntry, User


def record_audit(
    actor: User | None,
    action: str,
    target,
    summary: str = "",
    changes: dict | None = None,
    source: str | None = None,
):
    """One audit row; call it inside the transaction that makes the change. `target` is a row, a model (a bulk
    import: no id) or None (a failed sign-in names no account); `source` is the client's address where a request or
    a device connection made the change."""
    return AuditEntry.objects.create(
        actor=actor if actor is not None and actor.is_authenticated else None,
        action=action,
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if isinstance(target, models.Model) else "",
        summary=summary[:255],
        changes=changes or {},
        source=source,
    )


def area_feature(area: AdminArea) -> dict:
    return {
        "type": "Feature",
        "id": area.code,
        "geometry": None,
        "properties": {"code": area.code, "name": area.name, "level": area.level},
    }


@transaction.atomic
def update_area(actor: User, area: AdminArea, *, name: str | None = None, geom=None) -> AdminArea:
    """Correct an area's name or boundary (e.g. after a re-survey)."""
    changes = {}
    if name is not None and name != area.name:
        changes["name"] = [area.name, name]
        area.name = name
    if geom is not None:
        if geom.geom_type == "Polygon":
            geom = MultiPolygon(geom, srid=geom.srid)
        changes["geom"] = "boundary redrawn"
        area.geom = geom
    if not changes:
        return area
    area.save()
    record_audit(actor, "area.update", area, f"{area.code} {area.name}", changes)
    publish("areas", "area.updated", area_feature(area), geom=area.geom.envelope)
    return area
