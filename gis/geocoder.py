"""Reads of the address layer: address text → ranked candidate points (geocode), point → nearest address (reverse).

Matching: the text is parsed into its elements (gis/geocoding.py); the road is found by its search key (the name without
its suffix, so 路/道 confusion costs nothing) through a b-tree, else (a wrong or missing character) the roads whose
search text is most like the one asked, nearest first through the GiST trigram index of the distinct roads
(geo_address_road) —
and on each candidate road the house number: the exact number, else the nearest one, else (no number given) the
road's centre. Each candidate's score (0–1) weighs road similarity, number, the administrative levels the text
named (a candidate in another district loses) and the building. Why trigrams and no full-text index: README
"Address geocoding".

The unit grid at a point belongs to the grid app, which registers its look-up here (`register_grid_lookup`), so the
shared gis app imports no domain app.
"""

from collections.abc import Callable
from dataclasses import dataclass

from core.errors import InputError
from core.prepared import fetch_all

from .geocoding import AddressElements, parse, road_key, road_name, search_text

MAX_QUERY_CHARS = 100
MAX_LIMIT = 20
ROAD_CANDIDATES = 8  # fuzzy road keys compared per query
NEAREST_ROADS = 2 * ROAD_CANDIDATES  # rows of geo_address_road walked: one key may be there as 路 and as 道
ROWS_PER_ROAD = 3
SIMILARITY_FLOOR = 0.15  # 清夏路 for 清厦路 scores 0.17, 夏上大道 for 厦上大道 0.25
WEIGHTS = {"road": 0.5, "number": 0.25, "areas": 0.15, "building": 0.1}

GridLookup = Callable[[list[tuple[float, float]]], list[dict | None]]
_grid_lookup: list[GridLookup] = []


def register_grid_lookup(lookup: GridLookup) -> None:
    """The unit grid ({"id", "code"} or None) at each of several (lon, lat), in one query; the grid app's."""
    _grid_lookup[:] = [lookup]


def _grids_at(points: list[tuple[float, float]]) -> list[dict | None]:
    return _grid_lookup[0](points) if _grid_lookup and points else [None] * len(points)


_CANDIDATES_SQL = """
WITH roads AS (  -- the road whose key was asked for; or (fuzzy) those whose search text is most like the one asked
  SELECT %(key)s::text AS road_key, 1.0::float8 AS sim WHERE NOT %(fuzzy)s
  UNION ALL (
    SELECT road_key, max(sim) AS sim FROM (
      SELECT road_key, 1 - (search_text <-> %(text)s) AS sim FROM geo_address_road
      WHERE %(fuzzy)s ORDER BY search_text <-> %(text)s LIMIT %(nearest)s
    ) nearest
    WHERE sim >= %(floor)s GROUP BY road_key ORDER BY sim DESC, road_key LIMIT %(roads)s
  )
)
SELECT r.sim, a.id, a.label, a.road_name, a.number, a.building, a.unit, a.room, a.province, a.city,
       d.code, d.name, s.code, s.name, c.code, c.name, ST_X(a.geom), ST_Y(a.geom), a.precision
FROM roads r
CROSS JOIN LATERAL (
  SELECT a.*, NULL AS precision FROM (  -- the nearest numbers above and below through the (road_key, number) index
    SELECT * FROM (
      (SELECT a.id, a.label, a.road_name, a.number, a.building, a.unit, a.room, a.province, a.city, a.district_id,
              a.street_id, a.community_id, a.geom
       FROM geo_address a WHERE a.road_key = r.road_key AND a.number >= %(number)s::int
       ORDER BY a.number, a.building <> %(building)s, a.building LIMIT %(per_road)s)
      UNION ALL
      (SELECT a.id, a.label, a.road_name, a.number, a.building, a.unit, a.room, a.province, a.city, a.district_id,
              a.street_id, a.community_id, a.geom
       FROM geo_address a WHERE a.road_key = r.road_key AND a.number < %(number)s::int
       ORDER BY a.number DESC, a.building <> %(building)s, a.building LIMIT %(per_road)s)
    ) near
    ORDER BY abs(near.number - %(number)s::int), near.building <> %(building)s, near.building <> '', near.number
    LIMIT %(per_road)s
  ) a
  UNION ALL (  -- no number: the road's centre, the address nearest the middle of all its addresses
    SELECT NULL, '', min(a.road_name), NULL, '', '', '', min(a.province), min(a.city), min(a.district_id),
           NULL, NULL, ST_ClosestPoint(ST_Collect(a.geom), ST_Centroid(ST_Collect(a.geom))), 'road'
    FROM geo_address a
    WHERE a.road_key = r.road_key AND %(number)s::int IS NULL AND a.building = ''
    GROUP BY a.district_id
  )
) a
JOIN core_adminarea d ON d.id = a.district_id
LEFT JOIN core_adminarea s ON s.id = a.street_id
LEFT JOIN core_adminarea c ON c.id = a.community_id
"""


