"""The import API's upload limit at the ASGI level, around the real Django application as cityops.asgi serves it."""

import asyncio

from core.http_bridge import DjangoHTTP
from gis.upload_limit import UploadLimit

from ..asgi_scope import http_scope


def run(scope_path: str, headers: list, chunks: list[bytes], app=None) -> tuple[list[dict], int]:
    """Send one POST through UploadLimit(Django) (or `app`); return the messages sent back and the chunks read."""
    app = app or UploadLimit(DjangoHTTP(threads=2))
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


def test_a_declared_2gb_upload_is_refused_without_reading_a_byte():
    sent, read = run("/api/gis/imports/", [(b"content-length", str(2 * 1024**3).encode())], [b"x" * 1024])
    assert read == 0
    assert sent[0]["status"] == 400 and b'"field": "file"' in sent[1]["body"]


def test_a_body_that_outgrows_the_limit_is_cut_off(settings):
    settings.CITYOPS_IMPORT_MAX_BYTES = 100_000
    chunks = [b"x" * 65_536] * 50  # 3.2 MB, no content-length
    sent, read = run("/api/gis/imports/", [(b"content-type", b"multipart/form-data; boundary=x")], chunks)
    assert read < 5 and sent[0]["status"] == 400
    assert [m for m in sent if m["type"] == "http.response.start"] == sent[:1]  # Django answered nothing more


def test_other_paths_pass_through():
    sent, _ = run("/api/gis/roads/", [(b"content-length", str(2 * 1024**3).encode())], [b""])
    assert sent[0]["status"] in (403, 405)  # Django's own answer (not signed in), not the upload limit


def test_the_served_application_refuses_an_oversized_import_from_its_declared_length():
    from cityops.asgi import application

    sent, read = run("/api/gis/imports/", [(b"content-length", str(2 * 2**30).encode())], [b"x"], app=application)
    assert sent[0]["status"] == 400 and read == 0
