"""State changes of inspector patrol: storing the positions an inspector's tablet sends, and telling the consoles
(live topic "inspectors") where the inspector now is."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.gis.geos import Point
from django.db import transaction
from django.utils import timezone

from core.errors import InputError
from core.events import send_to_group
from core.realtime import INSPECTOR_GROUP

from . import selectors
from .models import Position

BATCH_LIMIT = 500  # a tablet reporting every 30 s sends ~4 h of outbox in one batch
# a fix from the future is a wrong tablet clock; one older than this is refused rather than rewriting a track
FUTURE_SLACK = timedelta(minutes=2)
MAX_AGE = timedelta(days=7)


@dataclass(frozen=True)
class Fix:
    at: datetime
    lon: float
    lat: float
    accuracy_m: float | None = None


def check_fix(fix: Fix, now: datetime, field: str) -> None:
    """Refuse a fix outside the earth or outside the time window, naming the item at fault."""
    if not (-180 <= fix.lon <= 180 and -90 <= fix.lat <= 90):
        raise InputError(field, f"lon/lat out of range: {fix.lon}, {fix.lat}")
    if fix.at > now + FUTURE_SLACK:
        raise InputError(field, f"the fix time {fix.at.isoformat()} is in the future")
    if fix.at < now - MAX_AGE:
        raise InputError(field, f"the fix time {fix.at.isoformat()} is older than {MAX_AGE.days} days")
    if fix.accuracy_m is not None and fix.accuracy_m < 0:
        raise InputError(field, "accuracy must not be negative")


def record_positions(inspector, fixes: list[Fix]) -> int:
    """Store ``fixes`` of ``inspector``; a fix already stored (same time) is skipped. Returns how many were new."""
    now = timezone.now()
    for i, fix in enumerate(fixes):
        check_fix(fix, now, f"positions[{i}]")
    rows = [
        Position(inspector=inspector, at=f.at, geom=Point(f.lon, f.lat, srid=4326), accuracy_m=f.accuracy_m)
        for f in fixes
    ]
    before = Position.objects.filter(inspector=inspector, at__in=[f.at for f in fixes]).count()
    Position.objects.bulk_create(rows, ignore_conflicts=True)
    stored = len({f.at for f in fixes}) - before
    if stored:
        transaction.on_commit(lambda: send_inspectors([inspector.pk]))
    return stored


def send_inspectors(inspector_ids: list[int] | None = None) -> None:
    """The attendance and last position of these inspectors (None: the whole roster on shift, marked complete)
    to the consoles following "inspectors"; one no longer on shift is sent as off duty. Not in the event log:
    a console that missed one gets the roster again within 30 s (patrol/tasks.py) or on subscribing."""
    rows = selectors.on_duty(inspector_ids=inspector_ids)
    features = [selectors.inspector_feature(row) for row in rows]
    if inspector_ids is not None:
        on_shift = {row["id"] for row in rows}
        features += [selectors.off_duty_feature(i) for i in inspector_ids if i not in on_shift]
    send_to_group(INSPECTOR_GROUP, {"type": "ops.inspectors", "features": features, "complete": inspector_ids is None})
