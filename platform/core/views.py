"""Plain (non-API) views of the core app."""

import redis
from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


@require_GET
@never_cache
def healthz(request):
    """Liveness for load balancers and operators: database, PostGIS and Redis, each checked for real."""
    report = {"database": "down", "postgis": None, "redis": "down"}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT postgis_lib_version()")
            report["postgis"] = cursor.fetchone()[0]
        report["database"] = "ok"
    except Exception as exc:
        report["database_error"] = type(exc).__name__
    try:
        client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2)
        client.ping()
        report["redis"] = "ok"
        client.close()
    except redis.RedisError as exc:
        report["redis_error"] = type(exc).__name__
    healthy = report["database"] == "ok" and report["redis"] == "ok"
    report["status"] = "ok" if healthy else "degraded"
    return JsonResponse(report, status=200 if healthy else 503)
