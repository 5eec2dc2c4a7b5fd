"""One cache for everything the dashboard computes, kept for a minute.

Not keyed by the event log: a busy city publishes events every second, which would make every request
cold. A leader's view may be a minute old; the dashboard refreshes itself after live events anyway.
"""

from django.core.cache import cache

CACHE_SECONDS = 60


def cached(key: str, compute):
    """`compute()` once per `key` for CACHE_SECONDS."""
    key = f"leader:{key}"
    value = cache.get(key)
    if value is None:
        value = compute()
        cache.set(key, value, CACHE_SECONDS)
    return value
