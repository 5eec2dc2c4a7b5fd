"""The inspectors' roster on the live feed (procrastinate finds this module by its name; the jobs worker runs it):
every 30 s the whole roster on shift, so consoles see shifts begin and end and an inspector whose reports stopped
turn 超时未报 without reading anything themselves."""

from asgiref.sync import sync_to_async
from procrastinate.contrib.django import app

from .services import send_inspectors


@app.periodic(cron="* * * * * */30")  # croniter's sixth field: seconds
@app.task(name="patrol.send_roster", queueing_lock="patrol.send_roster")
async def send_roster(timestamp: int) -> None:
    await sync_to_async(send_inspectors)()
