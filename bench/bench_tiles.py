"""Vector-tile figures: CityOps /tiles/ (cold = rendered, warm = from the Redis cache) against the bare ST_AsMVT
query for the same tiles.

Run:  .venv/bin/python bench/bench_tiles.py [--scale city] [--layer roads] [--zooms 13 14 15] [--rounds 3]

Uses the bench database `cityops_bench` (bench/benchdb.py), loading the demo city if it is empty. Requests go
through the whole Django stack in-process (URL routing, session auth, role check, cache, ETag) with the test
client, so the ratio shows what CityOps adds on top of PostGIS. The bare query is the textbook one:
ST_AsMVTGeom over the tile envelope of the same rows and columns, nothing else.
Goals (issue 3): uncached within 1.3× of the bare query; cached tiles far faster. Also printed: CityOps' own
tile SQL run directly, which separates the query's cost from the per-request cost of Django (session and
user look-ups, 2 queries per request with the database session backend).
"""

import argparse
import math
import os
import platform
import statistics
import time

from benchdb import prepare_database


def tiles_covering(bounds, z: int) -> list[tuple[int, int, int]]:
    west, south, east, north = bounds
    n = 2**z

    def tx(lon):
        return int((lon + 180) / 360 * n)

    def ty(lat):
        return int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)

    return [(z, x, y) for x in range(tx(west), tx(east) + 1) for y in range(ty(north), ty(south) + 1)]


BARE = """
SELECT ST_AsMVT(t, %(layer)s, 4096, 'geom', 'id') FROM (
  SELECT id, name, road_class, speed_kmh, oneway, lanes,
         ST_AsMVTGeom(ST_Transform(geom, 3857), ST_TileEnvelope(%(z)s, %(x)s, %(y)s), 4096, 64, true) AS geom
  FROM geo_road
  WHERE geom && ST_Transform(ST_TileEnvelope(%(z)s, %(x)s, %(y)s, margin => 64.0 / 4096), 4326)
) t WHERE t.geom IS NOT NULL
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="city", choices=["small", "city", "metro"])
    parser.add_argument("--layer", default="roads", help="roads (compared with the bare query) or basemap")
    parser.add_argument("--zooms", type=int, nargs="+", default=[13, 14, 15])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    prepare_database()
    os.environ.setdefault("CITYOPS_DB_CONN_MAX_AGE", "600")  # persistent connections, as a deployment runs
    import django

    django.setup()
    from django.db import connection
    from django.test import Client

    from core.management.commands.load_demo_city import load_demo_city
    from core.models import AdminArea, User
    from gis import tiles

    if not AdminArea.objects.exists():
        print(f"loading the {args.scale} demo city into cityops_bench …")
        load_demo_city(args.scale)
    city = AdminArea.objects.get(level=AdminArea.Level.CITY)
    grid = [t for z in args.zooms for t in tiles_covering(city.geom.extent, z)]
    client = Client()
    client.force_login(User.objects.get(username="planner"))
    machine = f"Python {platform.python_version()}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}"
    print(f"# tile bench: {machine}, PostGIS tiles of {args.layer}")
    print(f"{len(grid)} tiles at zooms {args.zooms} over the city ({city.geom.extent})")

    def bare_pass() -> float:
        started = time.perf_counter()
        with connection.cursor() as cursor:
            for z, x, y in grid:
                cursor.execute(BARE, {"layer": "roads", "z": z, "x": x, "y": y})
                cursor.fetchone()
        return time.perf_counter() - started

    our_layers = tiles.tile_layers(args.layer, User.objects.get(username="planner"))

    def render_pass() -> float:
        """Our SQL (built from the layer registry) straight to PostGIS: no HTTP, no auth, no cache."""
        started = time.perf_counter()
        for z, x, y in grid:
            for tile_layer in our_layers:
                tiles.render(tile_layer, z, x, y)
        return time.perf_counter() - started

    def http_pass(cold: bool) -> tuple[float, int]:
        if cold:
            tiles.bump(*tiles.all_tables())
        size = 0
        started = time.perf_counter()
        for z, x, y in grid:
            response = client.get(f"/tiles/{args.layer}/{z}/{x}/{y}.pbf")
            assert response.status_code in (200, 204), response.status_code
            size += len(response.content)
        return time.perf_counter() - started, size

    def floor_pass() -> float:
        """The same number of signed-in requests to a view that touches no tile (the style JSON): the floor."""
        started = time.perf_counter()
        for _ in grid:
            client.get("/tiles/styles/basemap.json")
        return time.perf_counter() - started

    bare_pass()  # warm PostgreSQL's buffers and plans once, for all contenders
    bare, ours, cold, warm, floor = [], [], [], [], []
    size = 0
    for _ in range(args.rounds):
        bare.append(bare_pass())
        ours.append(render_pass())
        seconds, size = http_pass(cold=True)
        cold.append(seconds)
        warm.append(http_pass(cold=False)[0])
        floor.append(floor_pass())
    b, r = statistics.median(bare), statistics.median(ours)
    c, w, f = statistics.median(cold), statistics.median(warm), statistics.median(floor)
    n = len(grid)
    print(f"tile bytes per pass: {size}")
    print(f"bare ST_AsMVT query : {n / b:8.1f} tiles/s  ({b / n * 1000:.2f} ms/tile)")
    print(f"CityOps tile SQL     : {n / r:8.1f} tiles/s  ({r / n * 1000:.2f} ms/tile)")
    print(f"CityOps cold (render): {n / c:8.1f} tiles/s  ({c / n * 1000:.2f} ms/tile)")
    print(f"CityOps warm (cache) : {n / w:8.1f} tiles/s  ({w / n * 1000:.2f} ms/tile)")
    print(f"request floor (style): {n / f:8.1f} req/s    ({f / n * 1000:.2f} ms/request: session, user, middleware)")
    if args.layer == "roads":
        print(f"ratio tile SQL / bare = {r / b:.2f}  (the query CityOps sends vs the textbook one)")
        print(f"ratio cold HTTP / bare = {c / b:.2f}  (goal ≤ 1.3; includes session auth, role check, cache I/O)")
    print(f"ratio warm / cold = {w / c:.2f}  (cached tiles are {c / w:.1f}× faster)")


if __name__ == "__main__":
    main()
