"""The `sessions` cache: Django's Redis cache backend, with one Redis client per pool, that keeps signed-in users
working while Redis is away.

Sessions are `cached_db`: the database holds every session, Redis a copy read on every request. While Redis fails, a
read is a miss (the database answers), a write or delete is skipped (the database has it), and for the back-off
period after a failure Redis is not even asked (a request does not wait on a dead server each time). The first call
that works again drops every cached session: one signed out or changed during the outage must not come back from a
stale copy.

Django's RedisCacheClient builds a new `redis.Redis` object for every cache call; redis-py fills a table of some
170 response callbacks in each, which cost about 0.3 ms on this class of machine, and sessions make a cache call
on every signed-in request. A client is thread-safe and only borrows connections from its pool, so one is kept
per pool.
"""

import logging
import threading
import time

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.exceptions import RedisError

from .resilience import Outage

log = logging.getLogger(__name__)


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
    """The `sessions` cache: RedisCache with a client per pool, not per call, that a Redis outage does not break."""

    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = _ClientPerPool
        self._outage = Outage("session cache (Redis)", log, first_delay_s=1.0, max_delay_s=15.0)
        self._retry_at = 0.0
        self._lock = threading.Lock()

    def _guarded(self, call, default):
        if self._outage.ongoing and time.monotonic() < self._retry_at:
            return default
        try:
            result = call()
        except RedisError as exc:
            with self._lock:
                self._retry_at = time.monotonic() + self._outage.failed(exc)
            return default
        if self._outage.ongoing:
            with self._lock:
                if self._outage.ongoing:
                    self._drop_cached_sessions()
                    self._outage.succeeded()
        return result

    def _drop_cached_sessions(self) -> None:
        client = self._cache.get_client(write=True)
        keys = list(client.scan_iter(match=f"{self.key_prefix}:*", count=1000))
        if keys:
            client.delete(*keys)

    def get(self, key, default=None, version=None):
        return self._guarded(lambda: super(SessionCache, self).get(key, default, version), default)

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        self._guarded(lambda: super(SessionCache, self).set(key, value, timeout, version), None)

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._guarded(lambda: super(SessionCache, self).add(key, value, timeout, version), False)

    def delete(self, key, version=None):
        return self._guarded(lambda: super(SessionCache, self).delete(key, version), False)

    def has_key(self, key, version=None):
        return self._guarded(lambda: super(SessionCache, self).has_key(key, version), False)
