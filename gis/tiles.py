"""Mapbox Vector Tiles of registered layers, built in PostGIS (ST_AsMVTGeom / ST_AsMVT), cached in Redis.

The SQL of a layer's tile wraps the ORM query of its allow-listed properties (so foreign-key paths and
base filters are the registry's, and every value is a bound parameter) in ST_AsMVT. An MVT tile is a
list of layers, so a tile set such as ``basemap`` is the concatenation of its layers' tiles.

Cache validity: every table a layer reads has a version number in Redis. Saving or deleting a row bumps
it after the transaction commits (model signals); bulk writers that bypass signals call
``data_changed(Model)``. A tile is stored under the versions read *before* it was rendered, so a render
racing a commit can only file old data under an old version, which nobody asks for again. Live layers
(vehicles, moved by the GPS ingest's bulk SQL) are never cached.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass

import redis
from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Model
from django.db.models.signals import post_delete, post_save

from . import layers
from .layers import EVERY_ROW, Layer, Scope

logger = logging.getLogger(__name__)

EXTENT = 4096
BUFFER = 64
WORLD_M = 2 * 20037508.342789244
CACHE_SECONDS = 86_400
MVT = "application/vnd.mapbox-vector-tile"


@dataclass(frozen=True)
class TileLayer:
    """One MVT layer: a registry layer's features, or ('labels') one point per feature for its name, within the
    viewer's scope of the layer."""

    layer: Layer
    labels: bool = False
    scope: Scope = EVERY_ROW

    @property
    def name(self) -> str:
        return f"{self.layer.id}-labels" if self.labels else self.layer.id


TILESETS: dict[str, tuple[tuple[str, bool], ...]] = {
    "basemap": (
        ("water", False),
        ("green", False),
        ("districts", False),
        ("streets", False),
        ("roads", False),
        ("green", True),
        ("water", True),
        ("streets", True),
        ("districts", True),
    ),
}
"""Composite tile sets: (layer id, labels?) in drawing order."""


def tile_layers(name: str, user, *, on_event_loop: bool = False) -> list[TileLayer] | None:
    """The MVT layers of a layer or tile set that `user` may read, each within the user's scope; None if there is
    no such thing for them, or (`on_event_loop`, where no database work may be done) if a scope is not known yet."""
    wanted = TILESETS.get(name, ((name, False),))
    out = []
    for layer_id, labels in wanted:
        layer = layers.get(layer_id)
        if layer is None or not layer.readable_by(user):
            continue
        scope = layer.known_scope(user) if on_event_loop else layer.scope_for(user)
        if scope is None:
            return None
        out.append(TileLayer(layer, labels, scope))
    return out or None


# ------------------------------------------------------------------------------------------------ SQL


SIMPLIFY_BELOW_ZOOM = 13
"""Lines and polygons are simplified (half a tile unit) below this zoom; above it their vertices are already
farther apart than the tile grid that ST_AsMVTGeom snaps to, and simplifying would only cost time."""

_INNER_SQL: dict[tuple, tuple[str, tuple, str]] = {}


def _properties(tile_layer: TileLayer) -> dict:
    props = tile_layer.layer.properties
    return props if not tile_layer.labels else {k: v for k, v in props.items() if k == "name"}


def _inner_key(tile_layer: TileLayer) -> tuple:
    layer = tile_layer.layer
    props = _properties(tile_layer)
    return (
        layer.id,
        tile_layer.labels,
        tile_layer.scope.key,
        repr(layer.base_filter),
        tuple((k, p.path) for k, p in props.items()),
    )


def _inner(tile_layer: TileLayer) -> tuple[str, tuple, str]:
    """(SQL, params, output columns) of the layer's rows: compiled by the ORM once per layer definition."""
    layer = tile_layer.layer
    props = _properties(tile_layer)
    key = _inner_key(tile_layer)
    if key not in _INNER_SQL:
        quote = connection.ops.quote_name
        aliases = {f"p{i}": name for i, name in enumerate(props)}
        inner = (
            layer.queryset()
            .filter(tile_layer.scope.q)
            .order_by()
            .values(
                tile_id=F(layer.id_field),
                tile_geom=F(layer.geometry_field),
                **{alias: F(props[name].path) for alias, name in aliases.items()},
            )
        )
        sql, params = inner.query.sql_with_params()
        columns = "".join(f", q.{quote(alias)} AS {quote(name)}" for alias, name in aliases.items())
        if len(_INNER_SQL) > 1000:
            _INNER_SQL.clear()
        _INNER_SQL[key] = (sql, tuple(params), columns)
    return _INNER_SQL[key]


