"""Set-up shared by the JT/T 809 link tests: a link server on a free loopback port, with no failed logins counted."""

import pytest

from dispatch.device_security import storage
from transport.link import LinkServer


@pytest.fixture
def link_idle_s() -> float:
    """Seconds of silence after which the link server drops a connection (a module may override it)."""
    return 1.0


@pytest.fixture
async def link(link_idle_s):
    """The link server. Failed logins are counted in Redis under the run's prefix and outlive a test: forgotten
    before and after, or one test's wrong passwords from 127.0.0.1 cut the next one's logins off. Settings the
    server reads (the guard's limits) are set by fixtures that run before this one (autouse ones do)."""
    storage().reset()
    server = LinkServer("127.0.0.1", 0, keepalive=0.2, idle=link_idle_s, sub_retry_s=0.1)
    await server.start()
    yield server
    await server.stop()
    storage().reset()
