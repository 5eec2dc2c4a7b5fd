"""A database thread of an asyncio server (the JT/T 808 ingest, the JT/T 809 link): Django's ORM blocks, so each kind
of database work runs on a thread of its own and the event loop never waits on PostgreSQL.

The thread keeps one connection for the life of the process (CONN_MAX_AGE is for request workers: at its default 0
it would mean a new connection per batch); it is replaced only after an error showed it unusable.
"""

import asyncio
from concurrent.futures import ThreadPoolExecutor

import psycopg
from django.db import DatabaseError, connections

from .resilience import Outage


def _keep_connection() -> None:
    conn = connections["default"]
    if conn.connection is not None and conn.errors_occurred:
        if conn.is_usable():
            conn.errors_occurred = False
        else:
            conn.close()


def _on_kept_connection(func, *args):
    _keep_connection()
    return func(*args)


class DatabaseThread:
    """One thread and its kept connection; ``run`` calls a function there and awaits its result."""

    def __init__(self, name: str):
        self._executor = ThreadPoolExecutor(1, thread_name_prefix=name)

    async def run(self, func, *args, outage: Outage | None = None):
        """``func(*args)`` on the thread. With ``outage``, a database failure (Django's, or psycopg's while a pooled
        connection is opened) is told as part of that story before it is raised, and a success ends the story."""
        try:
            result = await asyncio.get_running_loop().run_in_executor(self._executor, _on_kept_connection, func, *args)
        except (DatabaseError, psycopg.Error) as exc:
            if outage is not None:
                outage.failed(exc)
            raise
        if outage is not None:
            outage.succeeded()
        return result

    async def close(self) -> None:
        """Close the thread's connection, then the thread."""
        await asyncio.get_running_loop().run_in_executor(self._executor, connections.close_all)
        self._executor.shutdown()
