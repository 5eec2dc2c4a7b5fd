"""Vector tiles on the event loop, for viewers this process already knows.

A map asks for dozens of small tiles at once. For a tile of a few hundred bytes the way through Django (a thread
hop, the middleware, a Redis round trip each for the session, the cache look-up and the cache store) cost two to
three times the query itself. Here `GET /tiles/{layer}/{z}/{x}/{y}.pbf` is one Redis round trip (is the session
still there, plus the cache look-up of tiles.py), at most one SQL statement on an async connection, the answer,
and then the store of what was rendered.

Only a viewer that Django's tile view verified in this process within tile_views.VIEWER_SECONDS is served here;
everything else goes on to Django, which answers the same way (tile_views.vector_tile) and so teaches this path
the viewer: a first request, a session Redis no longer has (signed out), a tile that does not exist, a layer the
viewer may not read or whose SQL this process has not compiled yet, HEAD, Redis or the database failing.
"""

from __future__ import annotations

import re

import psycopg
import redis.asyncio
from django.conf import settings
from django.contrib.sessions.backends.cached_db import KEY_PREFIX
from django.core.cache import caches
from django.db import connections
from django.http import parse_cookie
from psycopg_pool import AsyncConnectionPool

from core.errors import InputError

from . import tile_views, tiles

PATH = re.compile(r"/tiles/(?P<layer>[A-Za-z0-9_-]+)/(?P<z>[0-9]{1,8})/(?P<x>[0-9]{1,8})/(?P<y>[0-9]{1,8})\.pbf")


class VectorTiles:
    """ASGI middleware in front of `app` (Django): answers the tile requests it can, passes on the rest."""

    def __init__(self, app, *, pool_size: int = 4):
        self.app = app
        self.pool_size = pool_size
        self._redis: redis.asyncio.Redis | None = None
        self._script = None
        self._pool: AsyncConnectionPool | None = None
        # Django's own connection parameters (OPTIONS such as sslmode, its type adapters), for async connections
        # bound client-side as Django binds. Without JIT: PostgreSQL's default compiles any plan estimated above
        # 100k, which a city-wide tile is, and the compiling (5-10 ms) cost more than it saved (z12: 22 → 13 ms).
        self._connect = connections["default"].get_connection_params()
        options = " ".join(filter(None, [self._connect.get("options"), "-c jit=off"]))
        self._connect.update(autocommit=True, cursor_factory=psycopg.AsyncClientCursor, options=options)
        sessions = caches["sessions"]
        self._session_cache_key = lambda session_key: sessions.make_key(KEY_PREFIX + session_key)
        self._headers = [(b"content-type", tiles.MVT.encode()), (b"vary", b"Cookie"), (b"x-frame-options", b"DENY")]
        if settings.SECURE_CONTENT_TYPE_NOSNIFF:
            self._headers.append((b"x-content-type-options", b"nosniff"))
        if settings.SECURE_REFERRER_POLICY:
            self._headers.append((b"referrer-policy", settings.SECURE_REFERRER_POLICY.encode()))
        if settings.SECURE_CROSS_ORIGIN_OPENER_POLICY:
            self._headers.append((b"cross-origin-opener-policy", settings.SECURE_CROSS_ORIGIN_OPENER_POLICY.encode()))

    async def __call__(self, scope, receive, send):
        match = PATH.fullmatch(scope["path"]) if scope["type"] == "http" and scope["method"] == "GET" else None
        answer = await self._answer(scope, match) if match else None
        if answer is None:
            await self.app(scope, receive, send)
            return
        status, headers, body, rendered = answer
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        if rendered:
            await self._store(rendered)

    async def _answer(self, scope, match):
        """(status, headers, body, tiles to store) for a tile this path can serve, else None."""
        headers = dict(scope["headers"])
        cookies = parse_cookie(headers.get(b"cookie", b"").decode("latin-1"))
        session_key = cookies.get(settings.SESSION_COOKIE_NAME)
        user = tile_views.recall(session_key)
        if user is None or tiles.redis_resting():
            return None
        z, x, y = int(match["z"]), int(match["x"]), int(match["y"])
        try:
            tile_views.check_tile(z, x, y)
        except InputError:
            return None
        parts = tiles.tile_layers(match["layer"], user, on_event_loop=True)
        if parts is None or not tiles.compiled(tiles.drawn_at(parts, z)):
            return None
        lookup = tiles.lookup_of(parts, z, x, y)
        try:
            replies = await self._session_and_lookup(session_key, lookup)
        except redis.RedisError as exc:
            tiles.redis_failed(exc)  # Django's path, without the tile cache, for a while
            return None
        if not replies[0]:
            tile_views.forget(session_key)  # signed out (or the session left Redis): Django decides
            return None
        found = lookup.found(replies[1]) if lookup else {}
        missing = tiles.missing_from(parts, z, found)
        try:
            rendered = await self._render(missing, z, x, y)
        except psycopg.Error:
            return None
        tile = tiles.assemble(parts, z, x, y, found, rendered)
        out = [*self._headers, (b"etag", tile.etag.encode())]
        out.append((b"cache-control", f"private, max-age={300 if tile.cacheable else 0}".encode()))
        if headers.get(b"if-none-match", b"").decode("latin-1") == tile.etag:
            status, body = 304, b""
        else:
            status, body = (200, tile.body) if tile.body else (204, b"")
        return status, out, body, tiles.to_store(found, rendered)

    def _client(self) -> redis.asyncio.Redis:
        if self._redis is None:
            self._redis = redis.asyncio.Redis.from_url(
                settings.REDIS_URL, socket_timeout=0.5, socket_connect_timeout=0.5
            )
            self._script = self._redis.register_script(tiles.LOOKUP_SCRIPT)
        return self._redis

    async def _session_and_lookup(self, session_key: str, lookup: tiles.Lookup | None) -> list:
        """[does the session still exist, the look-up's reply (if any)] in one round trip."""
        pipe = self._client().pipeline(transaction=False)
        pipe.exists(self._session_cache_key(session_key))
        if lookup:
            await self._script(keys=lookup.keys, args=lookup.args, client=pipe)
        return await pipe.execute()

    async def _render(self, missing: list[tiles.TileLayer], z: int, x: int, y: int) -> dict[str, bytes]:
        if not missing:
            return {}
        sql, params = tiles.render_statement(missing, z, x, y)
        pool = self._connections()
        if pool.closed:
            await pool.open()
        async with pool.connection() as conn:
            cursor = await conn.execute(sql, params)
            row = await cursor.fetchone()
        return tiles.rendered_bodies(missing, row)

    def _connections(self) -> AsyncConnectionPool:
        """A small pool of its own: Django's connections are synchronous."""
        if self._pool is None:
            self._pool = AsyncConnectionPool(min_size=1, max_size=self.pool_size, kwargs=self._connect, open=False)
        return self._pool

    async def aclose(self) -> None:
        """Close the connections of the running event loop (a test's loop ends before the process does)."""
        if self._pool is not None:
            await self._pool.close()
        if self._redis is not None:
            await self._redis.aclose()

    async def _store(self, bodies: dict[str, bytes]) -> None:
        try:
            pipe = self._client().pipeline(transaction=False)
            for key, body in bodies.items():
                pipe.set(key, body, ex=tiles.CACHE_SECONDS)
            await pipe.execute()
        except redis.RedisError as exc:
            tiles.redis_failed(exc)  # the tile was answered; it is rendered again next time
