"""`manage.py run_jt809_link [--host H] [--port P]`: the JT/T 809 main-link server for the platforms below the
city (transport/link.py). Port from CITYOPS_JT809_PORT (default 6809); keep-alive and silence limits from
CITYOPS_JT809_KEEPALIVE_SECONDS (60) and CITYOPS_JT809_IDLE_SECONDS (180)."""

import asyncio
import os
import signal

from django.core.management.base import BaseCommand

from transport.link import IDLE_S, KEEPALIVE_S, LinkServer


async def serve(host: str, port: int, keepalive: float, idle: float) -> None:
    server = LinkServer(host, port, keepalive=keepalive, idle=idle)
    await server.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await server.stop()


class Command(BaseCommand):
    help = "Serve the JT/T 809 main link for the monitoring platforms below the city and store what they report."

    def add_arguments(self, parser):
        env = os.environ.get
        parser.add_argument("--host", default=env("CITYOPS_JT809_HOST", "0.0.0.0"))  # noqa: S104
        parser.add_argument("--port", type=int, default=int(env("CITYOPS_JT809_PORT", "6809")))
        parser.add_argument(
            "--keepalive", type=float, default=float(env("CITYOPS_JT809_KEEPALIVE_SECONDS", KEEPALIVE_S))
        )
        parser.add_argument("--idle", type=float, default=float(env("CITYOPS_JT809_IDLE_SECONDS", IDLE_S)))

    def handle(self, *args, host, port, keepalive, idle, **options):
        asyncio.run(serve(host, port, keepalive, idle))
