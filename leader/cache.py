"""One cache for everything the dashboard computes: keyed by the event-log head, so any new event misses."""

from django.core.cache import cache

from core.selectors import event_head

CACHE_SECONDS = 300


def cached(key: str, compute):
    """`compute()` once per `key` and event-log head, kept for CACHE_SECONDS."""
    key = f"leader:{event_head()}:{key}"
    value = cache.get(key)
    if value is None:
        value = compute()
        cache.set(key, value, CACHE_SECONDS)
    return value
