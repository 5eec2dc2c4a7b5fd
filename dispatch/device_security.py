"""What a GPS device may try, counted in Redis so that every web and ingest process shares the counts (the
`limits` library, moving windows): OsmAnd positions per device token and per source address, and JT/T 808 failed
authentications and refused registrations per source address and per terminal phone. A burst of failures cuts
its source off for a back-off period and is raised once as an operator alarm, with an audit row. The same guard
(``FailureGuard``) counts the JT/T 809 link's failed platform logins (transport/link.py).

A Redis outage lets devices through (logged): emergency units' positions matter more than the limits, which come
back with Redis.
"""

import hashlib
import logging
import math
import time
from functools import cache

import redis.asyncio
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from limits import RateLimitItemPerSecond, parse
from limits.aio.storage import RedisStorage as AsyncRedisStorage
from limits.aio.strategies import MovingWindowRateLimiter as AsyncMovingWindowRateLimiter
from limits.errors import StorageError
from limits.storage import RedisStorage
from limits.strategies import MovingWindowRateLimiter

from core.events import publish
from core.resilience import Outage
from core.services import record_audit

from .models import Vehicle

log = logging.getLogger(__name__)

AUTH_FAILED = "device_auth_failed"  # the alarm kind


def key_prefix() -> str:
    """This installation's Redis namespace (the channel layer's prefix; each test run has its own)."""
    return f"{settings.CHANNEL_LAYERS['default']['CONFIG']['prefix']}:limits"


@cache
def storage() -> RedisStorage:
    return RedisStorage(settings.REDIS_URL, key_prefix=key_prefix(), wrap_exceptions=True)


# -- OsmAnd ------------------------------------------------------------------------------------------------


def osmand_retry_after(token: str, source: str) -> int | None:
    """Count one position against its source address and its device token: None if it may go on, else the
    seconds until it may.

    The token is counted whether or not it is any unit's (by its hash: Redis never holds a token), before it is
    looked up, so a refusal says nothing about which tokens exist."""
    limiter = MovingWindowRateLimiter(storage())
    limits = (
        (parse(settings.CITYOPS_OSMAND_ADDRESS_RATE), "address", source),
        (parse(settings.CITYOPS_OSMAND_DEVICE_RATE), "device", hashlib.sha256(token.encode()).hexdigest()),
    )
    try:
        for item, scope, key in limits:
            if not limiter.hit(item, "osmand", scope, key):
                reset_at = limiter.get_window_stats(item, "osmand", scope, key).reset_time
                return max(1, math.ceil(reset_at - time.time()))
    except StorageError:
        log.exception("OsmAnd rate limits unavailable: position let through")
    return None


# -- failed logins (JT/T 808, JT/T 809) ------------------------------------------------------------------------


