"""管件更换预警: which pipes and valves are due for replacement or inspection, and why.

Plain module (no Django). A pipe is judged by its age against the service life of its material, and by
how often it has been repaired lately; a valve by its age, its operability and its repair history. The
figures are the utility's planning rules of thumb (grey cast iron and old steel fail first; a pipe that
leaked twice in five years is likely to leak again), kept here in one table so they can be tuned.
"""

from __future__ import annotations

from dataclasses import dataclass

# Expected service life in years, by material; gas steel corrodes sooner than water steel (no lining).
SERVICE_LIFE_YEARS = {
    ("water", "cast_iron"): 40,
    ("water", "ductile_iron"): 70,
    ("water", "steel"): 50,
    ("water", "pe"): 50,
    ("water", "pvc"): 40,
    ("water", "concrete"): 50,
    ("gas", "steel"): 30,
    ("gas", "pe"): 50,
    ("gas", "cast_iron"): 30,
}
DEFAULT_SERVICE_LIFE_YEARS = 50
VALVE_SERVICE_LIFE_YEARS = 40
RECENT_YEARS = 5  # repairs in this window count towards "repeated failures"
REPEATED_REPAIRS = 2
INSPECT_AT_LIFE_SHARE = 0.8  # inspect once 80 % of the service life is used
LEVEL_RANK = {"replace": 0, "inspect": 1}


@dataclass(frozen=True)
class Warning:
    level: str  # "replace" or "inspect"
    reasons: tuple[tuple[str, dict], ...]
    """(code, figures): a code and numbers rather than text, so that the screen says them in the user's language."""
    score: float  # for sorting: higher is more urgent

    @property
    def rank(self) -> tuple:
        return (LEVEL_RANK[self.level], -self.score)


def _judge(age: int | None, life: int, recent_repairs: int, extra: tuple = ()) -> Warning | None:
    reasons = list(extra)
    replace = bool(extra)
    score = float(len(extra))
    if age is not None:
        score += age / life
        if age >= life:
            reasons.append(("over_life", {"age": age, "life": life}))
            replace = True
        elif age >= INSPECT_AT_LIFE_SHARE * life:
            reasons.append(("near_life", {"age": age, "life": life}))
    if recent_repairs:
        score += recent_repairs
        if recent_repairs >= REPEATED_REPAIRS:
            reasons.append(("repeated_repairs", {"count": recent_repairs, "years": RECENT_YEARS}))
            replace = True
        else:
            reasons.append(("recent_repair", {"count": recent_repairs, "years": RECENT_YEARS}))
    if not reasons:
        return None
    return Warning("replace" if replace else "inspect", tuple(reasons), round(score, 3))


def pipe_warning(
    utility: str, material: str, install_year: int | None, recent_repairs: int, this_year: int
) -> Warning | None:
    """The warning for a pipe, or None when it needs nothing yet."""
    life = SERVICE_LIFE_YEARS.get((utility, material), DEFAULT_SERVICE_LIFE_YEARS)
    age = None if install_year is None else max(0, this_year - install_year)
    extra = (("gas_cast_iron", {}),) if (utility, material) == ("gas", "cast_iron") else ()
    return _judge(age, life, recent_repairs, extra)


def valve_warning(operability: str, install_year: int | None, recent_repairs: int, this_year: int) -> Warning | None:
    """The warning for a valve: an inoperable valve is always to be replaced, it isolates nothing."""
    age = None if install_year is None else max(0, this_year - install_year)
    extra = (("inoperable", {}),) if operability == "inoperable" else ()
    warning = _judge(age, VALVE_SERVICE_LIFE_YEARS, recent_repairs, extra)
    if warning is None and operability == "unknown" and age is not None and age >= VALVE_SERVICE_LIFE_YEARS // 2:
        return Warning("inspect", (("never_exercised", {"age": age}),), round(age / VALVE_SERVICE_LIFE_YEARS, 3))
    return warning
