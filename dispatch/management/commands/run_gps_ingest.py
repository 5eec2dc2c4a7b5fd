"""`manage.py run_gps_ingest [--host H] [--port P]`: the JT/T 808 TCP server (dispatch/ingest.py)."""

import asyncio
import signal

from django.conf import settings
from django.core.management.base import BaseCommand

from core import health
from dispatch.ingest import IngestServer


async def serve(host: str, port: int) -> None:
    """Run until SIGTERM/SIGINT, then write what is queued before exiting (no acknowledged fix is lost
    either way: acks follow commits; this only saves terminals a resend)."""
    server = IngestServer(host, port)
    await server.start()
    heartbeat = asyncio.create_task(_beat())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    heartbeat.cancel()
    await server.stop()


async def _beat() -> None:
    """The ingest's heartbeat (core.health): written by this event loop, so a stuck loop stops it too."""
    while True:
        await asyncio.to_thread(health.beat, "gps_ingest")
        await asyncio.sleep(health.BEAT_EVERY_S)


class Command(BaseCommand):
    help = "Serve JT/T 808 vehicle terminals over TCP and store their positions in PostGIS."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=settings.CITYOPS_JT808_HOST)
        parser.add_argument("--port", type=int, default=settings.CITYOPS_JT808_PORT)

    def handle(self, *args, host, port, **options):
        asyncio.run(serve(host, port))