def tile_sql(tile_layer: TileLayer, z: int, x: int, y: int) -> tuple[str, list]:
    """Parameterised SQL returning one bytea: the layer's features in tile z/x/y."""
    layer = tile_layer.layer
    inner_sql, inner_params, columns = _inner(tile_layer)
    unit = WORLD_M / (1 << z) / EXTENT  # metres per tile unit
    if tile_layer.labels:
        geom = "ST_Transform(ST_PointOnSurface(q.tile_geom), 3857)"
        keep = "AND ST_Intersects(ST_PointOnSurface(q.tile_geom), ST_Transform(ST_TileEnvelope(%s, %s, %s), 4326))"
        keep_params = [z, x, y]
    elif layer.geometry_type.endswith("Point") or z >= SIMPLIFY_BELOW_ZOOM:
        geom, keep, keep_params = "ST_Transform(q.tile_geom, 3857)", "", []
    else:
        geom, keep, keep_params = f"ST_Simplify(ST_Transform(q.tile_geom, 3857), {unit / 2!r}, true)", "", []
    sql = (
        f"SELECT ST_AsMVT(t, %s, {EXTENT}, 'geom', 'id') FROM ("  # noqa: S608 (names are ours, quoted; values bound)
        f"SELECT q.tile_id AS id{columns}, "
        f"ST_AsMVTGeom({geom}, ST_TileEnvelope(%s, %s, %s), {EXTENT}, {BUFFER}, true) AS geom "
        f"FROM ({inner_sql}) q "
        f"WHERE q.tile_geom && ST_Transform(ST_TileEnvelope(%s, %s, %s, margin => %s), 4326) {keep}"
        f") t WHERE t.geom IS NOT NULL"
    )
    params = [tile_layer.name, z, x, y, *inner_params, z, x, y, BUFFER / EXTENT, *keep_params]
    return sql, params


def render_statement(tile_layers_: list[TileLayer], z: int, x: int, y: int) -> tuple[str, list]:
    """One SQL statement returning one MVT column per layer (each empty below its layer's min zoom)."""
    queries = [tile_sql(tile_layer, z, x, y) for tile_layer in tile_layers_]
    return "SELECT " + ", ".join(f"({query})" for query, _ in queries), [p for _, params in queries for p in params]


def drawn_at(tile_layers_: list[TileLayer], z: int) -> list[TileLayer]:
    return [tl for tl in tile_layers_ if z >= tl.layer.tile_min_zoom]


def render_many(tile_layers_: list[TileLayer], z: int, x: int, y: int) -> dict[str, bytes]:
    """Layer name → MVT for tile z/x/y of each layer drawn at zoom z, all from one SQL statement."""
    if not tile_layers_:
        return {}
    sql, params = render_statement(tile_layers_, z, x, y)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return rendered_bodies(tile_layers_, row)


def rendered_bodies(tile_layers_: list[TileLayer], row) -> dict[str, bytes]:
    return {tl.name: bytes(body) if body else b"" for tl, body in zip(tile_layers_, row, strict=True)}


def compiled(tile_layers_: list[TileLayer]) -> bool:
    """Whether this process has the ORM-compiled SQL of these layers (compiling needs Django's sync database)."""
    return all(_inner_key(tl) in _INNER_SQL for tl in tile_layers_)


# -------------------------------------------------------------------------------------- versions, cache

_client: redis.Redis | None = None
_redis_down_until = 0.0


def redis_resting() -> bool:
    """Whether the tile cache is left alone for a while after a Redis error."""
    return time.monotonic() < _redis_down_until


def _redis() -> redis.Redis | None:
    """The Redis client, or None for 30 s after an error (tiles are then rendered without the cache)."""
    global _client
    if redis_resting():
        return None
    if _client is None:
        _client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=0.5, socket_connect_timeout=0.5)
    return _client


