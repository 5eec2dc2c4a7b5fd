"""Reads of the upward exchange: what an operator needs to see whether the link to the upper platform works."""

from django.db.models import Count, Min, Q
from django.utils import timezone

from .models import Record


def status() -> dict:
    """Counts by state, the oldest record still waiting and the latest failures with the receiver's reasons."""
    counts = Record.objects.aggregate(
        pending=Count("pk", filter=Q(state=Record.State.PENDING)),
        sent=Count("pk", filter=Q(state=Record.State.SENT)),
        failed=Count("pk", filter=Q(state=Record.State.FAILED)),
        oldest_pending=Min("created_at", filter=Q(state=Record.State.PENDING)),
    )
    oldest = counts.pop("oldest_pending")
    retrying = Record.objects.filter(state=Record.State.PENDING, attempts__gt=0).order_by("-attempts").first()
    failures = Record.objects.filter(state=Record.State.FAILED).order_by("-id")[:20]
    return {
        **counts,
        "oldest_pending_seconds": round((timezone.now() - oldest).total_seconds(), 1) if oldest else None,
        "retrying": _row(retrying) if retrying else None,
        "failed_records": [_row(r) for r in failures],
    }


def _row(record: Record) -> dict:
    return {
        "record_id": record.record_id,
        "state": record.state,
        "attempts": record.attempts,
        "last_status": record.last_status,
        "last_error": record.last_error,
        "next_attempt_at": record.next_attempt_at.isoformat() if record.next_attempt_at else None,
    }
