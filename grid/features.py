"""A case as a GeoJSON Feature: the one shape the API, the event log and the consoles show, built for the reads
(selectors) and for the events the writes publish (services)."""

from datetime import datetime

from django.utils import timezone

from core.geo import point_feature
from core.models import User

from . import workflow
from .models import Case
from .workflow import State


def timer_state(case: Case, now: datetime | None = None) -> str | None:
    """green / yellow / red of the running clock; None when no clock runs (reported, suspended, closed …)."""
    if case.deadline_at is None:
        return None
    now = now or timezone.now()
    if now > case.deadline_at:
        return Case.Timer.RED
    if case.yellow_at is not None and now >= case.yellow_at:
        return Case.Timer.YELLOW
    return Case.Timer.GREEN


def photo_url(photo_id: int) -> str:
    return f"/api/grid/photos/{photo_id}/"


def _person(user: User | None) -> dict | None:
    if user is None:
        return None
    return {"id": user.pk, "username": user.username, "name": user.display_name}


def case_feature(case: Case, now: datetime | None = None, photo_ids: list[int] | None = None) -> dict:
    """A case as a GeoJSON Feature (the API's and the event log's shape)."""
    if photo_ids is None:
        photo_ids = [p.pk for p in case.photos.all()]
    category, department = case.category, case.department
    reporter = _person(case.reporter)
    if reporter is None and case.reporter_contact:
        reporter = {"id": None, "username": None, "name": case.reporter_contact.get("name") or case.channel}
    return point_feature(
        case.pk,
        case.geom,
        {
            "id": case.pk,
            "number": case.number,
            "stage": case.stage,
            "stage_label": workflow.STATE_LABELS[State(case.stage)],
            "channel": case.channel,
            "category_code": category.code,
            "category_label": category.name,
            "category_kind": category.kind,
            "grid_code": case.grid.code if case.grid_id else None,
            "component_id": case.component.ident if case.component_id else None,
            "address": case.address,
            "description": case.description,
            "department": {"id": department.pk, "name": department.name} if department else None,
            "reporter": reporter,
            "checker_id": case.checker_id,
            "confirmer_id": case.confirmer_id,
            "reported_at": case.reported_at.isoformat(),
            "deadline_at": case.deadline_at.isoformat() if case.deadline_at else None,
            "timer_state": timer_state(case, now),
            "photos": [photo_url(pk) for pk in photo_ids],
            "updated_at": case.updated_at.isoformat() if case.updated_at else None,
            "merged_into_id": case.merged_into_id,
        },
    )
