"""HTTP side of dispatch: the OsmAnd GPS endpoint used by phone apps and the fleet simulator.

The OsmAnd protocol (as Traccar documents it) is a plain query string, not a REST resource, so this is a
plain Django view: no session, no CSRF (devices have neither); the device id is the credential.
"""

import math
from datetime import UTC, datetime

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from . import selectors, services

KNOT_KMH = 1.852  # OsmAnd speeds are knots
_SECONDS_LIMIT = 2**31 - 1  # Traccar's rule: larger integer timestamps are milliseconds
_feed = services.VehicleFeed()


class OsmAndError(ValueError):
    pass


def _number(params, *names: str, required: bool = False, default: float = 0.0) -> float:
    for name in names:
        raw = params.get(name)
        if raw not in (None, ""):
            try:
                value = float(raw)
            except ValueError:
                raise OsmAndError(f"'{name}' must be a number, got {raw!r}") from None
            if not math.isfinite(value):
                raise OsmAndError(f"'{name}' must be a finite number, got {raw!r}")
            return value
    if required:
        raise OsmAndError(f"'{names[0]}' is required")
    return default


def _timestamp(raw: str | None) -> datetime:
    """Unix seconds or milliseconds, ISO 8601, or "yyyy-MM-dd HH:mm:ss" in the server's zone; absent = now."""
    if not raw:
        return timezone.now()
    try:
        if raw.isdigit():
            value = int(raw)
            return datetime.fromtimestamp(value if value <= _SECONDS_LIMIT else value / 1000, UTC)
        parsed = datetime.fromisoformat(raw)
    except (ValueError, OverflowError, OSError):
        raise OsmAndError(f"'timestamp' is not Unix seconds/milliseconds or an ISO 8601 time: {raw!r}") from None
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed)


def parse_fix(params, vehicle_id: int, device_id: str) -> services.Fix:
    lat, lon = params.get("lat"), params.get("lon")
    if (lat in (None, "") or lon in (None, "")) and params.get("location"):
        lat, _, lon = params["location"].partition(",")
    position = {"lat": lat, "lon": lon}
    return services.Fix(
        terminal=device_id,
        vehicle_id=vehicle_id,
        fix_time=_timestamp(params.get("timestamp")),
        latitude=_number(position, "lat", required=True),
        longitude=_number(position, "lon", required=True),
        speed_kmh=_number(params, "speed") * KNOT_KMH,
        heading=round(_number(params, "bearing", "heading")) % 360,
        altitude=round(_number(params, "altitude")),
    )


@csrf_exempt
def osmand(request: HttpRequest) -> HttpResponse:
    """One position per request (GET query, or form body when the query is empty); 200 only after commit."""
    if request.method not in ("GET", "POST"):
        return HttpResponse("use GET or POST\n", status=405, content_type="text/plain")
    params = request.GET if request.GET else request.POST
    device_id = params.get("id") or params.get("deviceid")
    if not device_id:
        return HttpResponse("'id' (the device id) is required\n", status=400, content_type="text/plain")
    unit = selectors.osmand_terminal(device_id)
    if unit is None:
        return HttpResponse(f"unknown device id {device_id!r}\n", status=404, content_type="text/plain")
    try:
        fix = parse_fix(params, unit.pk, device_id)
    except OsmAndError as exc:
        return HttpResponse(f"{exc}\n", status=400, content_type="text/plain")
    result = services.record_fixes([fix])
    if result.refused[0] is not None:
        return HttpResponse(f"position refused: {result.refused[0]}\n", status=400, content_type="text/plain")
    services.publish_vehicles_now(_feed, result.moved)
    return HttpResponse("OK\n", content_type="text/plain")
