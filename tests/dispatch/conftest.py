"""Dispatch tests talk to GPS servers from loopback addresses: the device limits and failure counts they leave in
Redis must not cut off the tests that follow."""

import pytest

from dispatch import device_security


@pytest.fixture(autouse=True)
def fresh_device_limits():
    yield
    device_security.storage().reset()
