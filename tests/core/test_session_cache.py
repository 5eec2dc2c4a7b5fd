"""The sessions cache (core.session_cache): real Redis, one client per pool instead of one per call."""

from django.core.cache import caches


def test_sessions_cache_round_trips_through_redis_with_one_client():
    cache = caches["sessions"]
    cache.set("test-session-cache", {"user": 7}, 30)
    try:
        assert cache.get("test-session-cache") == {"user": 7}
        client = cache._cache.get_client()
        assert client.exists(cache.make_key("test-session-cache"))  # really in Redis, not in memory
        assert cache._cache.get_client() is client and cache._cache.get_client(write=True) is client
    finally:
        cache.delete("test-session-cache")
    assert cache.get("test-session-cache") is None
