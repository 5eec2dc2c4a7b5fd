"""`manage.py sweep_overdue_cases [--every SECONDS] [--now ISO]`: push cases that turned yellow or red to the consoles.

Each case is published once per colour (``case.updated`` for yellow, ``case.overdue`` for red). Run it from
cron every minute, or as a process with ``--every 60``.
"""

import logging
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections
from django.utils.dateparse import parse_datetime

from core import health
from core.resilience import Outage
from grid.services import sweep_overdue

log = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Publish cases whose stage clock turned yellow or red since the last sweep."

    def add_arguments(self, parser):
        parser.add_argument("--every", type=float, help="keep running, sweeping every this many seconds")
        parser.add_argument("--now", help="evaluate as of this ISO date-time (tests, replays)")

    def handle(self, *args, every, now, **options):
        moment = None
        if now:
            moment = parse_datetime(now)
            if moment is None or moment.tzinfo is None:
                raise CommandError("--now must be an ISO date-time with a zone, e.g. 2026-09-28T16:00:00+08:00")
        if not every:
            counts = sweep_overdue(moment)
            self.stdout.write(f"yellow: {counts['yellow']}, red: {counts['red']}")
            return
        outage = Outage("overdue-case sweep", log, max_delay_s=every)
        watch = health.Watch()  # the trouble alarm rides on this loop's waits
        while True:  # a database or Redis outage delays the sweep, never ends the process
            try:
                counts = sweep_overdue(moment)
            except Exception as exc:
                close_old_connections()
                time.sleep(outage.failed(exc))
                continue
            outage.succeeded()
            log.info("yellow: %d, red: %d", counts["yellow"], counts["red"])
            health.keep_watch(every, watch)
