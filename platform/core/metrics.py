"""`GET /metrics`: the system-health figures (core.health) for Prometheus, in its text format.

Only for a scraper that sends `Authorization: Bearer <CITYOPS_METRICS_TOKEN>` (a city does not publish its figures);
without the setting the address answers 404. Each scrape takes one fresh `health.read()` into a registry of its own:
the figures live in PostgreSQL and Redis, so whichever web process answers gives the same numbers and no
multi-process files are needed.
"""

import hmac

from django.conf import settings
from django.http import Http404, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from . import health


class HealthCollector:
    """Turns one health reading into metric families (prometheus_client's custom-collector interface)."""

    def collect(self):
        reading = health.read()
        up = GaugeMetricFamily("cityops_component_up", "1 if the component serves (up or degraded), else 0",
                               labels=["component"])  # fmt: skip
        status = GaugeMetricFamily("cityops_component_status", "1 for the component's current status",
                                   labels=["component", "status"])  # fmt: skip
        for component in reading.components:
            up.add_metric([component.name], 1 if component.status in (health.UP, health.DEGRADED) else 0)
            for value in (health.UP, health.DEGRADED, health.DOWN, health.UNKNOWN):
                status.add_metric([component.name, value], 1 if component.status == value else 0)
        yield up
        yield status
        lag = GaugeMetricFamily("cityops_replication_lag_seconds", "replay lag of each PostgreSQL standby",
                                labels=["standby"])  # fmt: skip
        for standby in reading.standbys:
            if standby.lag_seconds is not None:
                lag.add_metric([standby.name], standby.lag_seconds)
        yield lag
        if reading.gps_fixes_total is not None:
            yield CounterMetricFamily("cityops_gps_fixes", "GPS fixes stored (all paths)", reading.gps_fixes_total)
            yield GaugeMetricFamily("cityops_gps_fixes_per_second", "GPS fixes stored per second, last minute",
                                    reading.gps_fixes_per_second)  # fmt: skip
            yield GaugeMetricFamily("cityops_consoles_connected", "live-feed WebSocket consoles open",
                                    reading.consoles_connected)  # fmt: skip
        if reading.events_published_total is not None:
            yield CounterMetricFamily("cityops_events_published",
                                      "events published on the live feed (the event log's head seq)",
                                      reading.events_published_total)  # fmt: skip


@require_GET
@never_cache
def metrics(request):
    token = settings.CITYOPS_METRICS_TOKEN
    if not token:
        raise Http404("metrics are off: set CITYOPS_METRICS_TOKEN")
    sent = request.headers.get("Authorization", "").removeprefix("Bearer ")
    if not hmac.compare_digest(sent.encode(), token.encode()):
        return HttpResponse("a bearer token is required\n", status=401, headers={"WWW-Authenticate": "Bearer"},
                            content_type="text/plain")  # fmt: skip
    registry = CollectorRegistry(auto_describe=False)
    registry.register(HealthCollector())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
