"""The category table shipped as data (``data/grid_categories.csv``), loaded into the database on migrate.

The CSV holds both schemes (GB/T 47678.5-2026 and CJ/T 214-2007, from grid-standards.md and
grid-categories.csv), each class's responsible department type, and default time limits with their source
in ``limit_source``: manhole covers 6 natural hours (Guangzhou and Tianjin rules), road collapse and main
bursts 72 natural hours (Tianjin), 私搭乱建 / 暴露垃圾 / 积存垃圾渣土 / 道路不洁 / 水域不洁 from the Jiyuan
rulebook, 绿地脏乱 from another municipal rulebook; every other class gets a labelled CityOps default
(5 working days for component faults, 2 for matters). No national table fixes these: each city edits them
(admin, or its own CSV and ``manage.py load_grid_categories FILE``).
"""

import csv
from pathlib import Path

CSV_PATH = Path(__file__).resolve().parents[1] / "data" / "grid_categories.csv"
_CATEGORY_FIELDS = (
    "standard_code", "scheme", "kind", "major_code", "major_name", "name", "name_en", "equivalent_code",
    "department_type", "confirmation_hours", "dispatch_hours", "handling_limit", "handling_unit",
    "verification_hours", "limit_source",
)  # fmt: skip


def read_rows(path: Path = CSV_PATH) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        row["major_name"], row["name"] = row.pop("major_name_zh"), row.pop("name_zh")
        row.pop("major_name_en", None)
        for key in ("confirmation_hours", "dispatch_hours", "handling_limit", "verification_hours"):
            row[key] = float(row[key])
    return rows


def load_categories(component_class_model, category_model, path: Path = CSV_PATH) -> tuple[int, int]:
    """Insert or update every row (by code); returns (component classes, categories). Models are passed in
    so a data migration can use its historical models."""
    rows = read_rows(path)
    classes = {}
    for row in rows:
        if row["table"] != "component_class":
            continue
        legacy = row["equivalent_code"][1:] if row["equivalent_code"].startswith("C") else ""
        classes[row["code"]], _ = component_class_model.objects.update_or_create(
            code=row["code"],
            defaults={
                "legacy_code": legacy,
                "major_code": row["major_code"],
                "major_name": row["major_name"],
                "name": row["name"],
                "name_en": row["name_en"],
                "department_type": row["department_type"],
            },
        )
    n = 0
    for row in rows:
        if row["table"] != "category":
            continue
        defaults = {key: row[key] for key in _CATEGORY_FIELDS}
        if row["kind"] == "component":
            # a 2026 matter of majors 01-05 is the anomaly of the component class with the same code;
            # a CJ/T 214 component class points at its 2026 equivalent, if there is one
            digits = row["code"] if row["scheme"] == "gbt47678" else row["equivalent_code"]
            defaults["component_class"] = classes.get(digits)
        category_model.objects.update_or_create(code=row["code"], defaults=defaults)
        n += 1
    return len(classes), n
