"""GB 50289-2016 clearance rules as data: which minimum applies between two pipes, and over a pipe.

Plain module (no Django). The rules are the rows of ``data/gb50289_clearances.csv`` (kind, type_a, type_b,
min_m, note): table 4.1.9 (horizontal clearance), 4.1.14 (vertical clearance at a crossing) and 4.1.1
(minimum cover). A pipe answers to several of the table's type names at once (a DN150 water main is both
``water_supply`` and ``water_supply_d<=200mm``); a pair of pipes gets the largest minimum among the rows
that name one type of each. Pairs are symmetric, as in the standard.

Each row carries a confidence mark (``conf=H/M/L``) in its note. Only values backed by the official text
(H) make a violation an error; values from M/L rows make it a warning until someone checks the row.

Conventions for the pipe records: depths are to the pipe crown (top), as cover is measured; clearances are
between outer walls, so half of each diameter is taken off the centre-line distance.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

DEFAULT_RULES = Path(__file__).resolve().parent.parent / "data" / "gb50289_clearances.csv"
KINDS = ("horizontal", "vertical", "cover")
LANES = ("under_motor_lane", "under_sidewalk_or_non_motor_lane")
GAS_CLASSES = ("low", "medium_b", "medium_a", "subhigh_b", "subhigh_a")


@dataclass(frozen=True)
class Rule:
    kind: str
    type_a: str
    type_b: str
    min_m: float
    confidence: str
    note: str

    @property
    def severity(self) -> str:
        return "error" if self.confidence == "H" else "warning"

    @property
    def clause(self) -> str:
        return {"horizontal": "GB 50289-2016 表4.1.9", "vertical": "GB 50289-2016 表4.1.14"}.get(
            self.kind, "GB 50289-2016 表4.1.1"
        )


def _confidence(note: str) -> str:
    found = re.search(r"conf=([HML])", note)
    return found.group(1) if found else "L"


@lru_cache(maxsize=4)
def load_rules(path: Path = DEFAULT_RULES) -> tuple[Rule, ...]:
    """Every row of the clearance table; a row with an unknown kind or a bad number is an error in the file."""
    rules = []
    with open(path, newline="", encoding="utf-8") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            if row["kind"] not in KINDS:
                raise ValueError(f"{path.name}:{line}: unknown kind {row['kind']!r}")
            try:
                minimum = float(row["min_m"])
            except ValueError:
                raise ValueError(f"{path.name}:{line}: min_m {row['min_m']!r} is not a number") from None
            note = row["note"]
            rules.append(Rule(row["kind"], row["type_a"], row["type_b"], minimum, _confidence(note), note))
    return tuple(rules)


def pipe_types(utility: str, diameter_mm: float | None = None, pressure_class: str = "") -> frozenset[str]:
    """The table's type names that a pipe of this utility, diameter and pressure class answers to."""
    small = diameter_mm is not None and diameter_mm <= 200
    types = {"any_pipeline"}
    if utility == "water":
        types |= {"water_supply", "water_supply_d<=200mm" if small else "water_supply_d>200mm"}
    elif utility == "drainage":
        types |= {"sewer_storm", "drainage"}
    elif utility == "gas":
        # Unknown pressure class: take the strictest, sub-high A (fail closed).
        gas_class = pressure_class if pressure_class in GAS_CLASSES else "subhigh_a"
        dn_small = diameter_mm is not None and diameter_mm <= 300
        types |= {"gas", "gas_any", f"gas_{gas_class}", "gas_any_DN<=300mm" if dn_small else "gas_any_DN>300mm"}
    elif utility == "heat":
        types |= {"heat", "heat_direct_buried"}
    elif utility == "power":
        types |= {"power_direct_buried", "power_any", "power_<35kV"}
    elif utility == "telecom":
        types |= {"telecom_direct_buried", "telecom_any", "telecom_direct_or_plastic_concrete_conduit"}
    return frozenset(types)


@dataclass(frozen=True)
class RuleBook:
    """The rules of one kind indexed by (type, type) in both orders."""

    kind: str
    by_pair: dict

    @classmethod
    def of(cls, kind: str, rules: Iterable[Rule] | None = None) -> RuleBook:
        by_pair: dict[tuple[str, str], Rule] = {}
        for rule in load_rules() if rules is None else rules:
            if rule.kind != kind:
                continue
            for pair in ((rule.type_a, rule.type_b), (rule.type_b, rule.type_a)):
                if pair not in by_pair or by_pair[pair].min_m < rule.min_m:
                    by_pair[pair] = rule
        return cls(kind, by_pair)

    def required(self, types_a: Iterable[str], types_b: Iterable[str]) -> Rule | None:
        """The largest minimum among the rows naming one type of each pipe; None when no row applies."""
        found = [self.by_pair[(a, b)] for a in types_a for b in types_b if (a, b) in self.by_pair]
        return max(found, key=lambda rule: (rule.min_m, rule.confidence == "H")) if found else None

    def pairs(self) -> list[tuple[str, str, float]]:
        """(type_a, type_b, min_m) rows in both orders: the table a database query joins against."""
        return [(a, b, rule.min_m) for (a, b), rule in sorted(self.by_pair.items())]


def horizontal_clearance(centre_distance_m: float, diameter_a_mm: float | None, diameter_b_mm: float | None) -> float:
    """Outer wall to outer wall, from the centre-line distance and the two diameters (unknown: 0)."""
    return centre_distance_m - ((diameter_a_mm or 0.0) + (diameter_b_mm or 0.0)) / 2000.0


def vertical_clearance(
    crown_depth_a_m: float, diameter_a_mm: float | None, crown_depth_b_m: float, diameter_b_mm: float | None
) -> float:
    """At a crossing: the crown of the lower pipe minus the invert (outer bottom) of the upper one."""
    upper, lower = sorted(
        ((crown_depth_a_m, diameter_a_mm or 0.0), (crown_depth_b_m, diameter_b_mm or 0.0)), key=lambda item: item[0]
    )
    return lower[0] - (upper[0] + upper[1] / 1000.0)
