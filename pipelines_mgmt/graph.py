"""The warm analysis graph of each network, kept in this process's memory and never stale.

Each entry is keyed by the network's `version`, which every change to its pipes, nodes or valves sets to
a fresh value from a database sequence (services.bump_network_version). A query reads the version first
(one indexed row), and rebuilds only when it differs from the cached one. Because the rows are read
after the version, a graph can only be newer than its label, never older; and because sequence values
are never reused, not even after a rollback, a label can never match a different state. So several
web processes each keep their own copy and none of them ever answers from an outdated network.
"""

import threading
import time
from dataclasses import dataclass

from django.db import connection

from .isolation import IsolationGraph, Pipe, Valve
from .models import Network, Node
from .models import Valve as ValveRow


@dataclass(frozen=True)
class NetworkGraph:
    network_id: int
    version: int
    isolation: IsolationGraph
    build_seconds: float


_cache: dict[int, NetworkGraph] = {}
_build_lock = threading.Lock()


def network_graph(network_id: int) -> NetworkGraph:
    """The isolation graph of a network at its current version (built on first use or after a change)."""
    version = Network.objects.filter(pk=network_id).values_list("version", flat=True).get()
    cached = _cache.get(network_id)
    if cached is not None and cached.version == version:
        return cached
    with _build_lock:  # concurrent requests after a change wait for one build instead of each doing it
        cached = _cache.get(network_id)
        if cached is None or cached.version != version:
            cached = _cache[network_id] = build_graph(network_id, version)
    return cached


def build_graph(network_id: int, version: int) -> NetworkGraph:
    """Read a network's rows into an IsolationGraph; ids are database primary keys.

    Plain SQL rather than the ORM: on a 100k-pipe network building model-less tuples is three times faster,
    and this runs after every change to the network. Rows come in the models' default order.
    """
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, kind = %s FROM pipelines_mgmt_node WHERE network_id = %s ORDER BY code",
            [Node.Kind.SOURCE, network_id],
        )
        nodes = cursor.fetchall()
        cursor.execute(
            "SELECT id, start_node_id, end_node_id, length_m FROM pipelines_mgmt_pipe WHERE network_id = %s "
            "ORDER BY code",
            [network_id],
        )
        pipes = [Pipe(*row) for row in cursor.fetchall()]
        cursor.execute(
            "SELECT v.id, v.pipe_id, v.node_id, v.normal_state = %s, v.operability FROM pipelines_mgmt_valve v "
            "JOIN pipelines_mgmt_pipe p ON p.id = v.pipe_id WHERE p.network_id = %s ORDER BY v.id",
            [ValveRow.NormalState.CLOSED, network_id],
        )
        valves = [Valve(*row) for row in cursor.fetchall()]
    graph = IsolationGraph([pk for pk, _ in nodes], [pk for pk, source in nodes if source], pipes, valves)
    return NetworkGraph(network_id, version, graph, time.perf_counter() - started)
