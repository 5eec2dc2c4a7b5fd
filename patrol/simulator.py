"""The demo inspectors walking their grids (`simulate_fleet --patrol`): every PATROL_INTERVAL_S each inspector on
shift walks on at a walking pace toward the centre of one of their own unit grids, then a neighbouring one, and
reports the fix through patrol's service as the tablet's batches do — so the case centre and the wall see them move,
mostly 在岗 (a straight walk may cut through a colleague's grid: 离岗 for a while, as in life)."""

import asyncio
import contextlib
import logging
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
from django.db import DatabaseError, close_old_connections

log = logging.getLogger(__name__)
WALK_M_PER_S = 1.2
PATROL_INTERVAL_S = 30.0
METRES_PER_DEGREE = 111_320.0


@dataclass
class Walker:
    inspector_id: int
    lon: float
    lat: float
    stops: list[tuple[float, float]]  # the centres of the inspector's grids
    target: tuple[float, float] | None = field(default=None)


NEXT_STOPS = 3  # on arrival the next grid centre is one of this many nearest: a walk to a neighbouring grid


def _next_stop(walker: Walker, rng: np.random.Generator) -> tuple[float, float]:
    others = [stop for stop in walker.stops if stop != (walker.lon, walker.lat)] or walker.stops
    others.sort(key=lambda stop: (stop[0] - walker.lon) ** 2 + (stop[1] - walker.lat) ** 2)
    return others[int(rng.integers(min(NEXT_STOPS, len(others))))]


def walk(walker: Walker, metres: float, rng: np.random.Generator) -> None:
    """Move ``metres`` toward the walker's target (a local flat approximation: a grid is ~100 m), choosing the next
    grid centre, a near one, on arrival."""
    while metres > 0 and walker.stops:
        if walker.target is None:
            walker.target = _next_stop(walker, rng)
        east = (walker.target[0] - walker.lon) * METRES_PER_DEGREE * math.cos(math.radians(walker.lat))
        north = (walker.target[1] - walker.lat) * METRES_PER_DEGREE
        left = math.hypot(east, north)
        if left <= metres:
            walker.lon, walker.lat = walker.target
            walker.target, metres = None, metres - left
            continue
        walker.lon += east / left * metres / (METRES_PER_DEGREE * math.cos(math.radians(walker.lat)))
        walker.lat += north / left * metres / METRES_PER_DEGREE
        metres = 0


class Patrol:
    """The inspectors on shift, followed from tick to tick."""

    def __init__(self, speedup: float = 1.0, seed: int = 7):
        self.speedup = speedup
        self.rng = np.random.default_rng(seed)
        self.walkers: dict[int, Walker] = {}

    def _follow_roster(self) -> None:
        from .selectors import on_duty, own_grid_centres

        on_shift = {row["id"]: row for row in on_duty()}
        self.walkers = {pk: w for pk, w in self.walkers.items() if pk in on_shift}
        for pk, row in on_shift.items():
            if pk in self.walkers:
                continue
            stops = own_grid_centres(pk)
            if stops:
                start = (row["lon"], row["lat"]) if row["lon"] is not None else stops[0]
                self.walkers[pk] = Walker(pk, *start, stops)

    def tick(self, seconds: float) -> int:
        """Walk every inspector on shift for ``seconds`` (times the speed-up) and store their fixes; how many."""
        from core.models import User

        from .services import Fix, record_positions

        self._follow_roster()
        now = datetime.now(UTC).replace(microsecond=0)
        for walker in self.walkers.values():
            walk(walker, WALK_M_PER_S * seconds * self.speedup, self.rng)
            record_positions(User(pk=walker.inspector_id), [Fix(now, walker.lon, walker.lat, 8.0)])
        return len(self.walkers)


async def run(stopping: asyncio.Event, speedup: float) -> None:
    """Tick until ``stopping`` is set; a database that is away skips a tick."""
    patrol = Patrol(speedup)

    def tick() -> None:
        close_old_connections()  # one broken by a PostgreSQL restart is replaced
        patrol.tick(PATROL_INTERVAL_S)

    while not stopping.is_set():
        try:
            await asyncio.to_thread(tick)
        except DatabaseError as exc:  # PostgreSQL restarting: the next tick (a new connection) tries again
            log.info("patrol tick skipped: %r", exc)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), PATROL_INTERVAL_S)
