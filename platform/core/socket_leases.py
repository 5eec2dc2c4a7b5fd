"""How many console sockets a user holds across every web process: one lease per socket in Redis, so the cap
(settings.CITYOPS_WS_PER_USER) is the user's, not each process's (two web processes would otherwise give twice
as many). A lease runs settings.CITYOPS_WS_LEASE_SECONDS on Redis's own clock, and each process renews its
sockets' leases with its head watch, so the sockets of a killed process stop counting by themselves. Redis being
away must not keep a command centre off its wall: the caller then counts in its own process (core.consumers).
"""

import logging

import redis
from django.conf import settings

from .health import redis_client

log = logging.getLogger(__name__)

# KEYS[1] the user's set; ARGV: lease seconds, cap, socket. Expired leases go first; the clock is Redis's.
_TAKE = """
local now = tonumber(redis.call('TIME')[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[1]), ARGV[3])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[1]))
return 1
"""
# KEYS: the users' sets; ARGV: lease seconds, then one socket per key. Only leases still held are renewed.
_RENEW = """
local expiry = tonumber(redis.call('TIME')[1]) + tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, 'XX', expiry, ARGV[i + 1])
  redis.call('EXPIRE', key, ARGV[1])
end
return #KEYS
"""


def _key(user_id: int) -> str:
    """In the channel layer's namespace (channels_redis's own default when the layer names none)."""
    prefix = settings.CHANNEL_LAYERS["default"]["CONFIG"].get("prefix", "asgi")
    return f"{prefix}:ws-leases:{user_id}"


def take(user_id: int, socket: str) -> bool | None:
    """Lease one more socket to the user: True if taken, False at the cap, None if Redis cannot be asked."""
    try:
        taken = redis_client().eval(
            _TAKE, 1, _key(user_id), settings.CITYOPS_WS_LEASE_SECONDS, settings.CITYOPS_WS_PER_USER, socket
        )
    except redis.RedisError as exc:
        log.warning("socket lease of user %s not taken (counted in this process only): %s", user_id, exc)
        return None
    return bool(taken)


def renew(sockets: list[tuple[int, str]]) -> None:
    """Keep this process's (user id, socket) leases alive; raises if Redis cannot be reached (the head watch
    retries)."""
    if sockets:
        keys = [_key(user_id) for user_id, _ in sockets]
        redis_client().eval(
            _RENEW, len(keys), *keys, settings.CITYOPS_WS_LEASE_SECONDS, *(socket for _, socket in sockets)
        )


def give_back(user_id: int, socket: str) -> None:
    try:
        redis_client().zrem(_key(user_id), socket)
    except redis.RedisError as exc:
        log.warning("socket lease of user %s not given back (it lapses within %d s): %s", user_id,
                    settings.CITYOPS_WS_LEASE_SECONDS, exc)  # fmt: skip
