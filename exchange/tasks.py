"""Background push of the upward exchange (procrastinate finds this module by its name), on queue ``exchange``:
the general jobs-worker serves every queue. ``push`` is asked for when records commit (at most one waits); the
periodic ``push_due`` picks up retries whose time came and any ask that was lost with its process.

A worker killed mid-push drops its PostgreSQL session and with it the pump's advisory lock, so the next push runs
at once; records it sent but had not yet marked are sent again (the receiver drops them by ``record_id``)."""

from django.db import close_old_connections
from procrastinate.contrib.django import app

from . import services

QUEUE = "exchange"


@app.task(name="exchange.push", queue=QUEUE, queueing_lock="exchange.push")
def push() -> None:
    close_old_connections()  # a connection that died with PostgreSQL is not reused
    try:
        services.push_due()
    finally:
        close_old_connections()


@app.periodic(cron="* * * * * */5")  # croniter's sixth field: seconds
@app.task(name="exchange.push_due", queue=QUEUE, queueing_lock="exchange.push_due")
def push_due(timestamp: int) -> None:
    close_old_connections()
    try:
        services.push_due()
    finally:
        close_old_connections()
