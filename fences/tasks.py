"""The alarms' clock (procrastinate finds this module by its name; the jobs worker runs it): every minute, units on
duty that went silent are offline, and alarms nobody acknowledged in time escalate to the leader on duty."""

from asgiref.sync import sync_to_async
from procrastinate.contrib.django import app

from dispatch import alarms
from duty.selectors import on_duty


def watch_alarms() -> None:
    alarms.check_offline()
    alarms.escalate_overdue([entry.user for entry in on_duty(role="leader_on_duty")])


@app.periodic(cron="* * * * *")
@app.task(name="fences.watch_alarms", queueing_lock="fences.watch_alarms")
async def watch_alarms_every_minute(timestamp: int) -> None:
    await sync_to_async(watch_alarms)()
