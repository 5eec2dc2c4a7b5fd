import pytest
from django.test import override_settings

from . import servers


@pytest.fixture
def smtp_server():
    """A real SMTP server process; the notify settings point at it."""
    server = servers.SmtpServer()
    server.start()
    with override_settings(**server.settings()):
        yield server
    server.stop()


@pytest.fixture
def sms_gateway():
    """The SMPP 3.4 gateway simulator on a free port; the notify settings point at it."""
    sim = servers.gateway()
    with override_settings(**servers.gateway_settings(sim)):
        yield sim
    sim.stop()
