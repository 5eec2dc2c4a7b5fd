"""The track roll-up's periodic job (procrastinate finds this module by its name): every hour, the closed days not
rolled up yet, or that received late fixes, are rolled up (trips.services.refresh_rollups). A run cut short by a
dead worker left its day's transaction uncommitted; the next run does that day again."""

from django.db import close_old_connections
from procrastinate.contrib.django import app

from . import services


@app.periodic(cron="7 * * * *")
@app.task(name="trips.refresh_rollups", queueing_lock="trips.refresh_rollups")
def refresh_rollups(timestamp: int) -> None:
    close_old_connections()
    try:
        services.refresh_rollups()
    finally:
        close_old_connections()
