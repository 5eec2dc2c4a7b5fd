"""Django's HTTP side under the ASGI server with one thread hop per request.

Django's own ASGI handler crosses between the event loop and worker threads for every sync middleware step,
signal, view and response close (a dozen crossings, and a new thread per request). On a virtual machine each
crossing costs about 0.2 ms of CPU, so a signed-in request cost 7-11 ms before doing any work. Here the body is
read on the loop, the whole request runs through Django's WSGI handler on a pooled thread (Django's classic,
thread-per-request model), and the response goes back to the loop in one piece: one crossing. A streaming
response (an export) is sent chunk by chunk from its thread as it is produced. WebSockets stay with Channels.

A body larger than its route allows (settings.CITYOPS_BODY_LIMITS, else CITYOPS_MAX_BODY_BYTES) is refused with
a 413 before any of it is read when its Content-Length says so, else as soon as that many bytes have arrived:
nothing is spooled, authenticated or parsed for it.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from concurrent.futures import ThreadPoolExecutor

from a2wsgi.wsgi import build_environ
from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler

TOO_LARGE = object()


def body_limit(path: str) -> int:
    """The largest request body accepted on `path`, in bytes."""
    for prefix, limit in settings.CITYOPS_BODY_LIMITS.items():
        if path.startswith(prefix):
            return limit
    return settings.CITYOPS_MAX_BODY_BYTES


async def _too_large(send, limit: int) -> None:
    detail = f"the request body is larger than the {limit / 2**20:g} MiB this address accepts"
    content = json.dumps({"error": "too_large", "field": "body", "detail": detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(content)).encode())]
    await send({"type": "http.response.start", "status": 413, "headers": [*headers, (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": content})


def _latin1_headers(headers: list[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    return [(name.lower().encode("latin1"), value.encode("latin1")) for name, value in headers]


class DjangoHTTP:
    """ASGI app for `http` scopes: Django's WSGI handler on a pool of `threads` threads."""

    def __init__(self, threads: int | None = None):
        self.handler = WSGIHandler()
        self.pool = ThreadPoolExecutor(threads or settings.CITYOPS_HTTP_THREADS, thread_name_prefix="http")

    async def __call__(self, scope, receive, send):
        limit = body_limit(scope["path"])
        declared = dict(scope["headers"]).get(b"content-length", b"0")
        if not declared.isdigit() or int(declared) > limit:
            await _too_large(send, limit)
            return
        body = await self._read_body(receive, limit)
        if body is TOO_LARGE:
            await _too_large(send, limit)
            return
        if body is None:
            return  # the client went away before sending its whole request
        environ = build_environ(scope, body)
        environ["CONTENT_LENGTH"] = str(body.tell())  # what arrived, also for a chunked body without a length
        body.seek(0)
        loop = asyncio.get_running_loop()
        try:
            # In the thread's own context, not a copy of the loop's: Django's caches (the Redis connections behind
            # sessions and tiles) are context-local and so last for the thread, not one request.
            answer = await loop.run_in_executor(self.pool, self._respond, environ, send, loop)
        finally:
            body.close()
        if answer is not None:
            start, content = answer
            await send(start)
            await send({"type": "http.response.body", "body": content})

    async def _read_body(self, receive, limit: int):
        """The request body, spooled to disk past Django's in-memory upload size; None on a disconnect, TOO_LARGE
        (and the rest left unread) once more than `limit` bytes arrived."""
        body = tempfile.SpooledTemporaryFile(max_size=settings.FILE_UPLOAD_MAX_MEMORY_SIZE, mode="w+b")  # noqa: SIM115 (closed by the caller)
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                body.close()
                return None
            body.write(message.get("body", b""))
            if body.tell() > limit:
                body.close()
                return TOO_LARGE
            if not message.get("more_body", False):
                return body

    def _respond(self, environ, send, loop):
        """Run on a pool thread: the response as (start message, body) or, if it streams, sent from here."""
        started = []

        def start_response(status, headers, exc_info=None):
            started.append(
                {"type": "http.response.start", "status": int(status[:3]), "headers": _latin1_headers(headers)}
            )

        response = self.handler(environ, start_response)
        try:
            if not getattr(response, "streaming", False):
                return started[0], b"".join(response)

            def relay(message):
                asyncio.run_coroutine_threadsafe(send(message), loop).result()

            relay(started[0])
            for chunk in response:
                if chunk:
                    relay({"type": "http.response.body", "body": chunk, "more_body": True})
            relay({"type": "http.response.body", "body": b""})
            return None
        finally:
            response.close()  # request_finished: the database connection goes back
