"""The client address of a protocol server's connection: PROXY protocol v1 lines (the servers' own tests cover
trusted and untrusted peers end to end: tests/dispatch/test_device_security.py, tests/transport/test_jt809_guard.py)."""

import pytest

from core.tcp_sources import OpenConnections, parse_proxy_line


@pytest.mark.parametrize(
    ("line", "address"),
    [
        (b"PROXY TCP4 10.1.2.3 10.0.0.1 56324 6808\r\n", "10.1.2.3"),
        (b"PROXY TCP6 2001:db8::1 2001:db8::2 56324 6808\r\n", "2001:db8::1"),
        (b"PROXY UNKNOWN\r\n", ""),
        (b"PROXY TCP4 2001:db8::1 10.0.0.1 1 2\r\n", None),
        (b"PROXY TCP4 10.1.2.3 10.0.0.1 99999 6808\r\n", None),
        (b"PROXY TCP4 not-an-address 10.0.0.1 1 2\r\n", None),
        (b"~\x01\x02 a JT/T 808 frame\r\n", None),
    ],
)
def test_proxy_protocol_lines(line, address):
    assert parse_proxy_line(line) == address


def test_open_connections_are_counted_per_address_and_given_back():
    open_ = OpenConnections()
    with open_.holding("10.0.0.1") as first, open_.holding("10.0.0.1") as second, open_.holding("10.0.0.2") as other:
        assert (first, second, other) == (0, 1, 0)
    with pytest.raises(RuntimeError), open_.holding("10.0.0.1"):
        raise RuntimeError("a connection that failed")
    with open_.holding("10.0.0.1") as again:
        assert again == 0
