"""A drill's steps as scheduled jobs on the jobs worker (procrastinate finds this module by its name)."""

from django.db import close_old_connections
from procrastinate.contrib.django import app

from . import services


@app.task(name="drills.run_step")
def run_step(drill_id: int, index: int) -> None:
    close_old_connections()
    try:
        services.run_step(drill_id, index)
    finally:
        close_old_connections()
