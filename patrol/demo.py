"""The demo city's patrol (监督员巡查) at the present moment: a week of shifts for the patrol inspectors — half on
the day shift (08:00–20:00), half on the night shift (20:00–08:00), local time — and, for those on shift now, a
fix in one of their own grids a minute ago, so the case centre and the wall open on inspectors at work. The demo
fleet simulator walks them on (patrol/simulator.py). The demo inspector account is left to its tablet."""

from datetime import datetime, time, timedelta

from django.utils import timezone

from grid.demo import INSPECTOR_PREFIX
from grid.models import UnitGrid

from .models import PatrolShift
from .services import Fix, record_positions

SHIFT_HOURS = 12
DAY_SHIFT_START = time(8)
DAYS = 7


def _shift_starts(now: datetime, night: bool) -> list[datetime]:
    """The starts of the shifts of one rota from the one running (or last begun) at ``now``, for DAYS days."""
    today = timezone.localtime(now).date()
    first = timezone.make_aware(datetime.combine(today - timedelta(days=1), DAY_SHIFT_START))
    if night:
        first += timedelta(hours=SHIFT_HOURS)
    starts = [first + timedelta(days=d) for d in range(DAYS + 1)]
    return [s for s in starts if s + timedelta(hours=SHIFT_HOURS) > now]


def load_live(context: dict) -> dict:
    from core.models import User

    now = timezone.now()
    inspectors = list(User.objects.filter(username__startswith=INSPECTOR_PREFIX).order_by("username"))
    shifts, on_shift = [], []
    for n, inspector in enumerate(inspectors):
        for start in _shift_starts(now, night=n % 2 == 1):
            shifts.append(PatrolShift(inspector=inspector, start=start, end=start + timedelta(hours=SHIFT_HOURS)))
            if start <= now:
                on_shift.append(inspector)
    PatrolShift.objects.bulk_create(shifts)
    for inspector in on_shift:
        grid = UnitGrid.objects.filter(inspectors=inspector).order_by("code").first()
        if grid is not None:
            spot = grid.geom.point_on_surface
            record_positions(inspector, [Fix(now - timedelta(minutes=1), spot.x, spot.y, 8.0)])
    return {"patrol_shifts": len(shifts), "inspectors_on_shift": len(on_shift)}


def clear_demo() -> None:
    PatrolShift.objects.filter(inspector__username__startswith=INSPECTOR_PREFIX).delete()
