"""Response plans (应急预案) with response levels (分级响应), as data: checked on the way in, matched against an
incident's facts to suggest a plan and a level. No Django here, so the rules are tested without a database.

A plan's levels are Ⅰ (特别重大) to Ⅳ (一般); 1 is the most severe. A level applies when ANY of its thresholds is
reached (as the national plans state their grading: casualties OR people affected OR ...); the suggestion is the
most severe level that applies, else the plan's mildest level. Each level lists the units to send (a run card:
agency, unit kind, count), the agencies and departments to link, who to notify, the checklist of actions with
owners and deadlines, and the resources to stage.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time

from dispatch.plans import AGENCIES

LEVEL_NUMERALS = {1: "Ⅰ", 2: "Ⅱ", 3: "Ⅲ", 4: "Ⅳ"}
# Who a plan may name to notify: a duty post (resolved from the duty roster), a role, or an agency's desk.
RECIPIENT_KINDS = ("duty", "role", "agency")
STAGE_KINDS = ("shelter", "depot", "team")
THRESHOLDS = ("priority_at_most", "calls_at_least", "customers_at_least", "population_at_least")
MAX_COUNT = 50


class PlanError(ValueError):
    """A plan that cannot be used; `field` is the dotted path of the fault (``levels.2.units.0.count``)."""

    def __init__(self, field: str, detail: str):
        super().__init__(f"{field}: {detail}")
        self.field = field
        self.detail = detail


@dataclass(frozen=True)
class UnitLine:
    agency: str
    unit_kind: str
    count: int


@dataclass(frozen=True)
class Recipient:
    kind: str  # one of RECIPIENT_KINDS
    value: str  # the duty post, role or agency code
    channels: tuple[str, ...]


@dataclass(frozen=True)
class Action:
    text: str
    owner: str
    due_minutes: int


@dataclass(frozen=True)
class Stage:
    kind: str  # one of STAGE_KINDS
    item: str  # a supply item code for a depot, a skill for a team, "" for a shelter
    quantity: int


@dataclass(frozen=True)
class Level:
    level: int
    thresholds: dict[str, int]
    units: tuple[UnitLine, ...]
    agencies: tuple[str, ...]
    departments: tuple[str, ...]
    notify: tuple[Recipient, ...]
    ack_minutes: int
    actions: tuple[Action, ...]
    stage: tuple[Stage, ...]

    @property
    def numeral(self) -> str:
        return LEVEL_NUMERALS[self.level]

    def reasons(self, facts: Facts) -> list[str]:
        """The thresholds these facts reach, as ``name``s (empty: the level does not apply)."""
        reached = []
        for name, bound in self.thresholds.items():
            value = facts.value(name)
            if value is None:
                continue
            if (value <= bound) if name == "priority_at_most" else (value >= bound):
                reached.append(name)
        return reached


@dataclass(frozen=True)
class Facts:
    """What is known of an incident when a plan is suggested; None where unknown (no isolation, no raster)."""

    priority: int
    calls: int
    customers: int | None = None
    population: float | None = None

    def value(self, threshold: str) -> float | None:
        return {
            "priority_at_most": self.priority,
            "calls_at_least": self.calls,
            "customers_at_least": self.customers,
            "population_at_least": self.population,
        }[threshold]


@dataclass(frozen=True)
class Scope:
    """Where and when a plan applies: a district (None: the whole city), a zone (drawn), hours of the day."""

    district: str | None = None
    in_zone: bool | None = None  # None: the plan has no zone; else whether the incident lies in it
    hours: tuple[time, time] | None = None

    def covers(self, district: str | None, local_time: time) -> bool:
        if self.district is not None and self.district != district:
            return False
        if self.in_zone is False:
            return False
        return self.hours is None or in_hours(local_time, *self.hours)

    @property
    def specificity(self) -> tuple[int, int]:
        """A zone is narrower than a district, a district than the city; a plan for some hours narrower than all day."""
        place = 2 if self.in_zone else 1 if self.district is not None else 0
        return place, 1 if self.hours is not None else 0


def in_hours(at: time, start: time, end: time) -> bool:
    """Whether a time of day lies in [start, end), a window that may pass midnight (20:00–08:00)."""
    return start <= at < end if start < end else at >= start or at < end


@dataclass(frozen=True)
class Candidate:
    """A plan version that may apply, as the suggestion sees it."""

    plan_id: int
    rank: int  # the operator's tie-breaker between equally specific plans: higher first
    scope: Scope


def choose(candidates: list[Candidate], district: str | None, local_time: time) -> Candidate | None:
    """The most specific plan that covers the incident; ties go to the higher rank, then the newer plan."""
    covering = [c for c in candidates if c.scope.covers(district, local_time)]
    return max(covering, key=lambda c: (c.scope.specificity, c.rank, c.plan_id), default=None)


def grade(levels: tuple[Level, ...], facts: Facts) -> tuple[Level, list[str]]:
    """The most severe level whose thresholds the facts reach, with the thresholds reached; else the mildest."""
    for level in sorted(levels, key=lambda lv: lv.level):
        reasons = level.reasons(facts)
        if reasons:
            return level, reasons
    return max(levels, key=lambda lv: lv.level), []


# --- reading a plan's levels (JSON, as the API and the plan files give them) ---


def _int(value, where: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise PlanError(where, f"must be a whole number from {low} to {high}")
    return value


def _text(value, where: str, max_length: int = 200, required: bool = True) -> str:
    if not isinstance(value, str) or (required and not value.strip()) or len(value) > max_length:
        raise PlanError(where, f"must be a text of 1 to {max_length} characters")
    return value.strip()


def _list(value, where: str) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        raise PlanError(where, "must be a list")
    return value


def _object(value, where: str, keys: set[str]) -> dict:
    if not isinstance(value, dict):
        raise PlanError(where, "must be an object")
    unknown = sorted(set(value) - keys)
    if unknown:
        raise PlanError(f"{where}.{unknown[0]}", "is not a known key")
    return value


@dataclass(frozen=True)
class CodeTables:
    """What a plan may name: the installation's unit kinds, roles, duty posts, department codes and notification
    channels."""

    unit_kinds: frozenset[str]
    roles: frozenset[str]
    duty_posts: frozenset[str]
    departments: frozenset[str]
    channels: frozenset[str]


def read_levels(data, tables: CodeTables | None) -> tuple[Level, ...]:
    """Plan levels from JSON-like data; PlanError naming the first fault. Names are checked against `tables`
    (None: a stored version, checked when it was stored, read back)."""
    items = _list(data, "levels")
    if not items:
        raise PlanError("levels", "a plan needs at least one level")
    levels = [_read_level(item, f"levels.{i}", tables) for i, item in enumerate(items)]
    if len({lv.level for lv in levels}) != len(levels):
        raise PlanError("levels", "each response level may appear once")
    return tuple(sorted(levels, key=lambda lv: lv.level))


_LEVEL_KEYS = {"level", "thresholds", "units", "agencies", "departments", "notify", "ack_minutes", "actions", "stage"}


def _known(tables: CodeTables | None, table: str, value) -> bool:
    return tables is None or value in getattr(tables, table)


def _read_level(item, where, tables: CodeTables | None) -> Level:
    item = _object(item, where, _LEVEL_KEYS)
    level = _int(item.get("level"), f"{where}.level", 1, 4)
    thresholds = _object(item.get("thresholds") or {}, f"{where}.thresholds", set(THRESHOLDS))
    for name, bound in thresholds.items():
        _int(bound, f"{where}.thresholds.{name}", 0, 10_000_000)
    units = []
    for i, line in enumerate(_list(item.get("units"), f"{where}.units")):
        at = f"{where}.units.{i}"
        line = _object(line, at, {"agency", "unit_kind", "count"})
        if line.get("agency") not in AGENCIES:
            raise PlanError(f"{at}.agency", f"must be one of {', '.join(AGENCIES)}")
        if not isinstance(line.get("unit_kind"), str) or not _known(tables, "unit_kinds", line["unit_kind"]):
            raise PlanError(f"{at}.unit_kind", f"unknown unit kind {line.get('unit_kind')!r}")
        units.append(UnitLine(line["agency"], line["unit_kind"], _int(line.get("count"), f"{at}.count", 1, MAX_COUNT)))
    if len({(u.agency, u.unit_kind) for u in units}) != len(units):
        raise PlanError(f"{where}.units", "names a unit kind of an agency twice")
    agencies = _list(item.get("agencies"), f"{where}.agencies")
    for i, agency in enumerate(agencies):
        if agency not in AGENCIES:
            raise PlanError(f"{where}.agencies.{i}", f"must be one of {', '.join(AGENCIES)}")
    linked_departments = _list(item.get("departments"), f"{where}.departments")
    for i, code in enumerate(linked_departments):
        if not isinstance(code, str) or not _known(tables, "departments", code):
            raise PlanError(f"{where}.departments.{i}", f"unknown department {code!r}")
    recipients = _list(item.get("notify"), f"{where}.notify")
    notify = [_read_recipient(r, f"{where}.notify.{i}", tables) for i, r in enumerate(recipients)]
    actions = []
    for i, action in enumerate(_list(item.get("actions"), f"{where}.actions")):
        at = f"{where}.actions.{i}"
        action = _object(action, at, {"text", "owner", "due_minutes"})
        actions.append(
            Action(_text(action.get("text"), f"{at}.text"), _text(action.get("owner"), f"{at}.owner", 64),
                   _int(action.get("due_minutes"), f"{at}.due_minutes", 1, 7 * 24 * 60))
        )  # fmt: skip
    stage = []
    for i, entry in enumerate(_list(item.get("stage"), f"{where}.stage")):
        at = f"{where}.stage.{i}"
        entry = _object(entry, at, {"kind", "item", "quantity"})
        if entry.get("kind") not in STAGE_KINDS:
            raise PlanError(f"{at}.kind", f"must be one of {', '.join(STAGE_KINDS)}")
        stage.append(Stage(entry["kind"], _text(entry.get("item", ""), f"{at}.item", 64, required=False),
                           _int(entry.get("quantity"), f"{at}.quantity", 1, 1_000_000)))  # fmt: skip
    return Level(
        level=level,
        thresholds=dict(thresholds),
        units=tuple(units),
        agencies=tuple(dict.fromkeys(agencies)),
        departments=tuple(dict.fromkeys(linked_departments)),
        notify=tuple(notify),
        ack_minutes=_int(item.get("ack_minutes", 10), f"{where}.ack_minutes", 1, 24 * 60),
        actions=tuple(actions),
        stage=tuple(stage),
    )


def _read_recipient(entry, where, tables: CodeTables | None) -> Recipient:
    entry = _object(entry, where, {*RECIPIENT_KINDS, "channels"})
    kinds = [k for k in RECIPIENT_KINDS if k in entry]
    if len(kinds) != 1:
        raise PlanError(where, f"must name exactly one of {', '.join(RECIPIENT_KINDS)}")
    kind, value = kinds[0], entry[kinds[0]]
    table = {"duty": "duty_posts", "role": "roles"}.get(kind)
    known = value in AGENCIES if table is None else _known(tables, table, value)
    if not isinstance(value, str) or not known:
        raise PlanError(f"{where}.{kind}", f"unknown {kind} {value!r}")
    channels = _list(entry.get("channels", ["in_app"]), f"{where}.channels")
    if not channels or any(not isinstance(c, str) or not _known(tables, "channels", c) for c in channels):
        known = ", ".join(sorted(tables.channels)) if tables else "the notification channels"
        raise PlanError(f"{where}.channels", f"must list some of {known}")
    return Recipient(kind, value, tuple(dict.fromkeys(channels)))


def level_json(level: Level) -> dict:
    """A level as the API shows it (and as read_levels reads it back)."""
    return {
        "level": level.level,
        "thresholds": dict(level.thresholds),
        "units": [{"agency": u.agency, "unit_kind": u.unit_kind, "count": u.count} for u in level.units],
        "agencies": list(level.agencies),
        "departments": list(level.departments),
        "notify": [{r.kind: r.value, "channels": list(r.channels)} for r in level.notify],
        "ack_minutes": level.ack_minutes,
        "actions": [{"text": a.text, "owner": a.owner, "due_minutes": a.due_minutes} for a in level.actions],
        "stage": [{"kind": s.kind, "item": s.item, "quantity": s.quantity} for s in level.stage],
    }
