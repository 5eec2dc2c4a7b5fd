"""Request bodies are limited while they arrive, before authentication or parsing: a huge anonymous POST is a 413
after at most the route's limit was read (no disk filled), declared or chunked; uploads have their own limits."""

import asyncio
import json

import pytest
from django.conf import settings

from core.http_bridge import DjangoHTTP, body_limit

from ..asgi_scope import http_scope

MIB = 2**20


def post(path: str, total: int, *, declare: bool, chunk: int = MIB) -> tuple[int, dict, int]:
    """(status, JSON body, bytes the server took from the client) for a POST of `total` bytes of zeros."""
    taken = 0

    async def receive():
        nonlocal taken
        size = min(chunk, total - taken)
        taken += size
        return {"type": "http.request", "body": bytes(size), "more_body": taken < total}

    sent = []

    async def send(message):
        sent.append(message)

    headers = [(b"content-type", b"application/json")]
    if declare:
        headers.append((b"content-length", str(total).encode()))
    app = DjangoHTTP(threads=1)
    asyncio.run(app(http_scope("POST", path, headers), receive, send))
    app.pool.shutdown()
    status = sent[0]["status"]
    return status, json.loads(sent[1]["body"]) if status == 413 else {}, taken


@pytest.mark.parametrize("declare", [True, False], ids=["content-length", "chunked"])
def test_a_2_gb_anonymous_post_is_refused_before_10_mb_are_read(declare):
    status, body, taken = post("/api/dispatch/incidents/", 2 * 1024 * MIB, declare=declare)
    assert status == 413 and body["error"] == "too_large" and body["field"] == "body"
    assert taken < 10 * MIB
    if declare:
        assert taken == 0  # the declared length alone decides


def test_a_case_report_with_photos_stops_at_its_own_limit():
    limit = body_limit("/api/grid/cases/")
    status, _body, taken = post("/api/grid/cases/", 2 * 1024 * MIB, declare=False)
    assert status == 413 and limit < taken <= limit + MIB


def test_uploads_have_their_own_limit():
    assert body_limit("/api/gis/imports/") > settings.CITYOPS_IMPORT_MAX_BYTES > settings.CITYOPS_MAX_BODY_BYTES
    assert body_limit("/api/dispatch/incidents/") == settings.CITYOPS_MAX_BODY_BYTES
    status, _body, taken = post("/api/gis/imports/", settings.CITYOPS_MAX_BODY_BYTES + MIB, declare=True)
    assert status != 413 and taken == settings.CITYOPS_MAX_BODY_BYTES + MIB  # read whole, then Django decides
