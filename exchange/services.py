"""State changes of the upward exchange: outbox rows written with the case's history, the pump that sends them to
the upper platform, an operator's retry, and the tasks the upper platform sends down.

Delivery is at least once and in order per case: a record is sent only when every earlier record of its case was
accepted, and marked ``sent`` (committed) right after the receiver's 2xx; a worker killed between the two sends it
again with the same ``record_id``, which the receiver drops. Connection failures, timeouts, 408, 429 and 5xx are
retried after ``CITYOPS_EXCHANGE_RETRY_SECONDS`` × 2^(attempts-1) (at most ``CITYOPS_EXCHANGE_RETRY_MAX_SECONDS``),
without end: a record is never given up for a receiver that is down. Any other answer (a 4xx) leaves it ``failed``
with the receiver's words, and its case's later records wait, until an operator retries it.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import logging
import time
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from core.errors import InputError, Refusal
from core.hooks import CaseStepsRecorded
from core.models import User
from core.services import record_audit
from grid import services as grid_services
from grid.models import Case, CaseTransition

from . import shape
from .models import Record

log = logging.getLogger(__name__)

PUMP_LOCK = 0x45584348  # pg advisory lock key ("EXCH"): one pump at a time, released when its session dies
BATCH = 100  # heads read per query
MAX_ANSWER_BYTES = 4096  # of a receiver's answer kept as the reason of a failure


def enabled() -> bool:
    return bool(settings.CITYOPS_EXCHANGE_URL)


# -- outbox ------------------------------------------------------------------------------------------------


def record_steps(recorded: CaseStepsRecorded) -> None:
    """One record per new history line, in grid's transaction (``core.hooks.case_steps_recorded``); the push is
    asked for once that transaction commits. Nothing is written while the exchange is off."""
    if not enabled():
        return
    steps = list(
        CaseTransition.objects.filter(pk__in=recorded.transition_ids)
        .select_related(
            "department", "case__category", "case__department", "case__district", "case__street", "case__grid",
            "case__component",
        )
        .order_by("pk")
    )  # fmt: skip
    position: dict[int, int] = {}  # history line → its place in its case's history (1 = the report)
    counted: dict[int, int] = {}
    rows = CaseTransition.objects.filter(case_id__in={s.case_id for s in steps}).order_by("pk")
    for case_id, pk in rows.values_list("case_id", "pk"):
        counted[case_id] = position[pk] = counted.get(case_id, 0) + 1
    now = timezone.now()
    code = settings.CITYOPS_EXCHANGE_PLATFORM_CODE
    Record.objects.bulk_create(
        Record(
            record_id=shape.record_id(step.case.number, position[step.pk]),
            case_id=step.case_id,
            seq=position[step.pk],
            transition=step,
            payload=shape.case_record(step.case, step, position[step.pk], code),
            next_attempt_at=now,
        )
        for step in steps
    )
    transaction.on_commit(ask_for_push, robust=True)


def ask_for_push() -> None:
    """Queue a push job unless one is already waiting (it will see every record committed before it runs)."""
    from procrastinate.exceptions import AlreadyEnqueued

    from .tasks import push

    with contextlib.suppress(AlreadyEnqueued):  # the waiting one will see this record too
        push.defer()


# -- push --------------------------------------------------------------------------------------------------


class LinkDown(Exception):
    """The receiver could not be reached or did not answer in time."""


class Sender:
    """HTTP(S) POSTs of JSON to the receiver over one kept-alive connection, each bounded by the timeout."""

    def __init__(self, url: str, token: str, timeout_s: float):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"CITYOPS_EXCHANGE_URL must be an http(s) URL, not {url!r}")
        self.parts, self.token, self.timeout_s = parts, token, timeout_s
        self.target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._conn: http.client.HTTPConnection | None = None

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            kind = http.client.HTTPSConnection if self.parts.scheme == "https" else http.client.HTTPConnection
            self._conn = kind(self.parts.hostname, self.parts.port, timeout=self.timeout_s)
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def post(self, record_id: str, body: bytes) -> tuple[int, str]:
        """(status, the answer's first bytes as text); LinkDown when there is no answer."""
        headers = {"Content-Type": "application/json; charset=utf-8", "Idempotency-Key": record_id}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        for fresh in (self._conn is None, True):  # a kept-alive connection the receiver closed is opened once more
            try:
                conn = self._connection()
                conn.request("POST", self.target, body, headers)
                answer = conn.getresponse()
                text = answer.read(MAX_ANSWER_BYTES + 1)
                if len(text) > MAX_ANSWER_BYTES or answer.will_close:
                    self.close()
                return answer.status, text[:MAX_ANSWER_BYTES].decode("utf-8", "replace")
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as exc:
                self.close()
                if fresh:
                    raise LinkDown(f"{type(exc).__name__}: {exc}") from exc
            except (OSError, http.client.HTTPException) as exc:  # refused, unreachable, timed out, garbled
                self.close()
                raise LinkDown(f"{type(exc).__name__}: {exc}") from exc
        raise AssertionError("unreachable")


@dataclass
class PushRound:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    link_down: str = ""


def _due_heads(limit: int) -> list[Record]:
    """Each case's first unsent record, when it is pending and due, oldest first."""
    return list(
        Record.objects.raw(
            "SELECT r.* FROM exchange_record r WHERE r.state = 'pending' AND r.next_attempt_at <= %s"
            " AND NOT EXISTS (SELECT 1 FROM exchange_record e"
            "  WHERE e.case_id = r.case_id AND e.seq < r.seq AND e.state <> 'sent')"
            " ORDER BY r.id LIMIT %s",
            [timezone.now(), limit],
        )
    )


def retry_delay(attempts: int) -> timedelta:
    base, ceiling = settings.CITYOPS_EXCHANGE_RETRY_SECONDS, settings.CITYOPS_EXCHANGE_RETRY_MAX_SECONDS
    return timedelta(seconds=min(base * 2 ** max(attempts - 1, 0), ceiling))


def _mark(record: Record, state: str, status: int | None, error: str) -> None:
    now = timezone.now()
    record.attempts += 1
    fields = {"attempts": record.attempts, "last_status": status, "last_error": error[:2000], "state": state}
    if state == Record.State.SENT:
        fields["sent_at"] = now
    elif state == Record.State.PENDING:
        fields["next_attempt_at"] = now + retry_delay(record.attempts)
    with transaction.atomic(), connection.cursor() as cursor:
        # a mark lost with PostgreSQL itself only means the record is sent again (and dropped by the receiver), so
        # it need not wait for the disk: one WAL flush per record would cap the push at the disk's flush rate
        cursor.execute("SET LOCAL synchronous_commit TO OFF")
        Record.objects.filter(pk=record.pk).update(**fields)


def _wait_for_link(probe: Record) -> None:
    """The receiver is unreachable: every waiting record waits as long as the one just tried. That one is the oldest,
    so it is tried first next time, and its growing attempt count spaces the probes of a dead link exponentially."""
    until = Record.objects.filter(pk=probe.pk).values_list("next_attempt_at", flat=True).get()
    Record.objects.filter(state=Record.State.PENDING, next_attempt_at__lt=until).update(next_attempt_at=until)


def _send(sender: Sender, record: Record, tally: PushRound) -> None:
    body = json.dumps(record.payload, ensure_ascii=False, separators=(",", ":")).encode()
    try:
        status, text = sender.post(record.record_id, body)
    except LinkDown as exc:
        _mark(record, Record.State.PENDING, None, str(exc))
        tally.retried += 1
        tally.link_down = str(exc)
        _wait_for_link(record)
        return
    if 200 <= status < 300:
        _mark(record, Record.State.SENT, status, "")
        tally.sent += 1
    elif status >= 500 or status in (408, 429):
        _mark(record, Record.State.PENDING, status, text)
        tally.retried += 1
    else:
        _mark(record, Record.State.FAILED, status, text)
        tally.failed += 1
        log.warning("exchange: %s refused with %s: %s", record.record_id, status, text[:200])


def _pump(deadline: float) -> PushRound:
    tally = PushRound()
    sender = Sender(settings.CITYOPS_EXCHANGE_URL, settings.CITYOPS_EXCHANGE_TOKEN, settings.CITYOPS_EXCHANGE_TIMEOUT_S)
    try:
        while time.monotonic() < deadline and not tally.link_down:
            heads = _due_heads(BATCH)
            if not heads:
                break
            for record in heads:
                _send(sender, record, tally)
                if tally.link_down or time.monotonic() >= deadline:
                    break  # the receiver is down: the others wait for the next round, not a timeout each
    finally:
        sender.close()
    return tally


def anything_due() -> bool:
    return bool(_due_heads(1))


def push_due(budget_s: float = 20.0) -> PushRound:
    """Send due records for at most ``budget_s`` (the worker has other jobs); a second pump returns at once."""
    if not enabled():
        return PushRound()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [PUMP_LOCK])
        if not cursor.fetchone()[0]:
            return PushRound()
    try:
        tally = _pump(time.monotonic() + budget_s)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [PUMP_LOCK])
    if tally.link_down:
        log.warning("exchange: receiver unreachable (%s); records wait for their retry time", tally.link_down)
    elif anything_due():  # more than the budget, or committed while this pump held the lock
        ask_for_push()
    return tally


