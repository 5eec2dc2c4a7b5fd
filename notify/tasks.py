"""Background delivery (procrastinate finds this module by its name): one job per notification and outside channel
at a time, and the periodic escalation of unacknowledged notifications. They run on the queue of their own that
the `notify-worker` program serves, so an emergency's notifications never wait behind a long import; the general
`jobs-worker` serves every queue and takes them too.

A worker killed mid-send leaves its job stalled; core.retry_stalled_jobs runs it again, and deliveries left
`sending` are sent again (at least once; see notify.services). Receipts the gateway could not hand to a dead
worker are collected by a periodic bind."""

from django.db import close_old_connections
from procrastinate.contrib.django import app

from . import services

QUEUE = "notices"


@app.task(name="notify.deliver", queue=QUEUE, priority=10)
def deliver(notification_id: int, channel: str) -> None:
    close_old_connections()  # a connection that died with PostgreSQL is not reused
    try:
        retry_at = services.deliver_pending(notification_id, channel)
        if retry_at is not None:
            services.queue_delivery(notification_id, channel, at=retry_at)
    finally:
        close_old_connections()


@app.periodic(cron="* * * * * */10")  # croniter's sixth field: seconds
@app.task(name="notify.escalate_overdue", queue=QUEUE, queueing_lock="notify.escalate_overdue")
def escalate_overdue(timestamp: int) -> None:
    close_old_connections()
    try:
        services.escalate_overdue()
    finally:
        close_old_connections()


@app.periodic(cron="* * * * * */30")
@app.task(name="notify.collect_sms_receipts", queue=QUEUE, queueing_lock="notify.collect_sms_receipts")
def collect_sms_receipts(timestamp: int) -> None:
    close_old_connections()
    try:
        services.collect_sms_receipts()
    finally:
        close_old_connections()
