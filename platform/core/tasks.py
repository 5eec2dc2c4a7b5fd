"""Queue housekeeping that every worker runs (procrastinate finds this module by its name): jobs whose worker
died are run again, a bounded number of times, so none stays "doing" for ever."""

import logging

from asgiref.sync import sync_to_async
from procrastinate.contrib.django import app
from procrastinate.jobs import Status

from . import jobs

log = logging.getLogger(__name__)


@app.periodic(cron="* * * * * */5")  # croniter's sixth field: seconds
@app.task(name="core.retry_stalled_jobs", queueing_lock="core.retry_stalled_jobs")
async def retry_stalled_jobs(timestamp: int) -> None:
    """A stalled job (its worker stopped sending heartbeats) committed nothing: it goes back to the queue, or is
    failed after MAX_ATTEMPTS runs (a person may still retry it)."""
    for job in await app.job_manager.get_stalled_jobs(seconds_since_heartbeat=jobs.STALLED_AFTER_S):
        if job.attempts + 1 < jobs.MAX_ATTEMPTS:
            log.warning("job %s: its worker died; running it again", job.id)
            await app.job_manager.retry_job(job)
        else:
            log.error("job %s: its worker died %s times; failed", job.id, jobs.MAX_ATTEMPTS)
            error = f"the worker stopped {jobs.MAX_ATTEMPTS} times while running it"
            await sync_to_async(jobs.update_row)(jobs.PROGRESS_DB, job.id, error=error)
            await app.job_manager.finish_job(job, status=Status.FAILED, delete_job=False)
