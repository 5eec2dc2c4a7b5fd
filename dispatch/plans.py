"""The per-agency incident code tables and their response plans (run cards), read from a CSV file.

The file is data, not code: ``data/dispatch_incident_types.csv`` ships the defaults, a migration loads
the codes that are new, and admins edit the plans afterwards. A plan cell lists ``agency:unit_kind:count``
items separated by ``;``.
"""

import csv
from dataclasses import dataclass
from pathlib import Path

CODE_TABLE = Path(__file__).resolve().parents[1] / "data" / "dispatch_incident_types.csv"
AGENCIES = ("110", "119", "120", "122")
PRIORITIES = range(1, 5)  # 1 is the most urgent
UTILITIES = ("", "gas", "water")


@dataclass(frozen=True)
class PlanLine:
    agency: str
    unit_kind: str
    count: int


@dataclass(frozen=True)
class IncidentTypeRow:
    code: str
    agency: str
    name: str
    name_en: str
    default_priority: int
    utility: str
    plan: tuple[PlanLine, ...]


def parse_plan(text: str, unit_kinds) -> tuple[PlanLine, ...]:
    """``"119:fire_engine:2;120:ambulance:1"`` → plan lines; ValueError naming the bad item."""
    lines = []
    for item in filter(None, (part.strip() for part in text.split(";"))):
        parts = item.split(":")
        if len(parts) != 3:
            raise ValueError(f"plan item {item!r} is not agency:unit_kind:count")
        agency, kind, count = parts
        if agency not in AGENCIES:
            raise ValueError(f"plan item {item!r}: unknown agency {agency!r}")
        if kind not in unit_kinds:
            raise ValueError(f"plan item {item!r}: unknown unit kind {kind!r}")
        if not count.isdigit() or not 1 <= int(count) <= 20:
            raise ValueError(f"plan item {item!r}: count must be 1..20")
        lines.append(PlanLine(agency, kind, int(count)))
    if len({(line.agency, line.unit_kind) for line in lines}) != len(lines):
        raise ValueError(f"plan {text!r} names a unit kind twice")
    return tuple(lines)


def read_code_table(path: Path, unit_kinds) -> list[IncidentTypeRow]:
    """Every row checked; a bad file fails loudly with its line number rather than loading half."""
    rows, seen = [], set()
    with open(path, encoding="utf-8", newline="") as handle:
        for number, row in enumerate(csv.DictReader(handle), start=2):
            try:
                code, agency = row["code"].strip(), row["agency"].strip()
                if not code or code in seen:
                    raise ValueError(f"code {code!r} is empty or repeated")
                if agency not in AGENCIES:
                    raise ValueError(f"unknown agency {agency!r}")
                priority = int(row["default_priority"])
                if priority not in PRIORITIES:
                    raise ValueError(f"priority {priority} is not 1..4")
                if row["utility"] not in UTILITIES:
                    raise ValueError(f"utility {row['utility']!r} is not one of {UTILITIES}")
                plan = parse_plan(row["plan"], unit_kinds)
            except (KeyError, ValueError) as exc:
                raise ValueError(f"{path.name} line {number}: {exc}") from exc
            seen.add(code)
            rows.append(IncidentTypeRow(code, agency, row["name_zh"], row["name_en"], priority, row["utility"], plan))
    return rows


def load_code_table(incident_type_model, plan_item_model, unit_kinds, path: Path = CODE_TABLE) -> int:
    """Insert the codes not yet present (admin edits to existing ones are kept); returns how many were new.

    Takes the model classes so that the data migration (historical models) and the demo loader (which
    restores the table after a test flush) share it.
    """
    existing = set(incident_type_model.objects.values_list("code", flat=True))
    new = [row for row in read_code_table(path, unit_kinds) if row.code not in existing]
    for row in new:
        kind = incident_type_model.objects.create(
            code=row.code,
            agency=row.agency,
            name=row.name,
            name_en=row.name_en,
            default_priority=row.default_priority,
            utility=row.utility,
        )
        plan_item_model.objects.bulk_create(
            plan_item_model(incident_type=kind, agency=line.agency, unit_kind=line.unit_kind, count=line.count)
            for line in row.plan
        )
    return len(new)