class FailureGuard:
    """Failed logins of a TCP protocol server (JT/T 808 authentications and registrations, JT/T 809 platform logins),
    counted per source address and per account (the terminal phone, the platform access code) in Redis, so every
    process and host shares the counts. Asynchronous: it runs on the server's event loop."""

    def __init__(self, protocol: str, account: str, limit: int, backoff_s: int):
        """``limit`` failures within ``backoff_s`` seconds cut the source off for ``backoff_s``; ``account`` names
        the second scope in the bursts reported ("terminal", "platform")."""
        self.protocol, self.account, self.backoff_s = protocol, account, backoff_s
        self._failures = RateLimitItemPerSecond(limit, backoff_s)
        self._once_per_backoff = RateLimitItemPerSecond(1, backoff_s)
        # Short timeouts: while Redis fails over, a login is let through rather than held.
        self._pool = redis.asyncio.ConnectionPool.from_url(
            settings.REDIS_URL,
            socket_timeout=settings.CITYOPS_HEALTH_TIMEOUT_S,
            socket_connect_timeout=settings.CITYOPS_HEALTH_TIMEOUT_S,
        )
        self._outage = Outage(f"{protocol} failure counts (Redis)", log)
        storage = AsyncRedisStorage(
            f"async+{settings.REDIS_URL}",
            implementation="redispy",
            key_prefix=key_prefix(),
            wrap_exceptions=True,
            connection_pool=self._pool,
        )
        self._limiter = AsyncMovingWindowRateLimiter(storage)

    async def close(self) -> None:
        await self._pool.disconnect()

    async def refused(self, source: str) -> bool:
        """Whether the source address is in a back-off period."""
        try:
            backing_off = not await self._limiter.test(self._once_per_backoff, self.protocol, "refused", source)
        except StorageError as exc:  # let through: one story in the log for the whole outage
            self._outage.failed(exc)
            return False
        self._outage.succeeded()
        return backing_off

    async def failed(self, source: str, account: str) -> tuple[bool, list[str]]:
        """Count a failed login: whether the source is refused from now on, and the bursts this failure began
        ("source", and ``self.account``; each once per back-off period: report it).

        When the source, or the account (tried from anywhere), has reached the limit, the source is refused for the
        back-off period: an account tried from many addresses cuts off each of them at its first failure, while the
        real terminal or platform, which has the secret, goes on logging in."""
        limiter, failures, once, protocol = self._limiter, self._failures, self._once_per_backoff, self.protocol
        try:
            reached = []
            for scope, key in (("source", source), (self.account, account)):
                await limiter.hit(failures, protocol, "failures", scope, key)
                if not await limiter.test(failures, protocol, "failures", scope, key):
                    reached.append((scope, key))
            if not reached:
                return False, []
            await limiter.hit(once, protocol, "refused", source)
            return True, [scope for scope, key in reached if await limiter.hit(once, protocol, "burst", scope, key)]
        except StorageError as exc:  # not counted
            self._outage.failed(exc)
            return False, []


def jt808_guard() -> FailureGuard:
    """JT/T 808: a real terminal authenticates once per connection with the code it stored, so a handful of
    failures is a reset terminal or someone guessing."""
    return FailureGuard(
        "jt808",
        "terminal",
        settings.CITYOPS_JT808_AUTH_FAILURE_LIMIT,
        settings.CITYOPS_JT808_AUTH_BACKOFF_MINUTES * 60,
    )


def report_auth_failures(source: str, phone: str, bursts: list[str]) -> None:
    """The operator alarm on the live feed and the audit row of a failed-authentication burst (``FailureGuard.failed``):
    a source address cut off, or a terminal phone tried too often (then from several addresses, each cut off)."""
    unit = Vehicle.objects.select_related("agency").filter(jt808_phone=phone).first()
    limit, minutes = settings.CITYOPS_JT808_AUTH_FAILURE_LIMIT, settings.CITYOPS_JT808_AUTH_BACKOFF_MINUTES
    if "source" in bursts:
        detail = _("%(count)d failed authentications or registrations from %(source)s in %(minutes)d min")
    else:
        detail = _("%(count)d failed authentications or registrations of terminal %(phone)s in %(minutes)d min")
    detail %= {"count": limit, "source": source, "phone": phone, "minutes": minutes}
    message = _("JT/T 808 terminal %(phone)s from %(source)s: %(detail)s; the address is refused for %(minutes)d min")
    message %= {"phone": phone, "source": source, "detail": detail, "minutes": minutes}
    now = timezone.now()
    feature = {
        "type": "Feature",
        "id": f"{AUTH_FAILED}:{source}:{phone}:{now.timestamp():.0f}",
        "geometry": None,
        "properties": {
            "kind": AUTH_FAILED,
            "kind_label": _("Failed device authentications"),
            "source": source,
            "terminal": phone,
            "bursts": bursts,
            "vehicle_id": unit.pk if unit else None,
            "call_sign": unit.call_sign if unit else "",
            "agency": unit.agency.agency if unit else "",
            "message": message,
            "at": now.isoformat(),
            "cleared_at": None,
        },
    }
    with transaction.atomic():
        event = publish("alarms", "alarm.device_auth_failed", feature, orgs=[unit.agency_id] if unit else ())
        changes = {"source": source, "terminal": phone, "bursts": bursts, "failures": limit, "event": event.seq}
        record_audit(None, "device.auth_failed", unit or event, message, changes)