@dataclass(frozen=True)
class _Row:
    road_similarity: float
    id: int | None
    label: str
    road_name: str
    number: int | None
    building: str
    unit: str
    room: str
    province: str
    city: str
    district_code: str
    district: str
    street_code: str | None
    street: str | None
    community_code: str | None
    community: str | None
    lon: float
    lat: float
    precision: str | None


def _same_area(asked: str, name: str | None) -> bool:
    """福田区 matches 福田区, 福田 and 深圳福田区: the parser may keep a prefix it could not place, or drop a suffix."""
    return bool(name) and (asked in name or name in asked)


def _road_score(asked: AddressElements, row: _Row) -> float:
    """1 for the road named, 0.9 for its key with another suffix (路/道), below that the mean of the trigram
    similarity and the share of key characters in the same place (乐香二 is nearer 乐乡二 than 香振二)."""
    if row.road_similarity < 1.0:
        asked_key, key = road_key(asked.road), road_key(row.road_name)
        in_place = sum(a == b for a, b in zip(asked_key, key, strict=False)) / max(len(asked_key), len(key))
        return 0.9 * (row.road_similarity + in_place) / 2
    return 1.0 if road_name(asked.road) == row.road_name else 0.9  # the key matched, the suffix (路/道) differs


def _number_score(asked: AddressElements, row: _Row) -> tuple[float, str]:
    if asked.number is None:
        return 0.6, "road"
    if row.number == asked.number:
        return 1.0, "building" if row.building and row.building == asked.building else "door"
    return 0.7 * max(0.0, 1.0 - abs(row.number - asked.number) / 50), "nearest_number"


def _areas_score(asked: AddressElements, row: _Row) -> float:
    pairs = [
        (asked.district, row.district),
        (asked.street, row.street),
        (asked.community, row.community),
    ]
    named = [(a, name) for a, name in pairs if a]
    if not named:
        return 1.0
    return sum(_same_area(a, name) for a, name in named) / len(named)


def _building_score(asked: AddressElements, row: _Row) -> float:
    if row.building == asked.building:
        return 1.0
    return 0.7 if not row.building else 0.3  # the door plate stands in for a building the layer lacks


def _candidate(asked: AddressElements, row: _Row) -> dict:
    number, precision = _number_score(asked, row)
    parts = {
        "road": _road_score(asked, row),
        "number": number,
        "areas": _areas_score(asked, row),
        "building": _building_score(asked, row),
    }
    score = sum(WEIGHTS[part] * value for part, value in parts.items())
    label = row.label or f"{row.city}{row.district}{row.road_name}"
    return {
        "id": row.id,
        "label": label,
        "score": round(score, 3),
        "precision": precision,
        "elements": {
            "province": row.province,
            "city": row.city,
            "district": row.district,
            "street": row.street or "",
            "community": row.community or "",
            "road": row.road_name,
            "number": row.number,
            "building": row.building,
            "unit": row.unit,
            "room": row.room,
        },
        "point": {"type": "Point", "coordinates": [round(row.lon, 7), round(row.lat, 7)]},
        "district": {"code": row.district_code, "name": row.district},
        "street": {"code": row.street_code, "name": row.street} if row.street_code else None,
        "community": {"code": row.community_code, "name": row.community} if row.community_code else None,
    }


