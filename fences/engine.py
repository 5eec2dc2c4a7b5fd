"""Fence rules evaluated on batches of fixes, without Django: which alarms a batch raises and clears.

Fences are areas (shapely geometries in lon/lat); a rule ties one fence to a target (a vehicle, a vehicle kind, a
vehicle group or every vehicle), a trigger and optional calendars. A batch's points are matched to fences in one
STRtree bulk query (GEOS in C, no Python per fence); only the fixes inside a fence, or inside one at their vehicle's
previous fix, reach the per-fix Python step, so the cost follows the fixes near fences, not fences × fixes.

Enter and exit are edges: an event at the fix that crossed. Dwell, speed inside and no-go are conditions: raised
once when they start to hold and cleared when they stop (the vehicle leaves, slows down, the calendar ends).
The caller keeps the state between batches — presence (vehicle, fence) → entered at, and the open conditions —
and persists it, so a restarted ingest continues where it stopped.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo

import numpy as np
import shapely
from shapely import STRtree

ENTER, EXIT, DWELL, SPEED, NO_GO = "enter", "exit", "dwell", "speed", "no_go"
TRIGGERS = (ENTER, EXIT, DWELL, SPEED, NO_GO)
EDGES = frozenset({ENTER, EXIT})
RAISE, CLEAR = "raise", "clear"
ALL, VEHICLE, KIND, GROUP = "all", "vehicle", "kind", "group"
TARGETS = (ALL, VEHICLE, KIND, GROUP)
DANGEROUS_GOODS = "dangerous_goods"


@dataclass(frozen=True)
class Calendar:
    """When a rule is in force, in the city's local time: on these weekdays (0 = Monday), within these ranges
    (start, end) of the day — an end at or before its start runs past midnight — and never on the dates off."""

    weekdays: frozenset[int] = frozenset(range(7))
    ranges: tuple[tuple[time, time], ...] = ((time(0), time(0)),)
    dates_off: frozenset[date] = frozenset()

    def covers(self, local: datetime) -> bool:
        if local.date() in self.dates_off:
            return False
        now, day = local.time().replace(tzinfo=None), local.weekday()
        for start, end in self.ranges:
            if start < end:
                hit = day in self.weekdays and start <= now < end
            else:  # past midnight: the evening is this weekday's, the morning the weekday's before
                hit = (now >= start and day in self.weekdays) or (now < end and (day - 1) % 7 in self.weekdays)
            if hit:
                return True
        return False


def parse_calendars(data) -> tuple[Calendar, ...]:
    """Calendars from their JSON (``Rule.calendar``): a list of {"weekdays": [0..6], "ranges": [["07:00", "09:00"]],
    "dates_off": ["2026-10-01"]}; each key optional. ValueError says what is wrong and where."""
    if not isinstance(data, list):
        raise ValueError("time windows must be a list")
    calendars = []
    for i, item in enumerate(data):
        if not isinstance(item, dict) or set(item) - {"weekdays", "ranges", "dates_off"}:
            raise ValueError(f"window {i}: an object with weekdays, ranges and dates_off")
        weekdays = item.get("weekdays", list(range(7)))
        if not isinstance(weekdays, list) or not all(isinstance(d, int) and 0 <= d <= 6 for d in weekdays):
            raise ValueError(f"window {i}: weekdays are numbers 0 (Monday) to 6 (Sunday)")
        try:
            ranges = tuple(
                (time.fromisoformat(a), time.fromisoformat(b)) for a, b in item.get("ranges", [["00:00", "00:00"]])
            )
            dates_off = frozenset(date.fromisoformat(d) for d in item.get("dates_off", []))
        except (TypeError, ValueError):
            raise ValueError(f'window {i}: ranges are ["HH:MM", "HH:MM"] pairs, dates off YYYY-MM-DD') from None
        if not weekdays or not ranges:
            raise ValueError(f"window {i}: give at least one weekday and one range")
        calendars.append(Calendar(frozenset(weekdays), ranges, dates_off))
    return tuple(calendars)


@dataclass(frozen=True)
class Rule:
    """``key`` names the rule in the alarms it raises; ``threshold`` is minutes for dwell, km/h for speed."""

    key: str
    fence_id: int
    trigger: str
    target: str = ALL
    target_value: str = ""  # the vehicle id, kind or group id, as text
    threshold: float = 0.0
    calendars: tuple[Calendar, ...] = ()  # none: always in force

    def __post_init__(self):
        if self.trigger not in TRIGGERS:
            raise ValueError(f"rule {self.key}: unknown trigger {self.trigger!r}")
        if self.target not in TARGETS:
            raise ValueError(f"rule {self.key}: unknown target {self.target!r}")

    def applies_to(self, vehicle_id: int, kind: str, groups: frozenset[int]) -> bool:
        if self.trigger == NO_GO and kind != DANGEROUS_GOODS:
            return False
        if self.target == ALL:
            return True
        if self.target == VEHICLE:
            return self.target_value == str(vehicle_id)
        if self.target == KIND:
            return self.target_value == kind
        return self.target_value.isdigit() and int(self.target_value) in groups

    def in_force(self, local: datetime) -> bool:
        return not self.calendars or any(calendar.covers(local) for calendar in self.calendars)


@dataclass(frozen=True)
class FixRow:
    """One committed fix as the rules see it; ``at`` aware."""

    vehicle_id: int
    kind: str
    groups: frozenset[int]
    at: datetime
    lon: float
    lat: float
    speed_kmh: float


@dataclass(frozen=True)
class AlarmEvent:
    """Raise or clear the alarm of ``rule`` on a vehicle; an edge rule's raise is an instant (nothing to clear)."""

    action: str
    vehicle_id: int
    rule: Rule
    at: datetime
    lon: float
    lat: float
    detail: str = ""


