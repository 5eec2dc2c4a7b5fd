"""Background jobs on procrastinate (its queue lives in our PostgreSQL): started from a screen or the CLI, followed
by their progress, cancelled, and left whole or not at all when a worker dies.

A job's work runs in one transaction with the write that marks its row done, so both commit or neither does: a
worker killed mid-import leaves none of it, and the queue hands the job to a worker again (`retry_stalled_jobs`
in core/tasks.py, a bounded number of times); a run that finds its row done returns at once. Progress is
written through the "progress" database connection, outside that transaction, so it shows while the work runs.
Cancelling asks the running work to stop at its next progress report, which rolls the transaction back.
"""

from __future__ import annotations

import shutil
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files import File
from django.db import close_old_connections, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.functional import Promise
from procrastinate import JobContext, RetryStrategy, exceptions
from procrastinate.contrib.django import app
from procrastinate.job_context import AbortReason
from procrastinate.jobs import Status

from .errors import InputError, Refusal
from .models import Job, User
from .selectors import forget_metric_srid

PROGRESS_DB = "progress"
MAX_ATTEMPTS = 3  # runs of one job cut short by a dead worker before it is failed for good (it can be retried)
STALLED_AFTER_S = settings.PROCRASTINATE_WORKER_DEFAULTS["stalled_worker_timeout"]  # no heartbeat: a dead worker
WRITE_EVERY_S = 0.1  # progress rows written at most this often (and always at the end of a stage)
FINISHED = {Status.SUCCEEDED.value, Status.FAILED.value, Status.CANCELLED.value, Status.ABORTED.value}

Work = Callable[[Path, dict, Callable[[int, int], None], User | None], dict]
"""An import: (the uploaded file, its checked options, progress(done, total), who started it) → a JSON result.
It writes in the caller's transaction."""


@dataclass(frozen=True)
class FormField:
    """One option of an import as the import screen asks for it."""

    name: str
    label: str | Promise
    type: str = "text"  # text, number, checkbox or select
    choices: tuple[tuple[str, str | Promise], ...] = ()
    hint: str | Promise = ""


@dataclass(frozen=True)
class ImportKind:
    """What can be imported in the background: apps register theirs from their AppConfig.ready()."""

    name: str
    label: str | Promise
    suffixes: tuple[str, ...]  # file name endings it reads
    check_options: Callable[[Mapping[str, Any]], dict]  # form fields → JSON options; raises InputError
    work: Work
    fields: tuple[FormField, ...] = ()


IMPORT_KINDS: dict[str, ImportKind] = {}


def checked(fields: Mapping[str, Any], name: str) -> bool:
    """A checkbox field: the screen sends "1" when it is ticked; the CLI and the API may write true, on or yes."""
    return str(fields.get(name, "")).lower() in ("1", "true", "on", "yes")


def register_import(kind: ImportKind) -> ImportKind:
    IMPORT_KINDS[kind.name] = kind
    return kind


def _uploads_dir() -> Path:
    return Path(settings.VAR_DIR) / "jobs"


def start_import(kind_name: str, user: User | None, file: File, fields: Mapping[str, Any]) -> Job:
    """Keep the file and queue its import; the job row and the queue entry commit together."""
    kind = IMPORT_KINDS.get(kind_name)
    if kind is None:
        raise InputError("kind", f"one of {', '.join(sorted(IMPORT_KINDS))}")
    name = Path(file.name or "").name
    if not name.lower().endswith(kind.suffixes):
        raise InputError("file", f"{kind.label} reads {', '.join(kind.suffixes)} files")
    options = kind.check_options(fields)
    folder = _uploads_dir() / uuid.uuid4().hex
    folder.mkdir(parents=True)
    try:
        with (folder / name).open("wb") as out:
            for chunk in file.chunks():
                out.write(chunk)
        with transaction.atomic():
            job_id = run_import.defer(kind=kind.name, upload=str(folder / name))
            return Job.objects.create(queue_job_id=job_id, kind=kind.name, title=name, created_by=user, options=options)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def followed() -> QuerySet[Job]:
    """Jobs as describe() reads them: each with its queue row and the user who started it, in one query."""
    return Job.objects.select_related("queue_job", "created_by")


def update_row(using: str, job_id: int, **fields) -> None:
    """Write fields of a job's row through the connection `using` (PROGRESS_DB: outside the import's
    transaction); updated_at goes with them, since an update() leaves auto_now fields alone."""
    Job.objects.using(using).filter(pk=job_id).update(updated_at=timezone.now(), **fields)


