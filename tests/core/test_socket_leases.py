"""The per-user console cap holds across web processes (core.socket_leases): two real uvicorn servers on one
Redis namespace share it, a closed socket gives its place back, and the sockets of a killed server stop counting
once their leases lapse, while the survivor's leases are renewed and keep counting."""

import asyncio
import signal
import uuid

import pytest
import websockets
from django.test import Client

from core.models import User
from tests.conftest import _test_process_env, uvicorn_server

pytestmark = pytest.mark.django_db(transaction=True)

CAP = 3
LEASE_S = 3


@pytest.fixture
def two_servers(demo_city):
    env = {
        **_test_process_env(),
        "CITYOPS_DB_POOL": "1",
        "CITYOPS_WS_PER_USER": str(CAP),
        "CITYOPS_WS_LEASE_SECONDS": str(LEASE_S),
        "CITYOPS_WS_CATCHUP_SECONDS": "0.5",
        "CITYOPS_CHANNEL_PREFIX": f"leases-{uuid.uuid4().hex[:8]}",  # this test's own leases
    }
    with uvicorn_server(env, "test-leases-a.log") as a, uvicorn_server(env, "test-leases-b.log") as b:
        yield a, b


def session_cookie() -> str:
    client = Client()
    client.force_login(User.objects.get(username="operator"))
    return client.cookies["sessionid"].value


async def open_socket(server, cookie: str):
    """An open console socket, or None if the server refused it (closed before accepting: HTTP 403)."""
    base = f"ws://127.0.0.1:{server.port}"
    headers = {"Cookie": f"sessionid={cookie}", "Origin": f"http://127.0.0.1:{server.port}"}
    try:
        return await websockets.connect(f"{base}/ws/ops/", additional_headers=headers)
    except websockets.InvalidStatus as refused:
        assert refused.response.status_code == 403
        return None


async def refused_until_accepted(server, cookie: str, within_s: float):
    deadline = asyncio.get_running_loop().time() + within_s
    while asyncio.get_running_loop().time() < deadline:
        if (socket := await open_socket(server, cookie)) is not None:
            return socket
        await asyncio.sleep(0.5)
    return None


def test_the_cap_is_the_users_across_processes_and_a_dead_processs_sockets_lapse(two_servers):
    a, b = two_servers
    cookie = session_cookie()

    async def scenario():
        on_a = [await open_socket(a, cookie) for _ in range(2)]
        on_b = [await open_socket(b, cookie)]
        assert all(on_a) and all(on_b)  # 3 sockets, spread over two processes
        assert await open_socket(a, cookie) is None  # each process alone holds fewer than the cap
        assert await open_socket(b, cookie) is None

        await asyncio.sleep(LEASE_S * 2)  # outlives every lease: only renewed ones still count
        assert await open_socket(a, cookie) is None, "a renewed lease of the other process no longer counts"

        await on_b.pop().close()
        again = await refused_until_accepted(b, cookie, within_s=5)
        assert again is not None  # a closed socket gives its place back
        on_b.append(again)

        a.send_signal(signal.SIGKILL)  # no disconnect runs: its two leases are only left to lapse
        a.wait(timeout=10)
        await asyncio.sleep(LEASE_S * 2)
        on_b += [await open_socket(b, cookie) for _ in range(2)]
        assert all(on_b), "the dead process's sockets still count"
        for socket in on_b:
            await socket.close()

    asyncio.run(scenario())
