"""The smallest tile server Python can be: uvicorn (same loop and parser as CityOps) answering GET /z/x/y with the
bare ST_AsMVT query from an async psycopg pool. No sign-in, no roles, no cache, no validation beyond the path.

bench_tiles.py uses it as the floor of "a tile over HTTP": what any Python server pays for one request and one
query, so the bench can show how much of CityOps' tile time is CityOps and how much is HTTP.
"""

import os

from psycopg_pool import AsyncConnectionPool

BARE = """
SELECT ST_AsMVT(t, 'roads', 4096, 'geom', 'id') FROM (
  SELECT id, name, road_class, speed_kmh, oneway, lanes,
         ST_AsMVTGeom(ST_Transform(geom, 3857), ST_TileEnvelope(%(z)s, %(x)s, %(y)s), 4096, 64, true) AS geom
  FROM geo_road
  WHERE geom && ST_Transform(ST_TileEnvelope(%(z)s, %(x)s, %(y)s, margin => 64.0 / 4096), 4326)
) t WHERE t.geom IS NOT NULL
"""
"""The textbook tile query: the same rows and columns of geo_road as CityOps' `roads` layer, nothing else."""

_pool: AsyncConnectionPool | None = None


async def _respond(send, status: int, body: bytes) -> None:
    await send(
        {"type": "http.response.start", "status": status, "headers": [(b"content-type", b"application/x-protobuf")]}
    )
    await send({"type": "http.response.body", "body": body})


async def app(scope, receive, send) -> None:
    global _pool
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                _pool = AsyncConnectionPool(os.environ["BARE_TILES_DSN"], min_size=1, max_size=4, open=False)
                await _pool.open(wait=True)
                await send({"type": "lifespan.startup.complete"})
            else:
                await _pool.close()
                await send({"type": "lifespan.shutdown.complete"})
                return
    try:
        z, x, y = (int(part) for part in scope["path"].strip("/").split("/"))
    except ValueError:
        await _respond(send, 200 if scope["path"] == "/" else 404, b"")
        return
    async with _pool.connection() as conn:
        cursor = await conn.execute(BARE, {"z": z, "x": x, "y": y})
        body = (await cursor.fetchone())[0]
    await _respond(send, 200, bytes(body or b""))