def describe(job: Job) -> dict:
    """A job as the screens and the CLI follow it (read through followed())."""
    state = state_of(job)
    return {
        "id": job.pk,
        "kind": job.kind,
        "kind_label": str(IMPORT_KINDS[job.kind].label) if job.kind in IMPORT_KINDS else job.kind,
        "title": job.title,
        "state": state,
        "finished": state in FINISHED,
        "stage": job.stage,
        "stage_label": str(Job.Stage(job.stage).label),
        "done": job.done,
        "total": job.total,
        "attempts": job.queue_job.attempts,
        "result": job.result,
        "error": job.error,
        "created_by": job.created_by.username if job.created_by else None,
        "created_at": job.created_at.isoformat(),
        "updated_at": job.updated_at.isoformat(),
    }


def state_of(job: Job) -> str:
    """The queue's status, with "cancelling" while a running job has been asked to stop."""
    queue_job = job.queue_job
    if queue_job.status == Status.DOING.value and queue_job.abort_requested:
        return "cancelling"
    return queue_job.status


def cancel(job: Job) -> None:
    """A waiting job is dropped; a running one stops at its next progress report and writes nothing."""
    if job.queue_job.status in FINISHED:
        raise Refusal(f"job {job.pk} has already ended ({job.queue_job.status})")
    app.job_manager.cancel_job_by_id(job.pk, abort=True)
    if app.job_manager.get_job_status(job.pk) == Status.CANCELLED:  # it never ran: its upload goes now
        shutil.rmtree(Path(job.queue_job.args["upload"]).parent, ignore_errors=True)


def retry(job: Job) -> None:
    """Run a failed job again from the start (its earlier runs wrote nothing)."""
    if job.queue_job.status != Status.FAILED.value:
        raise Refusal(f"only a failed job can be retried, not a {job.queue_job.status} one")
    update_row("default", job.pk, stage=Job.Stage.QUEUED, done=0, total=None, error="")
    app.job_manager.retry_job_by_id(job.pk, retry_at=timezone.now())


class Progress:
    """The `progress(done, total)` an import calls: written to the job row at most every WRITE_EVERY_S, and the
    place where a requested cancel stops the work (raising procrastinate's JobAborted)."""

    def __init__(self, job_id: int, should_abort: Callable[[], bool]):
        self.job_id = job_id
        self.should_abort = should_abort
        self.stage = Job.Stage.READING
        self.done, self.total = 0, None
        self._written_at = 0.0

    def set_stage(self, stage: str, **fields) -> None:
        self.stage = stage
        self._write(**fields)

    def __call__(self, done: int, total: int) -> None:
        if self.should_abort():
            raise exceptions.JobAborted
        self.done, self.total = done, total
        if self.stage == Job.Stage.READING:
            self.stage = Job.Stage.WRITING
        if done >= total or time.monotonic() - self._written_at >= WRITE_EVERY_S:
            self._write()

    def _write(self, **fields) -> None:
        self._written_at = time.monotonic()
        update_row(PROGRESS_DB, self.job_id, stage=self.stage, done=self.done, total=self.total, **fields)


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, InputError):
        return f"{exc.field}: {exc.detail}"
    return f"{type(exc).__name__}: {exc}"[:1000]


# A worker asked to stop (supervisord, systemd) aborts its job at the job's next progress report: it goes back to
# the queue. A worker killed outright is found by its missing heartbeat (core/tasks.py).
@app.task(
    name="core.run_import",
    pass_context=True,
    retry=RetryStrategy(max_attempts=MAX_ATTEMPTS - 1, retry_exceptions={exceptions.JobAborted}),
)
def run_import(context: JobContext, kind: str, upload: str) -> dict:
    """One import, all or nothing (see the module's docstring); the upload is removed once it has been imported
    or cancelled, and kept while the job may run again."""
    close_old_connections()  # a connection that died with PostgreSQL is not reused
    forget_metric_srid()  # the city's CRS may have been edited since the worker's last job
    job = Job.objects.get(pk=context.job.id)
    if job.stage == Job.Stage.DONE:  # committed by an earlier run whose worker died before telling the queue
        return job.result
    progress = Progress(job.pk, context.should_abort)
    progress.set_stage(Job.Stage.READING, error="")
    try:
        with transaction.atomic():
            result = IMPORT_KINDS[kind].work(Path(upload), job.options, progress, job.created_by)
            progress.should_abort = lambda: False  # past the last chance to cancel: saving
            progress.set_stage(Job.Stage.SAVING)
            update_row(
                "default", job.pk, stage=Job.Stage.DONE, done=progress.total or 0, total=progress.total, result=result
            )
    except exceptions.JobAborted:
        if context.abort_reason() == AbortReason.USER_REQUEST:
            update_row(PROGRESS_DB, job.pk, error="cancelled")
            shutil.rmtree(Path(upload).parent, ignore_errors=True)
        raise
    except Exception as exc:
        update_row(PROGRESS_DB, job.pk, error=_error_text(exc))
        raise
    finally:
        close_old_connections()
    shutil.rmtree(Path(upload).parent, ignore_errors=True)
    return result
