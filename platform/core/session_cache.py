"""Django's Redis cache backend, keeping one Redis client per connection pool.

Django's RedisCacheClient builds a new `redis.Redis` object for every cache call; redis-py fills a table of some
170 response callbacks in each, which cost about 0.3 ms on this class of machine, and sessions make a cache call
on every signed-in request. A client is thread-safe and only borrows connections from its pool, so one is kept
per pool.
"""

from django.core.cache.backends.redis import RedisCache, RedisCacheClient


class _ClientPerPool(RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class SessionCache(RedisCache):
    """The `sessions` cache: RedisCache with a client per pool, not per call."""

    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = _ClientPerPool
