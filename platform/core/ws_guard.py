"""A console whose WebSocket cannot be set up (Redis or PostgreSQL away while its channel, session or user is
looked up) is told "try again later" — accepted and closed with RFC 6455 code 1013, which the consoles' OpsSocket
answers by reconnecting with back-off — instead of a failed handshake and a traceback per attempt."""

import logging

from .resilience import Outage

log = logging.getLogger(__name__)
TRY_AGAIN_LATER = 1013


class TryAgainLater:
    """ASGI middleware for the WebSocket routes."""

    def __init__(self, inner):
        self.inner = inner
        self.outage = Outage("console set-up", log)

    async def __call__(self, scope, receive, send):
        accepted = False

        async def send_tracking_accept(message):
            nonlocal accepted
            if message["type"] == "websocket.accept" and not accepted:
                accepted = True
                self.outage.succeeded()
            await send(message)

        try:
            await self.inner(scope, receive, send_tracking_accept)
        except Exception as exc:
            if accepted:
                raise
            self.outage.failed(exc)
            await send({"type": "websocket.accept"})
            await send({"type": "websocket.close", "code": TRY_AGAIN_LATER})
