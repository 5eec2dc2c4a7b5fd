"""The import APIs' upload limit at the ASGI level, in the application as cityops.asgi serves it: an oversized
upload is refused (413) from its declared length without reading a byte, or cut off as soon as it outgrows it."""

import asyncio

import pytest

from cityops.asgi import application
from core.http_bridge import DjangoHTTP

from ..asgi_scope import http_scope


def run(scope_path: str, headers: list, chunks: list[bytes], app=None) -> tuple[list[dict], int]:
    """Send one POST through `app` (the served application); the messages sent back and the chunks read."""
    app = app or application
    sent, read = [], 0

    async def receive():
        nonlocal read
        if read < len(chunks):
            read += 1
            return {"type": "http.request", "body": chunks[read - 1], "more_body": read < len(chunks)}
        await asyncio.sleep(3600)

    async def send(message):
        sent.append(message)

    scope = http_scope("POST", scope_path, headers)
    asyncio.run(asyncio.wait_for(app(scope, receive, send), 30))
    return sent, read


@pytest.mark.parametrize("path", ["/api/gis/imports/", "/api/pipelines/networks/import/"])
def test_a_declared_2gb_upload_is_refused_without_reading_a_byte(path):
    sent, read = run(path, [(b"content-length", str(2 * 1024**3).encode())], [b"x" * 1024])
    assert read == 0
    assert sent[0]["status"] == 413 and b'"field": "body"' in sent[1]["body"]


def test_a_body_that_outgrows_the_limit_is_cut_off(settings):
    settings.CITYOPS_BODY_LIMITS = {"/api/gis/imports/": 100_000}
    chunks = [b"x" * 65_536] * 50  # 3.2 MB, no content-length
    sent, read = run(
        "/api/gis/imports/", [(b"content-type", b"multipart/form-data; boundary=x")], chunks, app=DjangoHTTP(threads=2)
    )
    assert read < 5 and sent[0]["status"] == 413
    assert [m for m in sent if m["type"] == "http.response.start"] == sent[:1]  # Django answered nothing more


def test_an_upload_within_the_limit_reaches_django():
    sent, _ = run("/api/gis/imports/", [(b"content-length", b"1024")], [b"x" * 1024])
    assert sent[0]["status"] in (403, 405)  # Django's own answer (not signed in), not the body limit
