"""Where a reported position is, for many positions in one query: inside the city or not, its unit grid (or at
least street and district), and the nearest component of the case category's class (a removed one no longer
stands there, grid/survey.py)."""

from dataclasses import dataclass

from django.contrib.gis.geos import GEOSGeometry
from django.db import connection

from core.errors import InputError
from core.prepared import fetch_all

from .models import Category, Component, UnitGrid

COMPONENT_SEARCH_M = 30.0  # a reported problem is "at" a component of its class within this distance


@dataclass(frozen=True)
class Place:
    """Where a position is: its unit grid, areas and the nearest component of the case's class."""

    grid: UnitGrid | None  # only id and code loaded
    street_id: int | None
    district_id: int | None
    component: Component | None  # only id and identifier loaded
    serial: int | None  # the next case number, when asked for


_PLACES_SQL = """
WITH p AS (
  SELECT i, ST_SetSRID(ST_MakePoint(lon, lat), 4326) AS geom, cls
  FROM unnest(%(lon)s::float8[], %(lat)s::float8[], %(cls)s::bigint[]) WITH ORDINALITY AS t(lon, lat, cls, i)
)
SELECT
  EXISTS (SELECT 1 FROM core_adminarea a WHERE a.level = 'city' AND ST_Intersects(a.geom, p.geom)),
  g.id, g.code, coalesce(g.street_id, s.id), coalesce(g.district_id, s.parent_id), c.id, c.ident,
  CASE WHEN %(number)s THEN nextval('grid_case_number_seq') END
FROM p
LEFT JOIN LATERAL (
  SELECT id, code, street_id, district_id FROM grid_unitgrid u WHERE ST_Intersects(u.geom, p.geom) ORDER BY code LIMIT 1
) g ON true
LEFT JOIN LATERAL (
  SELECT a.id, a.parent_id FROM core_adminarea a
  WHERE g.id IS NULL AND a.level = 'street' AND ST_Intersects(a.geom, p.geom) LIMIT 1
) s ON true
LEFT JOIN LATERAL (
  SELECT id, ident FROM grid_component k
  WHERE k.component_class_id = p.cls AND k.status <> 'removed' AND k.geom && ST_Expand(p.geom, %(deg)s)
    AND ST_DWithin(k.geom::geography, p.geom::geography, %(metres)s)
  ORDER BY k.geom <-> p.geom LIMIT 1
) c ON true
ORDER BY p.i
"""


def locate(point: GEOSGeometry, category: Category | None, number: bool = False) -> Place:
    """Where one position is (see locate_many); InputError if it is outside the city."""
    place = locate_many([(point, category)], number)[0]
    if place is None:
        raise outside_city(point)
    return place


def outside_city(point: GEOSGeometry) -> InputError:
    return InputError("location", f"position ({point.x:.6f}, {point.y:.6f}) is outside the city")


def locate_many(positions: list[tuple[GEOSGeometry, Category | None]], number: bool = False) -> list[Place | None]:
    """One query for all positions: inside the city? (None if not), the grid (or at least street and district),
    the nearest component of the category's class, and (``number``) the serial of a new case number."""
    with connection.cursor() as cursor:
        cursor.execute(
            _PLACES_SQL,
            {
                "lon": [point.x for point, _ in positions],
                "lat": [point.y for point, _ in positions],
                "cls": [category.component_class_id if category else None for _, category in positions],
                "deg": COMPONENT_SEARCH_M / 80_000,  # a generous box: 1° ≥ 80 km at Chinese latitudes
                "metres": COMPONENT_SEARCH_M,
                "number": number,
            },
        )
        rows = cursor.fetchall()
    return [
        Place(
            UnitGrid(pk=grid_id, code=grid_code) if grid_id else None,
            street_id,
            district_id,
            Component(pk=component_id, ident=ident) if component_id else None,
            serial,
        )
        if inside
        else None
        for inside, grid_id, grid_code, street_id, district_id, component_id, ident, serial in rows
    ]


_GRID_CELLS_SQL = """
SELECT g.id, g.code
FROM unnest(%(lon)s::float8[], %(lat)s::float8[]) WITH ORDINALITY AS p(lon, lat, i)
LEFT JOIN LATERAL (
  SELECT id, code FROM grid_unitgrid u WHERE ST_Intersects(u.geom, ST_SetSRID(ST_MakePoint(p.lon, p.lat), 4326))
  ORDER BY code LIMIT 1
) g ON true
ORDER BY p.i
"""


def grid_cells(points: list[tuple[float, float]]) -> list[dict | None]:
    """The unit grid ({"id", "code"}) at each (lon, lat), None outside every grid: the geocoder's grid look-up, on
    every geocode, so the grid alone (locate_many's city, street and component look-ups doubled a geocode's cost)."""
    rows = fetch_all(_GRID_CELLS_SQL, {"lon": [lon for lon, _ in points], "lat": [lat for _, lat in points]})
    return [{"id": grid_id, "code": code} if grid_id else None for grid_id, code in rows]
