"""Who is at the other end of a TCP connection to one of our protocol servers (JT/T 808 terminals, JT/T 809
platforms), the address their limits, allow-lists and logs use: the peer's own, or, behind a trusted load balancer
(HAProxy ``send-proxy``), the client address its PROXY protocol v1 line names; and how many connections each
address holds open in this process.
"""

import asyncio
import contextlib
import ipaddress
from collections import Counter
from collections.abc import Collection, Iterator

PROXY_LINE_MAX = 107  # the longest PROXY protocol v1 line, CRLF included


def peer_address(writer: asyncio.StreamWriter) -> str:
    return (writer.get_extra_info("peername") or ("",))[0]


def parse_proxy_line(line: bytes) -> str | None:
    """The client address in a PROXY protocol v1 line (``PROXY TCP4 src dst sport dport``; ``PROXY UNKNOWN``: "");
    None when the line is not one."""
    parts = line.rstrip(b"\r\n").split(b" ")
    if parts[:2] == [b"PROXY", b"UNKNOWN"]:
        return ""
    if len(parts) != 6 or parts[0] != b"PROXY" or parts[1] not in (b"TCP4", b"TCP6"):
        return None
    try:
        address = ipaddress.ip_address(parts[2].decode("ascii"))
        ports = [int(p) for p in parts[4:]]
    except ValueError:
        return None
    if (address.version == 4) != (parts[1] == b"TCP4") or not all(0 <= p <= 65535 for p in ports):
        return None
    return str(address)


async def client_address(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, trusted_proxies: Collection[str], timeout: float
) -> str | None:
    """The client's address: the peer's, or, when the peer is a trusted proxy, the one its PROXY line names (read
    within ``timeout``). None: a trusted peer that sent no valid line (its health check, or a client reaching the
    server round the balancer from its address) — not announced, not served."""
    peer = peer_address(writer)
    if peer not in trusted_proxies:
        return peer
    try:
        async with asyncio.timeout(timeout):
            start = await reader.readexactly(len(b"PROXY "))
            if start != b"PROXY ":
                return None
            line = start + await reader.readuntil(b"\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ConnectionError):
        return None
    if len(line) > PROXY_LINE_MAX:
        return None
    address = parse_proxy_line(line)
    return None if address is None else address or peer


def described(source: str, writer: asyncio.StreamWriter) -> str:
    """The client for the log: its address, and the proxy's when it came through one."""
    peer = peer_address(writer)
    return source if source == peer else f"{source} (via {peer})"


class OpenConnections:
    """Connections open per client address in this process: one address may not hold all its file descriptors."""

    def __init__(self):
        self._open: Counter[str] = Counter()

    @contextlib.contextmanager
    def holding(self, source: str) -> Iterator[int]:
        """Count a connection from ``source`` while the block runs; yields how many others it already holds."""
        self._open[source] += 1
        try:
            yield self._open[source] - 1
        finally:
            self._open[source] -= 1
            if not self._open[source]:
                del self._open[source]
