"""Vector-tile time: CityOps /tiles/ (uncached = rendered, cached = from Redis) against the bare ST_AsMVT query for
the same tile, over real HTTP and in-process, for several tiles at several zooms; medians and ratios.

Run:  .venv/bin/python bench/bench_tiles.py [--scale city] [--zooms 12 14 16] [--tiles 5] [--repeats 7]

Uses the bench database `cityops_bench` (bench/benchdb.py), loading the demo city if it is empty.
- bare: the textbook query (ST_AsMVTGeom over the tile envelope of the same rows and columns of geo_road, nothing
  else), sent by this process on its own plain psycopg connection: one round trip to PostGIS. The ratios are
  against it with the server's defaults; "bare, JIT off" is the same on a connection without JIT, as CityOps'
  tile connections are (gis/tile_server.py), so the gain of that choice is visible on its own.
- HTTP: `uvicorn cityops.asgi:application` (as bin/cityops starts it, one worker) on loopback, signed in as the
  planner through the login form; one keep-alive connection. This is what a map client waits for.
- in-process: the same request through Django's whole handler and middleware in this process (WSGIHandler, same
  session cookie), without the HTTP server and socket.
- uncached: the layer's tables get a new version first (as a data change does), so the tile is rendered;
  cached: the same tile again, from Redis.
- bare over HTTP: the same bare query behind the smallest Python tile server (peers/bare_tile_server.py: uvicorn
  with the same loop and parser, an async psycopg pool, no sign-in, roles or cache): what one request and one query
  cost any Python server. The ratio against it is CityOps' own share of a tile's time.
- HTTP floor: a signed-in request refused (400, zoom 99) before any tile work: what the server and Django cost.
Per tile, each figure is the median of --repeats interleaved measurements; per zoom, the median over its tiles.
The session engine and how the server gets its database connections are printed: under ASGI, CONN_MAX_AGE keeps
no connection (each request runs in its own context), so without a connection pool every request that reads the
database opens a PostgreSQL connection first, and that, not the tile SQL, dominates an uncached tile.
Tiles per zoom: spread over the non-empty tiles of the city ordered by size (the largest included).
Goals (issue 3): uncached within 1.3× of the bare query; cached tiles far faster.
"""

import argparse
import io
import math
import os
import platform
import statistics
import time

import psycopg
from benchdb import setup_demo_city
from peers import servers
from peers.bare_tile_server import BARE


def tiles_covering(bounds, z: int) -> list[tuple[int, int, int]]:
    west, south, east, north = bounds
    n = 2**z

    def tx(lon):
        return int((lon + 180) / 360 * n)

    def ty(lat):
        return int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)

    return [(z, x, y) for x in range(tx(west), tx(east) + 1) for y in range(ty(north), ty(south) + 1)]


