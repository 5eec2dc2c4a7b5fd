"""The road classes every road layer uses (demo city, OpenStreetMap imports), and default speeds.

The demo city's roads carry its own class speeds; an OSM import takes a road's speed from its tags and,
where it has none, from its country's legal default speed limits (``data/osm_speed_defaults.csv``, from
the OSM wiki page "Default speed limits").
"""

from __future__ import annotations

import csv
from functools import cache
from pathlib import Path

# Speeds (km/h) of the demo city's roads, per class: urban Chinese defaults.
SPEED_KMH = {"expressway": 80.0, "arterial": 60.0, "secondary": 40.0, "branch": 30.0}

SPEED_DEFAULTS_CSV = Path(__file__).resolve().parents[1] / "data" / "osm_speed_defaults.csv"


@cache
def country_speed_limits() -> dict[str, dict[str, tuple[str, str]]]:
    """country code (e.g. "CN", "AU-NSW") → zone ("urban", "rural", "motorway", …) → (maxspeed, advisory)."""
    limits: dict[str, dict[str, tuple[str, str]]] = {}
    with SPEED_DEFAULTS_CSV.open(encoding="utf-8") as f:
        for row in csv.DictReader(line for line in f if not line.startswith("#")):
            limits.setdefault(row["country"].upper(), {})[row["zone"]] = (row["maxspeed"], row["advisory"])
    return limits


def zone_limit(country: str, zone: str) -> tuple[str, str] | None:
    """(maxspeed, advisory) of a zone in a country or subdivision ("AU-NSW" falls back to "AU"); None if unknown."""
    limits = country_speed_limits()
    country = country.upper()
    for code in (country, country.split("-")[0]):
        if zone in limits.get(code, {}):
            return limits[code][zone]
    return None
