"""Tile and style endpoints (/tiles/): plain Django views, because a map asks for dozens of tiles per second.

Tiles are private to signed-in users (layers are role-checked), so responses are `Cache-Control: private`
with an ETag that changes when the data does.
"""

from __future__ import annotations

import hashlib
import time

from django.contrib.auth import SESSION_KEY
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render

from core.errors import InputError

from . import rasters, styles, tiles

MAX_ZOOM = 22
PNG = "image/png"


VIEWER_SECONDS = 15.0
_VIEWERS: dict[str, tuple[float, object]] = {}


def recall(session_key: str | None):
    """The user this process saw signed in under `session_key` within VIEWER_SECONDS, or None."""
    hit = _VIEWERS.get(session_key) if session_key else None
    return hit[1] if hit and hit[0] > time.monotonic() else None


def forget(session_key: str) -> None:
    _VIEWERS.pop(session_key, None)


def _viewer(request):
    """The signed-in user of a tile request, or None.

    A map asks for dozens of tiles a second, each one a request. Django verifies the user the first time
    (backend: active, roles; session auth hash); this process then remembers that user for VIEWER_SECONDS
    under the session key, so a tile costs no user query (and tile_server.py serves the session's tiles on the
    event loop). Signing out takes effect at once (the session is gone); a change of roles, password or active
    flag within VIEWER_SECONDS."""
    if request.session.get(SESSION_KEY) is None:
        return None
    session_key = request.session.session_key
    user = recall(session_key)
    if user is not None:
        return user
    user = request.user
    if not user.is_authenticated:
        return None
    if len(_VIEWERS) > 10_000:
        _VIEWERS.clear()
    _VIEWERS[session_key] = (time.monotonic() + VIEWER_SECONDS, user)
    return user


def _refused() -> HttpResponse:
    return JsonResponse({"error": "not_authenticated", "detail": "sign in to read map tiles"}, status=403)


def check_tile(z: int, x: int, y: int) -> None:
    if not 0 <= z <= MAX_ZOOM:
        raise InputError("z", f"zoom must be 0..{MAX_ZOOM}")
    if not (0 <= x < (1 << z) and 0 <= y < (1 << z)):
        raise InputError("x/y", f"tile {x}/{y} does not exist at zoom {z}")


def _bad(exc: InputError) -> JsonResponse:
    return JsonResponse({"error": "invalid_input", "field": exc.field, "detail": exc.detail}, status=400)


def _with_etag(request, body: bytes, content_type: str, etag: str, max_age: int) -> HttpResponse:
    if request.headers.get("If-None-Match") == etag:
        response = HttpResponse(status=304)
    else:
        response = HttpResponse(body, content_type=content_type)
    response["ETag"] = etag
    response["Cache-Control"] = f"private, max-age={max_age}"
    return response


def raster_tile(request, name: str, z: int, x: int, y: int):
    if _viewer(request) is None:
        return _refused()
    try:
        rasters.spec(name)
        check_tile(z, x, y)
    except InputError as exc:
        return _bad(exc)
    if not rasters.available(name):
        return JsonResponse({"error": "not_found", "detail": f"raster {name!r} has not been generated"}, status=404)
    version = rasters.path_of(name).stat().st_mtime_ns
    etag = '"' + hashlib.blake2s(f"{name}/{version}/{z}/{x}/{y}".encode(), digest_size=12).hexdigest() + '"'
    if request.headers.get("If-None-Match") == etag:
        return _with_etag(request, b"", PNG, etag, 300)
    png = rasters.render_tile(name, z, x, y)
    if png is None:
        response = HttpResponse(status=204)
        response["Cache-Control"] = "private, max-age=300"
        return response
    return _with_etag(request, png, PNG, etag, 300)


def vector_tile(request, layer: str, z: int, x: int, y: int):
    """/tiles/{layer or tile set}/{z}/{x}/{y}.pbf: 200 MVT, 204 when empty, 404 for a layer the user may not read."""
    user = _viewer(request)
    if user is None:
        return _refused()
    try:
        check_tile(z, x, y)
    except InputError as exc:
        return _bad(exc)
    parts = tiles.tile_layers(layer, user)
    if parts is None:
        return JsonResponse({"error": "not_found", "detail": f"no layer {layer!r}"}, status=404)
    tile = tiles.get_tile(parts, z, x, y)
    max_age = 300 if tile.cacheable else 0
    if not tile.body and request.headers.get("If-None-Match") != tile.etag:
        response = HttpResponse(status=204)
        response["ETag"] = tile.etag
        response["Cache-Control"] = f"private, max-age={max_age}"
        return response
    return _with_etag(request, tile.body, tiles.MVT, tile.etag, max_age)


def style(request, name: str):
    """/tiles/styles/{basemap|basemap-dark}.json: the MapLibre style, with absolute tile URLs on this server."""
    if _viewer(request) is None:
        return _refused()
    if name not in styles.PALETTES:
        return JsonResponse({"error": "not_found", "detail": f"no style {name!r}"}, status=404)
    template = request.build_absolute_uri("/tiles/basemap/") + "{z}/{x}/{y}.pbf"
    response = JsonResponse(styles.build(name, template), json_dumps_params={"ensure_ascii": False})
    response["Cache-Control"] = "private, max-age=300"
    return response


@login_required
def preview(request):
    """A full-screen map of one base-map style (for checking styles, and for the browser test)."""
    name = request.GET.get("style", "basemap")
    if name not in styles.PALETTES:
        name = "basemap"
    return render(
        request,
        "gis/basemap_preview.html",
        {
            "style_url": f"/tiles/styles/{name}.json",
            "font_family": styles.LOCAL_IDEOGRAPH_FONT_FAMILY,
            "dark": "dark" in name,
        },
    )
