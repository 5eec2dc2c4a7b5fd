"""`manage.py simulate_fleet`: demo units drive the demo roads as JT/T 808 terminals and OsmAnd phones
(dispatch/simulator.py), and with ``--patrol`` the inspectors on shift walk their grids (patrol/simulator.py).
Example: ``--jt808 127.0.0.1:6808 --osmand http://127.0.0.1:8000/gps/osmand --vehicles all --speedup 5
--answer-incidents``."""

import asyncio
import signal

from django.core.management.base import BaseCommand, CommandError

from dispatch.simulator import Options, simulate
from patrol import simulator as patrol_simulator


def host_port(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit():
        raise CommandError(f"--jt808 must be HOST:PORT, got {value!r}")
    return host, int(port)


async def run(options: Options, patrol: bool) -> int:
    fleet = await simulate(options)
    if not fleet.units:
        raise CommandError("no demo units with a terminal of the chosen protocol(s); load the demo city first")
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, fleet.stopping.set)
    walking = asyncio.create_task(patrol_simulator.run(fleet.stopping, options.speedup)) if patrol else None
    await fleet.run()
    if walking is not None:
        fleet.stopping.set()  # a --duration ran out
        await walking
    return fleet.acked


class Command(BaseCommand):
    help = "Drive the demo units along the demo roads, reporting over JT/T 808 (TCP) and/or OsmAnd (HTTP)."

    def add_arguments(self, parser):
        parser.add_argument("--jt808", metavar="HOST:PORT", help="the JT/T 808 ingest (run_gps_ingest)")
        parser.add_argument(
            "--osmand", metavar="URL", help="the OsmAnd endpoint, e.g. http://127.0.0.1:8000/gps/osmand"
        )
        parser.add_argument("--vehicles", default="all", help="how many demo units (the first N by id), or 'all'")
        parser.add_argument("--speedup", type=float, default=1.0, help="drive this many times faster than real")
        parser.add_argument("--interval", type=float, default=1.0, help="seconds between reports of a unit")
        parser.add_argument("--duration", type=float, default=0.0, help="seconds to run; 0 = until stopped")
        parser.add_argument("--answer-incidents", action="store_true", help="dispatched units drive to incidents")
        parser.add_argument("--wander", action="store_true", help="idle units drive around their neighbourhood")
        parser.add_argument("--acked-log", help="append 'terminal fix-time' for every acknowledged position")
        parser.add_argument("--patrol", action="store_true", help="the inspectors on shift walk their grids")

    def handle(self, *args, **o):
        if not o["jt808"] and not o["osmand"]:
            raise CommandError("give --jt808 HOST:PORT and/or --osmand URL")
        vehicles = o["vehicles"]
        if vehicles != "all" and not (vehicles.isdigit() and int(vehicles) > 0):
            raise CommandError("--vehicles must be a positive number or 'all'")
        if o["interval"] <= 0 or o["speedup"] <= 0 or o["duration"] < 0:
            raise CommandError("--interval and --speedup must be positive, --duration not negative")
        options = Options(
            jt808=host_port(o["jt808"]) if o["jt808"] else None,
            osmand=o["osmand"],
            vehicles=None if vehicles == "all" else int(vehicles),
            speedup=o["speedup"],
            interval=o["interval"],
            duration=o["duration"],
            answer_incidents=o["answer_incidents"],
            wander=o["wander"],
            acked_log=o["acked_log"],
        )
        acked = asyncio.run(run(options, o["patrol"]))
        self.stdout.write(f"{acked} positions acknowledged")
