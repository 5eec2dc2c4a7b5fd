"""Opening `/ws/ops/` in tests the way a browser does: the real ASGI app, a real session cookie, an Origin."""

from channels.testing import WebsocketCommunicator
from django.test import Client

from cityops.asgi import application
from core.models import User


async def connect(username: str | None) -> tuple[WebsocketCommunicator, bool]:
    """A communicator on /ws/ops/ signed in as `username` (None: anonymous) and whether it was accepted."""
    headers = [(b"origin", b"http://localhost")]
    if username:
        client = Client()
        await client.aforce_login(await User.objects.aget(username=username))
        headers.append((b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode()))
    communicator = WebsocketCommunicator(application, "/ws/ops/", headers=headers)
    connected, _ = await communicator.connect()
    return communicator, connected


async def subscribe(communicator, timeout: float = 5, **fields) -> list[dict]:
    """Send a subscribe and collect everything up to and including the 'subscribed' (or 'error') answer."""
    await communicator.send_json_to({"op": "subscribe", **fields})
    received = []
    while True:
        message = await communicator.receive_json_from(timeout=timeout)
        received.append(message)
        if message.get("op") in ("subscribed", "error"):
            return received
