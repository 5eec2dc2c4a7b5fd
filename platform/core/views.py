"""Plain (non-API) views of the core app."""

import psycopg
import redis
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django.views.defaults import page_not_found

from . import health
from .middleware import API_PREFIXES


@require_GET
@never_cache
async def livez(request):
    """Whether this web process answers, and nothing else: what a load balancer needs to take a dead or frozen
    node out. Dependencies (PostgreSQL, Redis) are shared by every node, so a check that failed on them would take
    all nodes out at once and cut every console's socket during a failover that the nodes ride out by themselves;
    /healthz reports them."""
    return JsonResponse({"status": "alive"})


@require_GET
@never_cache
def healthz(request):
    """Readiness for operators and monitoring (load balancers use /livez): database, PostGIS and Redis, each checked
    for real on the health probe's own short-timeout connections (core.health)."""
    report = {"database": "down", "postgis": None, "redis": "down"}
    try:
        with health.probe_connection() as conn:
            report["postgis"] = conn.execute("SELECT postgis_lib_version()").fetchone()[0]
        report["database"] = "ok"
    except psycopg.Error as exc:
        report["database_error"] = type(exc).__name__
    try:
        health.redis_client().ping()
        report["redis"] = "ok"
    except redis.RedisError as exc:
        report["redis_error"] = type(exc).__name__
    healthy = report["database"] == "ok" and report["redis"] == "ok"
    report["status"] = "ok" if healthy else "degraded"
    return JsonResponse(report, status=200 if healthy else 503)


def not_found(request, exception):
    """A missing address under the machine interfaces is a JSON 404 like every other API error; a page, the usual
    page."""
    if request.path.startswith(API_PREFIXES):
        return JsonResponse({"error": "not_found", "detail": f"nothing at {request.path}"}, status=404)
    return page_not_found(request, exception)
