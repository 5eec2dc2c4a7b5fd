"""The demo's patrol: a week of day and night shifts for the demo inspectors, those on shift placed in their grids,
and the simulator walking them on at a walking pace (what the case centre and the wall show in the demo)."""

import math
from datetime import timedelta

import numpy as np
import pytest
from django.contrib.gis.geos import Point
from django.utils import timezone

from grid.demo import INSPECTOR_PREFIX
from grid.models import UnitGrid
from patrol import demo, selectors
from patrol.models import PatrolShift, Position
from patrol.simulator import METRES_PER_DEGREE, WALK_M_PER_S, Patrol, Walker, walk


def _metres(a, b) -> float:
    east = (b[0] - a[0]) * METRES_PER_DEGREE * math.cos(math.radians(a[1]))
    return math.hypot(east, (b[1] - a[1]) * METRES_PER_DEGREE)


def test_a_walker_walks_the_distance_and_turns_at_a_grid_centre():
    rng = np.random.default_rng(1)
    walker = Walker(1, 114.0, 22.5, stops=[(114.001, 22.5)], target=(114.001, 22.5))
    walk(walker, 40.0, rng)
    assert _metres((114.0, 22.5), (walker.lon, walker.lat)) == pytest.approx(40.0, rel=1e-6)
    leg = _metres((114.0, 22.5), (114.001, 22.5))  # ~102.8 m
    walk(walker, leg - 40.0, rng)  # at the centre, where it turns to the next: the only one, so it stays
    assert _metres((114.001, 22.5), (walker.lon, walker.lat)) == pytest.approx(0.0, abs=1e-6)
    near = [(114.0012, 22.5), (114.001, 22.5003), (114.0008, 22.5)]
    walker.stops, walker.target = [(114.001, 22.5), *near, (114.01, 22.5)], None
    walk(walker, 10.0, rng)  # the next is one of the three nearest centres (~20-33 m), never the far one
    assert walker.target in near
    assert _metres((walker.lon, walker.lat), walker.target) == pytest.approx(
        _metres((114.001, 22.5), walker.target) - 10.0, abs=1e-3
    )


@pytest.mark.django_db
def test_demo_shifts_and_the_simulator_keep_inspectors_on_duty(demo_city):
    now = timezone.now()
    loaded = demo.load_live({})
    inspectors = UnitGrid.inspectors.through.objects.filter(user__username__startswith=INSPECTOR_PREFIX)
    count = inspectors.values("user").distinct().count()
    assert loaded["patrol_shifts"] >= 7 * count and 0 < loaded["inspectors_on_shift"] < count
    for shift in PatrolShift.objects.filter(inspector__username__startswith=INSPECTOR_PREFIX):
        assert shift.end - shift.start == timedelta(hours=12) and shift.end > now
    on_duty = {row["id"]: row for row in selectors.on_duty()}
    assert len(on_duty) == loaded["inspectors_on_shift"]
    assert {row["state"] for row in on_duty.values()} == {"on_duty"}  # each placed in one of their grids

    before = {row["id"]: (row["lon"], row["lat"]) for row in on_duty.values()}
    walked = Patrol(seed=3).tick(30.0)
    assert walked == len(on_duty)
    after = {row["id"]: row for row in selectors.on_duty()}
    for pk, (lon, lat) in before.items():
        moved = _metres((lon, lat), (after[pk]["lon"], after[pk]["lat"]))
        assert 0 < moved <= WALK_M_PER_S * 30.0 + 0.5
        assert after[pk]["state"] in ("on_duty", "away")  # reporting; away while cutting through another's grid
        fix = Position.objects.filter(inspector_id=pk).latest("at")
        assert fix.geom.equals_exact(Point(after[pk]["lon"], after[pk]["lat"], srid=4326), 1e-9)
    on_duty_now = sum(row["state"] == "on_duty" for row in after.values())
    assert on_duty_now >= 0.8 * len(after)  # walking between neighbouring grids of their own
