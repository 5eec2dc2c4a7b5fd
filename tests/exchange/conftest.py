"""The upward exchange switched on against a receiver simulator of this process."""

import pytest

from exchange.receiver_sim import ReceiverSim

TOKEN = "upward-test-token"
TASK_TOKEN = "downward-test-token"


@pytest.fixture
def receiver():
    sim = ReceiverSim(token=TOKEN)
    yield sim
    sim.stop()


@pytest.fixture
def exchange_on(settings, receiver):
    settings.CITYOPS_EXCHANGE_URL = receiver.url
    settings.CITYOPS_EXCHANGE_TOKEN = TOKEN
    settings.CITYOPS_EXCHANGE_TASK_TOKEN = TASK_TOKEN
    settings.CITYOPS_EXCHANGE_PLATFORM_CODE = "440300"
    settings.CITYOPS_EXCHANGE_RETRY_SECONDS = 0.05
    settings.CITYOPS_EXCHANGE_RETRY_MAX_SECONDS = 0.4
    settings.CITYOPS_EXCHANGE_TIMEOUT_S = 2
    return receiver