def spread(items: list, count: int) -> list:
    """`count` items evenly spaced through `items`, its last (largest) one included."""
    if len(items) <= count:
        return items
    return [items[round(i * (len(items) - 1) / (count - 1))] for i in range(count)] if count > 1 else items[-1:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="city", choices=["small", "city", "metro"])
    parser.add_argument("--zooms", type=int, nargs="+", default=[12, 14, 16])
    parser.add_argument("--tiles", type=int, default=5, help="tiles per zoom")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()

    setup_demo_city(args.scale, pool=True)
    from django.conf import settings
    from django.core.handlers.wsgi import WSGIHandler

    from core.models import AdminArea
    from gis import layers, tiles

    city = AdminArea.objects.get(level=AdminArea.Level.CITY).geom.extent
    road_tables = tiles.tables_of(layers.get("roads"))

    dsn = os.environ["DATABASE_URL"].replace("postgis://", "postgresql://")
    bare_connection = psycopg.connect(dsn, autocommit=True)  # psycopg's defaults: prepared after 5 runs
    bare_without_jit = psycopg.connect(dsn, autocommit=True, options="-c jit=off")  # as CityOps' tile connections

    def bare(z: int, x: int, y: int, via=bare_connection) -> tuple[float, int]:
        started = time.perf_counter()
        body = via.execute(BARE, {"z": z, "x": x, "y": y}).fetchone()[0]
        return time.perf_counter() - started, len(body or b"")

    picked = []
    for z in args.zooms:
        sized = sorted((bare(*tile)[1], tile) for tile in tiles_covering(city, z))
        picked += [tile for size, tile in spread([s for s in sized if s[0] > 0], args.tiles)]

    server = servers.start_cityops()
    bare_server = servers.start_bare_tiles(dsn)
    try:
        bare_client = servers.KeepAlive(bare_server.port)
        client = servers.KeepAlive(server.port)
        servers.sign_in(client, "planner", settings.CITYOPS_DEMO_PASSWORD)
        cookie = client.headers["Cookie"]
        handler = WSGIHandler()

        def in_process(path: str) -> tuple[float, int]:
            environ = {
                "REQUEST_METHOD": "GET",
                "PATH_INFO": path,
                "QUERY_STRING": "",
                "SERVER_NAME": "127.0.0.1",
                "SERVER_PORT": "80",
                "HTTP_HOST": "127.0.0.1",
                "HTTP_COOKIE": cookie,
                "wsgi.url_scheme": "http",
                "wsgi.input": io.BytesIO(),
                "wsgi.errors": io.StringIO(),
            }
            status = []
            started = time.perf_counter()
            response = handler(environ, lambda s, headers: status.append(s))
            body = b"".join(response)
            response.close()
            seconds = time.perf_counter() - started
            assert status[0][:3] in ("200", "204"), status
            return seconds, len(body)

        def over_http(path: str, expect=(200, 204), via=client) -> tuple[float, int]:
            started = time.perf_counter()
            status, _, body = via.get(path)
            seconds = time.perf_counter() - started
            assert status in expect, (status, body[:200])
            return seconds, len(body)

        def uncached(fetch, path: str) -> tuple[float, int]:
            tiles.bump(*road_tables)
            return fetch(path)

        kinds = {
            "bare ST_AsMVT": lambda path, tile: bare(*tile),
            "bare, JIT off": lambda path, tile: bare(*tile, via=bare_without_jit),
            "bare over HTTP": lambda path, tile: over_http("/{}/{}/{}".format(*tile), via=bare_client),
            "HTTP uncached": lambda path, tile: uncached(over_http, path),
            "HTTP cached": lambda path, tile: over_http(path),
            "in-process uncached": lambda path, tile: uncached(in_process, path),
            "in-process cached": lambda path, tile: in_process(path),
            # The per-request floor: signed in, then refused for a zoom that does not exist (400), no tile work.
            "HTTP floor": lambda path, tile: over_http("/tiles/roads/99/0/0.pbf", expect=(400,)),
        }
        for tile in picked[:3]:  # warm up: plans, connections, the Lua script, the server's imports
            for measure in kinds.values():
                measure(f"/tiles/roads/{tile[0]}/{tile[1]}/{tile[2]}.pbf", tile)

        load = " ".join(f"{x:.1f}" for x in os.getloadavg())
        print(f"# tile bench: Python {platform.python_version()}, {os.cpu_count()} CPUs, load average {load}")
        print(
            f"sessions: {settings.SESSION_ENGINE} (cache {getattr(settings, 'SESSION_CACHE_ALIAS', '-')}); "
            f"auth backends: {', '.join(settings.AUTHENTICATION_BACKENDS)}"
        )
        print(f"CityOps database connections: {servers.database_connections(settings)}")
        print(f"layer roads, {args.tiles} tiles per zoom, {args.repeats} interleaved repeats per tile; ms are medians")
        per_tile: dict[tuple, dict[str, float]] = {}
        sizes: dict[tuple, int] = {}  # bare, and CityOps' (simplified below z13, so smaller there)
        for tile in picked:
            path = f"/tiles/roads/{tile[0]}/{tile[1]}/{tile[2]}.pbf"
            runs: dict[str, list[float]] = {kind: [] for kind in kinds}
            for _ in range(args.repeats):
                for kind, measure in kinds.items():
                    seconds, size = measure(path, tile)
                    runs[kind].append(seconds * 1000)
                    assert size > 0, f"{kind}: {path} is empty"
                    if kind in ("bare ST_AsMVT", "HTTP uncached"):
                        sizes[tile if kind == "bare ST_AsMVT" else (*tile, "ours")] = size
            per_tile[tile] = {kind: statistics.median(ms) for kind, ms in runs.items()}

        header = "".join(f"{kind:>21s}" for kind in kinds)
        print(
            f"\n{'tile':>16s} {'bytes':>15s}{header}"
            "   uncached/bare HTTP  in-process  cached/bare HTTP  uncached/bare-over-HTTP"
        )
        for tile, ms in per_tile.items():
            b = ms["bare ST_AsMVT"]
            print(
                f"{'/'.join(map(str, tile)):>16s} {sizes[tile]:7d}/{sizes[(*tile, 'ours')]:7d}"
                + "".join(f"{ms[kind]:21.2f}" for kind in kinds)
                + f"   {ms['HTTP uncached'] / b:17.2f}× {ms['in-process uncached'] / b:10.2f}×"
                f" {ms['HTTP cached'] / b:16.2f}× {ms['HTTP uncached'] / ms['bare over HTTP']:22.2f}×"
            )
        floor = statistics.median(ms["HTTP floor"] for ms in per_tile.values())
        print(f"HTTP floor (signed-in request answered 400 before any tile work): {floor:.2f} ms")
        print("\nper zoom (median over its tiles):")
        for z in [*args.zooms, "all"]:
            group = [ms for tile, ms in per_tile.items() if z == "all" or tile[0] == z]
            med = {kind: statistics.median(ms[kind] for ms in group) for kind in kinds}
            ratio = {kind: statistics.median(ms[kind] / ms["bare ST_AsMVT"] for ms in group) for kind in kinds}
            over_http_ratio = statistics.median(ms["HTTP uncached"] / ms["bare over HTTP"] for ms in group)
            print(
                f"  z{z!s:>3s}: bare {med['bare ST_AsMVT']:6.2f} ms (JIT off {med['bare, JIT off']:6.2f}) "
                f"| bare over HTTP {med['bare over HTTP']:6.2f} ms "
                f"({ratio['bare over HTTP']:.2f}×) | HTTP uncached {med['HTTP uncached']:6.2f} ms "
                f"({ratio['HTTP uncached']:.2f}×, goal ≤ 1.3) cached {med['HTTP cached']:6.2f} ms "
                f"({ratio['HTTP cached']:.2f}×) | in-process uncached {med['in-process uncached']:6.2f} ms "
                f"({ratio['in-process uncached']:.2f}×) cached {med['in-process cached']:6.2f} ms "
                f"({ratio['in-process cached']:.2f}×) | HTTP uncached / bare over HTTP {over_http_ratio:.2f}×"
            )
        print(f"\nload average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    finally:
        server.stop()
        bare_server.stop()


if __name__ == "__main__":
    main()