@dataclass
class State:
    """Between batches: where each vehicle is — (vehicle, fence) → when it entered — and the conditions open now,
    (vehicle, rule key) → the fence. The caller loads it at start and saves what a batch changed."""

    presence: dict[tuple[int, int], datetime] = field(default_factory=dict)
    open: set[tuple[int, str]] = field(default_factory=set)
    inside: dict[int, set[int]] = field(default_factory=dict)  # vehicle → fences, derived from presence

    def __post_init__(self):
        for vehicle_id, fence_id in self.presence:
            self.inside.setdefault(vehicle_id, set()).add(fence_id)


@dataclass
class Outcome:
    events: list[AlarmEvent] = field(default_factory=list)
    entered: dict[tuple[int, int], datetime] = field(default_factory=dict)  # presence to store
    left: set[tuple[int, int]] = field(default_factory=set)  # presence to delete


class RuleSet:
    """The fences that carry at least one rule, indexed once; evaluate() is called per committed batch."""

    def __init__(self, fences: Iterable[tuple[int, shapely.Geometry]], rules: Iterable[Rule], tz: tzinfo):
        self.tz = tz
        self.rules_by_fence: dict[int, list[Rule]] = {}
        for rule in rules:
            self.rules_by_fence.setdefault(rule.fence_id, []).append(rule)
        kept = [(fid, geom) for fid, geom in fences if fid in self.rules_by_fence]
        self.fence_ids = np.array([fid for fid, _ in kept], dtype=np.int64)
        geoms = [geom for _, geom in kept]
        shapely.prepare(geoms)
        self.tree = STRtree(geoms) if geoms else None
        self.rules = {rule.key: rule for rules in self.rules_by_fence.values() for rule in rules}

    def inside(self, lon: np.ndarray, lat: np.ndarray) -> list[set[int]]:
        """For each point, the ids of the rule-carrying fences it lies in (the boundary counts as inside)."""
        found: list[set[int]] = [set() for _ in range(len(lon))]
        if self.tree is None or not len(lon):
            return found
        points, fences = self.tree.query(shapely.points(lon, lat), predicate="intersects")
        for point, fence_id in zip(points.tolist(), self.fence_ids[fences].tolist(), strict=True):
            found[point].add(fence_id)
        return found

    def evaluate(self, fixes: Sequence[FixRow], state: State) -> Outcome:
        """The alarm events of a batch, fixes taken per vehicle in time order; ``state`` is updated in place."""
        outcome = Outcome()
        if not fixes:
            return outcome
        order = sorted(range(len(fixes)), key=lambda i: (fixes[i].vehicle_id, fixes[i].at))
        lon = np.fromiter((fixes[i].lon for i in order), float, len(order))
        lat = np.fromiter((fixes[i].lat for i in order), float, len(order))
        local_at: dict[datetime, datetime] = {}
        for fix, now_inside in zip((fixes[i] for i in order), self.inside(lon, lat), strict=True):
            before = state.inside.get(fix.vehicle_id)
            if not now_inside and not before:
                continue
            local = local_at.get(fix.at)
            if local is None:
                local = local_at[fix.at] = fix.at.astimezone(self.tz)
            self._step(fix, local, before or set(), now_inside, state, outcome)
        return outcome

    def _step(self, fix: FixRow, local: datetime, before: set[int], now_inside: set[int], state: State, out: Outcome):
        vid = fix.vehicle_id
        for fence_id in now_inside - before:
            state.presence[(vid, fence_id)] = fix.at
            out.entered[(vid, fence_id)] = fix.at
            out.left.discard((vid, fence_id))
        for fence_id in before - now_inside:
            del state.presence[(vid, fence_id)]
            out.entered.pop((vid, fence_id), None)
            out.left.add((vid, fence_id))
        if now_inside:
            state.inside[vid] = set(now_inside)
        else:
            state.inside.pop(vid, None)
        for fence_id in now_inside | before:
            for rule in self.rules_by_fence.get(fence_id, ()):
                if not rule.applies_to(vid, fix.kind, fix.groups):
                    continue
                is_in = fence_id in now_inside
                if rule.trigger in EDGES:
                    crossed = fence_id not in before if rule.trigger == ENTER else not is_in  # left: it was before
                    if crossed and rule.in_force(local):
                        out.events.append(AlarmEvent(RAISE, vid, rule, fix.at, fix.lon, fix.lat))
                    continue
                detail = self._condition(rule, fix, state) if is_in and rule.in_force(local) else None
                key = (vid, rule.key)
                if detail is not None and key not in state.open:
                    state.open.add(key)
                    out.events.append(AlarmEvent(RAISE, vid, rule, fix.at, fix.lon, fix.lat, detail))
                elif detail is None and key in state.open:
                    state.open.discard(key)
                    out.events.append(AlarmEvent(CLEAR, vid, rule, fix.at, fix.lon, fix.lat))

    @staticmethod
    def _condition(rule: Rule, fix: FixRow, state: State) -> str | None:
        """Whether a condition rule holds at this fix inside its fence: the measure that breaks it ("52 km/h",
        "31 min"; "" for no-go, where being inside is all), or None."""
        if rule.trigger == NO_GO:
            return ""
        if rule.trigger == SPEED:
            return f"{fix.speed_kmh:.0f} km/h" if fix.speed_kmh > rule.threshold else None
        stayed = fix.at - state.presence[(fix.vehicle_id, rule.fence_id)]
        return f"{stayed.total_seconds() // 60:.0f} min" if stayed >= timedelta(minutes=rule.threshold) else None
