"""The code tables of emergency resources, read from CSV files in data/: supplies (沙袋, 抽水泵, …, with their unit)
and specialties (rescue teams' skills, experts' fields). A migration loads the codes that are new; admins edit the
names afterwards. A bad file fails loudly with its line number rather than loading half.
"""

import csv
from dataclasses import dataclass
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "data"
SUPPLIES = DATA / "resources_supplies.csv"
SPECIALTIES = DATA / "resources_specialties.csv"
SPECIALTY_KINDS = ("skill", "field")


@dataclass(frozen=True)
class CodeRow:
    kind: str  # "supply", or a specialty kind
    code: str
    name: str
    name_en: str
    unit: str = ""


def _rows(path: Path, kind_of) -> list[CodeRow]:
    rows, seen = [], set()
    with open(path, encoding="utf-8", newline="") as handle:
        for number, row in enumerate(csv.DictReader(handle), start=2):
            try:
                kind, code = kind_of(row), row["code"].strip()
                if not code or (kind, code) in seen:
                    raise ValueError(f"code {code!r} is empty or repeated")
                if not row["name_zh"].strip() or not row["name_en"].strip():
                    raise ValueError(f"code {code!r} needs a Chinese and an English name")
            except (KeyError, ValueError) as exc:
                raise ValueError(f"{path.name} line {number}: {exc}") from exc
            seen.add((kind, code))
            rows.append(CodeRow(kind, code, row["name_zh"].strip(), row["name_en"].strip(), row.get("unit_zh", "")))
    return rows


def _specialty_kind(row) -> str:
    if row["kind"] not in SPECIALTY_KINDS:
        raise ValueError(f"kind {row['kind']!r} is not one of {SPECIALTY_KINDS}")
    return row["kind"]


def read_supplies(path: Path = SUPPLIES) -> list[CodeRow]:
    return _rows(path, lambda row: "supply")


def read_specialties(path: Path = SPECIALTIES) -> list[CodeRow]:
    return _rows(path, _specialty_kind)


def load_code_tables(supply_model, specialty_model) -> int:
    """Insert the codes not yet present (admin edits are kept); returns how many were new. Takes the model classes
    so the data migration (historical models) and the demo loader (after a test flush) share it."""
    have = set(supply_model.objects.values_list("code", flat=True))
    new_supplies = [r for r in read_supplies() if r.code not in have]
    supply_model.objects.bulk_create(
        supply_model(code=r.code, name=r.name, name_en=r.name_en, unit=r.unit) for r in new_supplies
    )
    have = set(specialty_model.objects.values_list("kind", "code"))
    new_specialties = [r for r in read_specialties() if (r.kind, r.code) not in have]
    specialty_model.objects.bulk_create(
        specialty_model(kind=r.kind, code=r.code, name=r.name, name_en=r.name_en) for r in new_specialties
    )
    return len(new_supplies) + len(new_specialties)