# -- operators ---------------------------------------------------------------------------------------------


class NotFailed(Refusal):
    code = "not_failed"


def retry(actor: User | None, records) -> int:
    """Put failed records back in the queue (the receiver was fixed); returns how many."""
    with transaction.atomic():
        chosen = list(records.select_for_update().filter(state=Record.State.FAILED))
        Record.objects.filter(pk__in=[r.pk for r in chosen]).update(
            state=Record.State.PENDING, next_attempt_at=timezone.now()
        )
        for record in chosen:
            record_audit(actor, "exchange.retry", record, record.record_id, {"last_error": record.last_error[:200]})
        if chosen:
            transaction.on_commit(ask_for_push, robust=True)
    return len(chosen)


def retry_one(actor: User, record_id: str) -> Record:
    record = Record.objects.filter(record_id=record_id).first()
    if record is None:
        raise InputError("record_id", f"no exchange record {record_id!r}")
    if not retry(actor, Record.objects.filter(pk=record.pk)):
        raise NotFailed(f"record {record_id} is {record.state}, not failed: nothing to retry")
    record.refresh_from_db()
    return record


# -- tasks sent down ---------------------------------------------------------------------------------------


class TaskConflict(Refusal):
    code = "task_conflict"


@dataclass
class Task:
    """A task the upper platform sent down (下派), already checked; position in WGS84."""

    task_id: str
    report: grid_services.Report


def take_task(task: Task) -> tuple[Case, bool]:
    """The case for this task: created through grid's own report (channel ``upper_platform``), or the one an earlier
    post of the same task created; (case, created). Its steps then flow back up through the outbox."""
    try:
        return grid_services.report_case(None, task.report, idempotency_key=shape.TASK_KEY_PREFIX + task.task_id)
    except grid_services.IdempotencyConflict:
        raise TaskConflict(
            f"task {task.task_id!r} was already taken with different content; send a new task_id for a new task",
            field="task_id",
        ) from None