def redis_failed(exc: Exception) -> None:
    global _redis_down_until
    logger.warning("tile cache unavailable, rendering without it: %s", exc)
    _redis_down_until = time.monotonic() + 30


def _prefix() -> str:
    """Per database: the demo database and each test database have their own versions and tiles."""
    return f"cityops:tiles:{settings.DATABASES['default']['NAME']}:"


def _models_of(layer: Layer) -> set[type[Model]]:
    """The layer's model and every model its property paths cross."""
    models = {layer.model}
    for prop in layer.properties.values():
        model = layer.model
        for part in prop.path.split("__")[:-1]:
            model = model._meta.get_field(part).related_model
            models.add(model)
    return models


_TABLES: dict[tuple, list[str]] = {}


def tables_of(layer: Layer) -> list[str]:
    """Every table a layer's tiles read (worked out once per layer definition)."""
    key = (layer.id, layer.model, tuple(prop.path for prop in layer.properties.values()))
    if key not in _TABLES:
        if len(_TABLES) > 1000:
            _TABLES.clear()
        _TABLES[key] = sorted(model._meta.db_table for model in _models_of(layer))
    return _TABLES[key]


def bump(*tables: str) -> None:
    client = _redis()
    if client is None:
        return
    try:
        pipe = client.pipeline()
        for table in tables:
            key = f"{_prefix()}v:{table}"
            pipe.set(key, time.time_ns(), nx=True)
            pipe.incr(key)
        pipe.execute()
    except redis.RedisError as exc:
        redis_failed(exc)


def data_changed(*models: type[Model]) -> None:
    """Tell the tile cache that rows of these models changed (for writes that send no model signals)."""
    tables = [model._meta.db_table for model in models]
    transaction.on_commit(lambda: bump(*tables))


def _on_row_change(sender, **kwargs) -> None:
    table = sender._meta.db_table
    transaction.on_commit(lambda: bump(table))


def watch_tables(layer: Layer) -> None:
    """Bump the version of a layer's tables whenever one of their rows is saved or deleted through the ORM
    (registered for every layer as it is declared; imported datasets' tables are watched from the start)."""
    from .models import Dataset, DatasetFeature

    for model in {Dataset, DatasetFeature, *_models_of(layer)}:
        post_save.connect(_on_row_change, sender=model, dispatch_uid=f"tiles-{model._meta.label}-save")
        post_delete.connect(_on_row_change, sender=model, dispatch_uid=f"tiles-{model._meta.label}-delete")


def all_tables() -> list[str]:
    from .models import DatasetFeature

    tables = {table for layer in layers.builtin_layers() for table in tables_of(layer)}
    return sorted(tables | {DatasetFeature._meta.db_table})


@dataclass(frozen=True)
class Tile:
    body: bytes
    etag: str
    cacheable: bool


def get_tile(tile_layers_: list[TileLayer], z: int, x: int, y: int) -> Tile:
    """The tile (its layers concatenated): cached layers from Redis when their tables have not changed since they
    were stored, the others rendered. Whatever the number of layers (a basemap tile has nine), that is one Redis
    look-up, at most one SQL statement and one Redis write. (tile_server.py does the same on the event loop.)"""
    found = _lookup(lookup_of(tile_layers_, z, x, y))
    missing = missing_from(tile_layers_, z, found)
    rendered = render_many(missing, z, x, y)
    store(to_store(found, rendered))
    return assemble(tile_layers_, z, x, y, found, rendered)


def missing_from(tile_layers_: list[TileLayer], z: int, found: dict) -> list[TileLayer]:
    """The layers drawn at zoom z that the cache did not have."""
    return [tl for tl in drawn_at(tile_layers_, z) if found.get(tl.name, (None, None))[1] is None]


def to_store(found: dict, rendered: dict[str, bytes]) -> dict[str, bytes]:
    """Cache key → rendered tile, for the rendered layers that are cached."""
    return {found[name][2]: body for name, body in rendered.items() if name in found}