def _candidate_rows(asked: AddressElements, fuzzy: bool) -> list[_Row]:
    params = {
        "key": road_key(asked.road),
        "text": search_text(asked.road),
        "fuzzy": fuzzy,
        "number": asked.number,
        "building": asked.building,
        "roads": ROAD_CANDIDATES,
        "nearest": NEAREST_ROADS,
        "floor": SIMILARITY_FLOOR,
        "per_road": ROWS_PER_ROAD,
    }
    return [_Row(*row) for row in fetch_all(_CANDIDATES_SQL, params)]


def geocode(text: str, limit: int = 5) -> dict:
    """Ranked candidates for an address text: {"query", "elements" (as parsed), "candidates": [{label, score,
    precision ("building", "door", "nearest_number" or "road" — what the point stands for), elements, point,
    district, street, community, grid}]}, best first."""
    text = (text or "").strip()
    if not text:
        raise InputError("q", "q is required")
    if len(text) > MAX_QUERY_CHARS:
        raise InputError("q", f"q is longer than {MAX_QUERY_CHARS} characters")
    if not 1 <= limit <= MAX_LIMIT:
        raise InputError("limit", f"limit must be between 1 and {MAX_LIMIT}")
    asked = parse(text)
    key = road_key(asked.road)
    rows = _candidate_rows(asked, fuzzy=False) if key else []
    if key and not rows:
        rows = _candidate_rows(asked, fuzzy=True)
    candidates = sorted((_candidate(asked, row) for row in rows), key=lambda c: (-c["score"], c["label"]))[:limit]
    grids = _grids_at([c["point"]["coordinates"] for c in candidates])
    for candidate, grid in zip(candidates, grids, strict=True):
        candidate["grid"] = grid
    return {"query": text, "elements": asked.as_dict(), "candidates": candidates}


_REVERSE_SQL = """
WITH p AS (SELECT ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326) AS geom)
SELECT a.id, a.label, a.road_name, a.number, a.building, ST_X(a.geom), ST_Y(a.geom),
       ST_Distance(a.geom::geography, p.geom::geography),
       d.code, d.name, s.code, s.name, c.code, c.name
FROM p
LEFT JOIN LATERAL (SELECT * FROM geo_address a ORDER BY a.geom <-> p.geom LIMIT 1) a ON true
LEFT JOIN core_adminarea d ON d.id = a.district_id
LEFT JOIN LATERAL (
  SELECT code, name, parent_id FROM core_adminarea WHERE level = 'community' AND ST_Intersects(geom, p.geom) LIMIT 1
) c ON true
LEFT JOIN LATERAL (
  SELECT code, name FROM core_adminarea
  WHERE level = 'street' AND (id = c.parent_id OR (c.parent_id IS NULL AND ST_Intersects(geom, p.geom))) LIMIT 1
) s ON true
"""


def reverse(lon: float, lat: float) -> dict:
    """The address nearest a point, its distance (m), and the unit grid, sub-district and community at the point
    itself (None where the point lies in none, e.g. outside the city): {"address", "distance_m", "grid", "street",
    "community"}; "address" is None when the layer is empty."""
    (
        address_id, label, road, number, building, x, y, distance,
        district_code, district, street_code, street, community_code, community,
    ) = fetch_all(_REVERSE_SQL, {"lon": lon, "lat": lat})[0]  # fmt: skip
    address = None
    if address_id is not None:
        address = {
            "id": address_id,
            "label": label,
            "elements": {"road": road, "number": number, "building": building},
            "point": {"type": "Point", "coordinates": [round(x, 7), round(y, 7)]},
            "district": {"code": district_code, "name": district},
        }
    return {
        "address": address,
        "distance_m": round(distance, 1) if distance is not None else None,
        "grid": _grids_at([(lon, lat)])[0],
        "street": {"code": street_code, "name": street} if street_code else None,
        "community": {"code": community_code, "name": community} if community_code else None,
    }
