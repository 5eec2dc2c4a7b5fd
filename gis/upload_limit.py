"""ASGI middleware that refuses an oversized upload to the import API before Django reads the body.

The HTTP bridge (core.http_bridge) reads a whole request body (spooling it to disk) before any view runs, so the view's
own size check would come after a 2 GB upload had been received. This wrapper answers 400 from the
declared Content-Length without reading anything, and stops a body without a (truthful) length as soon as it
grows past the limit. Wire it in cityops/asgi.py: ``"http": UploadLimit(DjangoHTTP())``.
"""

from __future__ import annotations

import json

IMPORT_PATH = "/api/gis/imports/"
SLACK = 64 * 1024  # multipart boundaries and form fields around the file


def _limit() -> int:
    from .services import max_upload_bytes

    return max_upload_bytes() + SLACK


async def _refuse(send, limit: int) -> None:
    body = json.dumps(
        {"error": "invalid_input", "field": "file", "detail": f"the upload is larger than {limit - SLACK} bytes"}
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 400,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


class UploadLimit:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope.get("method") != "POST" or not scope["path"].startswith(IMPORT_PATH):
            return await self.app(scope, receive, send)
        limit = _limit()
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            return await _refuse(send, limit)
        received = 0
        refused = False

        async def limited_receive():
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    refused = True
                    await _refuse(send, limit)
                    return {"type": "http.disconnect"}  # Django stops reading and sends nothing
            return message

        return await self.app(scope, limited_receive, send)