def assemble(tile_layers_: list[TileLayer], z: int, x: int, y: int, found: dict, rendered: dict[str, bytes]) -> Tile:
    parts, signature = [], []
    cacheable = True
    for tile_layer in tile_layers_:
        version, hit, _ = found.get(tile_layer.name, (None, None, None))
        body = hit if hit is not None else rendered.get(tile_layer.name, b"")
        cacheable &= version is not None or z < tile_layer.layer.tile_min_zoom
        parts.append(body)
        signature.append(f"{tile_layer.name}@{version or hashlib.blake2s(body).hexdigest()}")
    body = b"".join(parts)
    etag = '"' + hashlib.blake2s(f"{z}/{x}/{y}|{'|'.join(signature)}".encode(), digest_size=16).hexdigest() + '"'
    return Tile(body, etag, cacheable)


# One round trip for the cache look-up of every layer of a tile: read (or start) the versions of the tables
# (KEYS), then each layer's tile stored under the versions of its own tables. ARGV: a fresh version, then per
# layer the tile key's head and tail and the indices of its tables in KEYS. A version that is missing (first
# use, or Redis lost its data) starts from a number never used before (the caller's clock in ns), so an old
# tile can never match it.
LOOKUP_SCRIPT = """
local versions = {}
for i, key in ipairs(KEYS) do
  redis.call('SET', key, ARGV[1], 'NX')
  versions[i] = redis.call('GET', key)
end
local out = {}
for n = 2, #ARGV, 3 do
  local parts = {}
  for i in string.gmatch(ARGV[n + 2], '%d+') do
    parts[#parts + 1] = versions[tonumber(i)]
  end
  local version = table.concat(parts, '.')
  out[#out + 1] = version
  out[#out + 1] = redis.call('GET', ARGV[n] .. version .. ARGV[n + 1])
end
return out
"""


@dataclass(frozen=True)
class Lookup:
    """The cache look-up of a tile's cached layers: the script's KEYS and ARGV, and how to read its reply."""

    tile_layers: list[TileLayer]
    keys: list[str]
    args: list
    heads: list[tuple[str, str]]

    def found(self, reply) -> dict[str, tuple[str, bytes | None, str]]:
        """Layer name → (version, cached tile or None, key to store the tile under)."""
        out = {}
        for i, (tile_layer, (head, tail)) in enumerate(zip(self.tile_layers, self.heads, strict=True)):
            version = reply[2 * i].decode()
            out[tile_layer.name] = (version, reply[2 * i + 1], head + version + tail)
        return out


def lookup_of(tile_layers_: list[TileLayer], z: int, x: int, y: int) -> Lookup | None:
    """The look-up for the layers of tile z/x/y that are cached and drawn at zoom z; None if there are none."""
    cached = [tl for tl in drawn_at(tile_layers_, z) if tl.layer.tile_cache]
    if not cached:
        return None
    prefix = _prefix()
    keys: list[str] = []
    args: list = [time.time_ns()]
    heads = []
    for tile_layer in cached:
        indices = []
        for table in tables_of(tile_layer.layer):
            key = f"{prefix}v:{table}"
            if key not in keys:
                keys.append(key)
            indices.append(str(keys.index(key) + 1))
        head, tail = f"{prefix}t:{tile_layer.name}:{tile_layer.scope.key}:", f":{z}/{x}/{y}"
        args += [head, tail, ",".join(indices)]
        heads.append((head, tail))
    return Lookup(cached, keys, args, heads)


_lookup_script = None


def _lookup(lookup: Lookup | None) -> dict[str, tuple[str, bytes | None, str]]:
    """Run the look-up in one round trip; {} without Redis."""
    global _lookup_script
    client = _redis() if lookup else None
    if client is None:
        return {}
    if _lookup_script is None:
        _lookup_script = client.register_script(LOOKUP_SCRIPT)
    try:
        reply = _lookup_script(keys=lookup.keys, args=lookup.args, client=client)
    except redis.RedisError as exc:
        redis_failed(exc)
        return {}
    return lookup.found(reply)


def store(bodies: dict[str, bytes]) -> None:
    """Store rendered layer tiles under their keys, in one round trip."""
    client = _redis() if bodies else None
    if client is None:
        return
    try:
        pipe = client.pipeline(transaction=False)
        for key, body in bodies.items():
            pipe.set(key, body, ex=CACHE_SECONDS)
        pipe.execute()
    except redis.RedisError as exc:
        redis_failed(exc)
