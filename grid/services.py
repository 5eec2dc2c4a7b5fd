"""State changes of 数字城管: report a case, move it through the workflow, sweep overdue cases.

Each use case is one transaction: the case row, its :class:`CaseTransition`, its photos and the event on the
``cases`` topic are written together or not at all. Input is checked before anything is written (photos by
content and size, category, position inside the city); the workflow rules are ``grid/workflow.py``'s.
"""

import hashlib
import json
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache

from django.conf import settings
from django.contrib.gis.geos import GEOSGeometry
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.errors import Forbidden, InputError, Refusal
from core.events import publish, publish_many
from core.hooks import CaseStepsRecorded, case_steps_recorded
from core.models import Domain, Organisation, Role, User
from core.realtime import Viewer
from notify import services as notify

from . import workflow
from .calendar import TimeLimit, WarningPolicy, WorkingCalendar, china_2026
from .features import case_feature, timer_state
from .models import (
    Case,
    CaseCallback,
    CasePhoto,
    CaseTransition,
    Category,
    CategoryLimits,
    ConfigVersion,
    Open311Client,
    UnitGrid,
)
from .photos import Photo
from .places import locate, locate_many, outside_city
from .selectors import STEP_LABELS, case_limits, workflow_roles
from .workflow import Action, Clock

WARNING = WarningPolicy()


class IdempotencyConflict(Refusal):
    """The Idempotency-Key was already used for a different request."""

    code = "idempotency_conflict"

    def __init__(self, key: str, case: Case):
        super().__init__(  # no case number: the key may be someone else's, and their case is not ours to name
            f"Idempotency-Key {key!r} was already used for a different report; send a new key for a new report",
            field="Idempotency-Key",
        )
        self.key = key
        self.case = case


@lru_cache(maxsize=1)
def working_calendar() -> WorkingCalendar:
    """The city's working calendar: ``CITYOPS_GRID_CALENDAR`` (a JSON file, see calendar.py) or China 2026."""
    path = settings.CITYOPS_GRID_CALENDAR
    if path:
        with open(path, encoding="utf-8") as f:
            return WorkingCalendar.from_config(json.load(f))
    return china_2026()


# -- input checks ------------------------------------------------------------------------------------------


_CACHE_SECONDS = 60.0  # reference data edited in the admin shows up within a minute
_cache: dict[str, tuple[float, object]] = {}


def _cached(name: str, load):
    """Per-process cache of small reference data (the category table, the centre's id): a report must not pay
    a query for what changes once a year."""
    hit = _cache.get(name)
    if hit is None or time.monotonic() - hit[0] > _CACHE_SECONDS:
        hit = _cache[name] = (time.monotonic(), load())
    return hit[1]


def category_by_code(code: str | None, field: str = "category_code") -> Category:
    code = (code or "").strip().upper()
    if not code:
        raise InputError(field, "a category code is required (e.g. 01001, C0101, E0102)")
    table = _cached("categories", lambda: {c.code: c for c in Category.objects.filter(active=True)})
    if code in table:
        return table[code]
    if len(code) == 4 and code.isdigit():
        both = " / ".join(
            f"{c.code} {c.name}" for c in table.values() if c.standard_code == code and c.scheme == "cjt214"
        )
        if both:
            raise InputError(field, f"CJ/T 214 code {code} is ambiguous ({both}); send it with its letter C or E")
    raise InputError(field, f"unknown category code {code!r}")


def published_config_version_id() -> int | None:
    """The configuration version new cases are filed under. Not cached: a case filed a second after a publish, in
    any process, must get the new version (one row of a table of a few dozen)."""
    published = ConfigVersion.objects.filter(number__isnull=False).order_by("-number")
    return published.values_list("pk", flat=True).first()


# -- clocks ------------------------------------------------------------------------------------------------


def stage_limit(category: Category | CategoryLimits, clock: str) -> TimeLimit:
    if clock == Clock.CONFIRMATION:
        return TimeLimit(category.confirmation_hours, "working_hours")
    if clock == Clock.DISPATCH:
        return TimeLimit(category.dispatch_hours, "working_hours")
    if clock == Clock.HANDLING:
        return TimeLimit(category.handling_limit, category.handling_unit)
    return TimeLimit(category.verification_hours, "working_hours")


def _after(start: datetime, seconds: float, natural: bool) -> datetime:
    if natural:
        return start + timedelta(seconds=seconds)
    return working_calendar().add_working_time(start, timedelta(seconds=seconds))


def _run_clock(case: Case, clock: str, start: datetime, remaining_s: float | None = None) -> datetime:
    """Start (or resume with ``remaining_s`` left) a stage clock; yellow from 80 % of its limit used."""
    cal = working_calendar()
    limit = stage_limit(case_limits(case), clock)
    if remaining_s is None:
        deadline = cal.deadline(start, limit)
        total = cal.measure(start, deadline, natural=limit.natural).total_seconds()
        remaining_s = total
    else:
        total = case.clock_seconds or remaining_s
        deadline = _after(start, max(remaining_s, 0.0), limit.natural)
    case.clock, case.clock_seconds, case.deadline_at = str(clock), total, deadline
    warn_after = max(remaining_s - (1 - WARNING.yellow_ratio) * total, 0.0)
    case.yellow_at = _after(start, warn_after, limit.natural)
    case.alerted = ""
    return deadline


def _stop_clock(case: Case) -> None:
    case.clock, case.clock_seconds, case.deadline_at, case.yellow_at, case.alerted = "", None, None, None, ""


# -- events ------------------------------------------------------------------------------------------------


def centre_organisation_id() -> int | None:
    """The supervision and command centre that owns every case (``CITYOPS_GRID_CENTRE``, an org code)."""
    code = settings.CITYOPS_GRID_CENTRE
    return _cached(
        f"centre:{code}", lambda: Organisation.objects.filter(code=code).values_list("pk", flat=True).first()
    )


def _publish(case: Case, event_type: str, now: datetime | None = None) -> None:
    orgs = {case.department_id, centre_organisation_id()} - {None}
    publish("cases", event_type, case_feature(case, now), geom=case.geom, orgs=orgs)


# -- report ------------------------------------------------------------------------------------------------


@dataclass
class Report:
    """What a report carries, already parsed (position in WGS84)."""

    category_code: str
    position: GEOSGeometry
    description: str = ""
    address: str = ""
    channel: str = ""
    photos: list[Photo] = field(default_factory=list)
    reporter_contact: dict = field(default_factory=dict)

    def fingerprint(self, reporter_id: int | None = None) -> str:
        """Hash of the request's meaning (and who sent it): same key and fingerprint is the same report again."""
        body = {
            "reporter": reporter_id,
            "category_code": self.category_code.strip().upper(),
            "position": [round(self.position.x, 7), round(self.position.y, 7)],
            "description": self.description.strip(),
            "address": self.address.strip(),
            "channel": self.channel,
            "photos": [p.sha256 for p in self.photos],
            "contact": self.reporter_contact,
        }
        return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _channel_for(actor: User | None, requested: str, client: Open311Client | None) -> str:
    if client is not None:
        return Case.Channel.OPEN311
    if requested == Case.Channel.UPPER_PLATFORM and actor is None:  # a task sent down (exchange/), not a person
        return Case.Channel.UPPER_PLATFORM
    roles = workflow_roles(actor)
    default = Case.Channel.INSPECTOR if Role.INSPECTOR in roles else Case.Channel.HOTLINE
    channel = requested or default
    if channel not in (Case.Channel.INSPECTOR, Case.Channel.HOTLINE):
        raise InputError("channel", f"channel must be 'inspector' or 'hotline' (citizens use Open311), not {channel!r}")
    return channel


def _number(now: datetime, serial: int) -> str:
    return f"{timezone.localtime(now):%Y%m%d}{serial % 10**7:07d}"


def _existing(key: str, fingerprint: str) -> Case | None:
    case = Case.objects.filter(idempotency_key=key).first()
    if case is not None and case.request_hash != fingerprint:
        raise IdempotencyConflict(key, case)
    return case


def _new_case(actor, report, place, *, channel, stage, category, key, fingerprint, now, open311_client=None) -> Case:
    return Case(
        number=_number(now, place.serial),
        channel=channel,
        stage=stage,
        category=category,
        grid=place.grid,
        component=place.component,
        geom=report.position,
        address=report.address.strip()[:200],
        description=report.description.strip(),
        district_id=place.district_id,
        street_id=place.street_id,
        reporter=actor if actor is not None and actor.is_authenticated else None,
        reporter_contact=report.reporter_contact,
        open311_client=open311_client,
        idempotency_key=key or None,
        request_hash=fingerprint,
        reported_at=now,
        config_version_id=published_config_version_id(),
    )


def report_case(
    actor: User | None,
    report: Report,
    *,
    idempotency_key: str | None = None,
    open311_client: Open311Client | None = None,
    now: datetime | None = None,
) -> tuple[Case, bool]:
    """Create a case in ``reported`` (or return the one this idempotency key already created); (case, created).

    Raises InputError (category, location, channel), IdempotencyConflict, WorkflowError (role may not report).
    """
    fingerprint = report.fingerprint(actor.pk if actor is not None and actor.is_authenticated else None)
    roles = workflow_roles(actor)
    channel = _channel_for(actor, report.channel, open311_client)
    stage = workflow.initial_state(roles, channel)
    category = category_by_code(report.category_code)
    place = locate(report.position, category, number=True)
    now = now or timezone.now()
    try:
        # a resent report (same key) fails on the key's unique index and is answered below: no extra query
        # on the common path
        with transaction.atomic():
            case = _new_case(
                actor, report, place, channel=channel, stage=stage, category=category, key=idempotency_key,
                fingerprint=fingerprint, now=now, open311_client=open311_client,
            )  # fmt: skip
            case.save(force_insert=True)
            step = _record(case, "report", "", stage, actor, roles, now, position=report.position)
            case._prefetched_objects_cache = {"photos": _save_photos(case, step, report.photos)}
            _publish(case, "case.reported", now)
    except IntegrityError:
        if idempotency_key and (case := _existing(idempotency_key, fingerprint)) is not None:
            return case, False
        raise
    return case, True


BATCH_LIMIT = 500


@dataclass
class Filed:
    """One report of a batch: 201 created, 200 the same report again (its key), 400 bad input, 409 key reused."""

    status: int
    case: Case | None = None
    error: dict | None = None


def refused(exc: InputError) -> Filed:
    return Filed(400, error={"error": "invalid_input", "field": exc.field, "detail": exc.detail})


def _conflict(key: str, case: Case) -> Filed:
    detail = str(IdempotencyConflict(key, case))
    return Filed(409, case, {"error": "idempotency_conflict", "field": "idempotency_key", "detail": detail})


def report_cases(actor: User, reports: list[tuple[str, Report]], now: datetime | None = None) -> list[Filed]:
    """Report many cases at once (a hotline system's or a tablet's queue), each with its idempotency key.

    Each report stands alone: a bad one is answered with its error and the others are filed. The good ones are
    located in one query and written in one transaction (cases, their first steps, their events), so a batch
    costs a fraction of as many single reports. Photos go with single reports. Raises WorkflowError when the
    actor's roles may not report at all.
    """
    roles = workflow_roles(actor)
    now = now or timezone.now()
    results: list[Filed | None] = [None] * len(reports)
    pending: dict[str, int] = {}  # key → index of its first report in this batch
    parsed = {}  # index → (channel, stage, category, fingerprint)
    for i, (key, report) in enumerate(reports):
        try:
            channel = _channel_for(actor, report.channel, None)
            category = category_by_code(report.category_code)
        except InputError as exc:
            results[i] = refused(exc)
            continue
        parsed[i] = (channel, workflow.initial_state(roles, channel), category, report.fingerprint(actor.pk))
        pending.setdefault(key, i)
    for _attempt in range(2):  # once more if another request took one of the keys meanwhile
        try:
            _file_new(actor, roles, reports, parsed, pending, results, now)
            break
        except IntegrityError:
            if _attempt:
                raise
    for i, (key, _report) in enumerate(reports):  # a key sent twice in the batch: the second is the first again
        if results[i] is None:
            first = results[pending[key]]
            if first.case is None:
                results[i] = first
            elif first.case.request_hash == parsed[i][3]:
                results[i] = Filed(200, first.case)
            else:
                results[i] = _conflict(key, first.case)
    return results


def _file_new(actor, roles, reports, parsed, pending, results, now) -> None:
    """Answer the batch's keys seen before from their cases; locate and create the rest in one transaction."""
    known = Case.objects.filter(idempotency_key__in=list(pending)).select_related("category")
    for case in known:
        i = pending[case.idempotency_key]
        results[i] = Filed(200, case) if case.request_hash == parsed[i][3] else _conflict(case.idempotency_key, case)
    fresh = [i for i in pending.values() if results[i] is None]
    places = locate_many([(reports[i][1].position, parsed[i][2]) for i in fresh], number=True)
    created = []
    for i, place in zip(fresh, places, strict=True):
        key, report = reports[i]
        if place is None:
            point = report.position
            results[i] = refused(outside_city(point))
            continue
        channel, stage, category, fingerprint = parsed[i]
        case = _new_case(
            actor, report, place, channel=channel, stage=stage, category=category, key=key,
            fingerprint=fingerprint, now=now,
        )  # fmt: skip
        created.append((i, case))
    if not created:
        return
    with transaction.atomic():
        cases = Case.objects.bulk_create([case for _, case in created])
        steps = CaseTransition.objects.bulk_create(
            _transition(case, "report", "", case.stage, actor, roles, now, position=case.geom) for case in cases
        )
        case_steps_recorded.fire_in_transaction(CaseStepsRecorded(tuple(step.pk for step in steps)))
        orgs = {centre_organisation_id()} - {None}
        publish_many(
            "cases", [("case.reported", case_feature(case, now, photo_ids=[]), case.geom, orgs) for case in cases]
        )
    for (i, _), case in zip(created, cases, strict=True):
        results[i] = Filed(201, case)


def _transition(case, action, from_stage, to_stage, actor, roles, at, **extra) -> CaseTransition:
    return CaseTransition(
        case=case,
        at=at,
        action=action,
        from_stage=from_stage,
        to_stage=to_stage,
        actor=actor if actor is not None and actor.is_authenticated else None,
        actor_name=actor.display_name if actor and actor.is_authenticated else "",
        roles=sorted(roles),
        **extra,
    )


def _record(case, action, from_stage, to_stage, actor, roles, at, **extra) -> CaseTransition:
    step = _transition(case, action, from_stage, to_stage, actor, roles, at, **extra)
    step.save(force_insert=True)
    case_steps_recorded.fire_in_transaction(CaseStepsRecorded((step.pk,)))  # e.g. exchange/'s outbox row
    return step


def _save_photos(case: Case, step: CaseTransition, photos: list[Photo]) -> list[CasePhoto]:
    saved = []
    for photo in photos:
        row = CasePhoto(
            case=case, transition=step, content_type=photo.content_type, size=len(photo.content), sha256=photo.sha256
        )
        row.image.save(f"{photo.sha256[:16]}.{photo.extension}", ContentFile(photo.content), save=False)
        row.save()
        saved.append(row)
    return saved


def record_step(actor: User, case: Case, step: str, note: str, data: dict | None = None) -> CaseTransition:
    """A line in the case's history that moves no stage and no clock: a link another app made (``step`` one of
    ``selectors.STEP_LABELS`` besides the report, e.g. "escalated" to an incident). Published as case.updated."""
    if step == "report" or step not in STEP_LABELS:
        raise ValueError(f"not a step outside the workflow: {step!r}")
    now = timezone.now()
    with transaction.atomic():
        case = (
            Case.objects.select_for_update(of=("self",))
            .select_related("category", "grid", "reporter", "department", "component")
            .get(pk=case.pk)
        )
        recorded = _record(
            case, step, case.stage, case.stage, actor, workflow_roles(actor), now, note=note, data=data or {}
        )
        case.save(update_fields=["updated_at"])
        _publish(case, "case.updated", now)
    return recorded


# -- duplicates --------------------------------------------------------------------------------------------

MERGE_ROLES = frozenset({Role.CALL_TAKER, Role.GRID_DISPATCHER, Role.LEADER, Role.ADMIN})


class MergeRefused(Refusal):
    """A merge that cannot be: the same case, another category, or a case no longer open (409)."""

    code = "merge_refused"


def merge_case(actor: User, duplicate: Case, into: Case, note: str = "", now: datetime | None = None) -> Case:
    """Merge ``duplicate`` (a second report of the same problem) into ``into``: ``into`` stays and takes the
    duplicate's photos and its merged reports; the duplicate is voided (作废) with ``merged_into`` set. Both get a
    history line, both are published, and every reporter of both hears of it (notify). Returns ``into``.

    Raises Forbidden (not the centre), MergeRefused (itself, another category, not open)."""
    if not workflow_roles(actor) & MERGE_ROLES:
        raise Forbidden("only the supervision centre (call taker, dispatcher, leader) merges cases")
    if duplicate.pk == into.pk:
        raise MergeRefused(f"case {into.number} cannot be merged into itself")
    now = now or timezone.now()
    roles = workflow_roles(actor)
    with transaction.atomic():
        locked = {
            c.pk: c
            for c in Case.objects.select_for_update(of=("self",))
            .select_related("category", "grid", "reporter", "department", "component")
            .filter(pk__in=[duplicate.pk, into.pk])
            .order_by("pk")
        }
        duplicate, into = locked[duplicate.pk], locked[into.pk]
        for case in (duplicate, into):
            if case.stage in workflow.TERMINAL_STATES:
                raise MergeRefused(
                    f"case {case.number} is {workflow.STATE_LABELS[workflow.State(case.stage)]}, not open: "
                    "only open cases are merged",
                    case=case.number,
                )
        if duplicate.category_id != into.category_id:
            raise MergeRefused(
                f"case {duplicate.number} is {duplicate.category} and case {into.number} is {into.category}: "
                "only reports of the same category are merged",
                field="category_code",
            )
        before = duplicate.stage
        duplicate.stage, duplicate.voided_at, duplicate.merged_into = workflow.State.INVALID, now, into
        _stop_clock(duplicate)
        duplicate.save()
        Case.objects.filter(merged_into=duplicate).update(merged_into=into, updated_at=now)
        CasePhoto.objects.filter(case=duplicate).update(case=into)
        note = note.strip()
        _record(duplicate, "merged_into", before, duplicate.stage, actor, roles, now, note=note,
                data={"case_id": into.pk, "number": into.number})  # fmt: skip
        _record(into, "merged", into.stage, into.stage, actor, roles, now, note=note,
                data={"case_id": duplicate.pk, "number": duplicate.number})  # fmt: skip
        into.save(update_fields=["updated_at"])
        _publish(duplicate, "case.updated", now)
        _publish(into, "case.updated", now)
        _notify_merged(actor, duplicate, into)
    return into


def _notify_merged(actor: User, duplicate: Case, into: Case) -> None:
    """Tell everyone who reported either case (users in the app, citizens by SMS or e-mail) which case goes on."""
    reports = [into, duplicate, *into.merged_reports.exclude(pk=duplicate.pk).select_related("reporter")]
    users = [c.reporter for c in reports if c.reporter_id is not None]
    contacts = []
    for case in reports:
        address = (case.reporter_contact.get("phone") or case.reporter_contact.get("email") or "").strip()
        if address:
            contacts.append(notify.Contact(address, case.reporter_contact.get("name", "")))
    contacts = list(dict.fromkeys(contacts))
    if not users and not contacts:
        return
    channels = ["in_app"] * bool(users) + sorted({c.channel for c in contacts})
    notify.send(
        sender=actor,
        channels=channels,
        users=users,
        contacts=contacts,
        subject=f"案件 {duplicate.number} 已合并到 {into.number}",
        body=f"您反映的{into.category.name}问题（{into.address or '同一地点'}）与案件 {into.number} 为同一问题，"
        f"已合并办理，进展请查询案件 {into.number}。",
        about=notify.About("grid.case", str(into.pk), into.number),
        key=f"grid-merge-{duplicate.pk}",
    )


# -- call-backs (回访) -------------------------------------------------------------------------------------

CALLBACK_ROLES = MERGE_ROLES
PUBLIC_CHANNELS = frozenset({Case.Channel.HOTLINE, Case.Channel.OPEN311})  # a citizen reported it: call them back
CALLBACK_STAGES = frozenset({workflow.State.HANDLED, workflow.State.VERIFIED})  # after the department's feedback


class CallbackRequired(Refusal):
    """Closing a case whose reporter has not been called back (回访) yet (409)."""

    code = "callback_required"


def needs_callback(case: Case) -> bool:
    """A citizen reported it, or the case's version of its category requires a call-back (not today's category)."""
    return case.channel in PUBLIC_CHANNELS or case_limits(case).callback_required


def record_callback(
    actor: User, case: Case, result: str, satisfaction: str = "", note: str = "", now: datetime | None = None
) -> CaseCallback:
    """Record a call-back to the reporter of a handled case: the result, and the satisfaction when reached (the
    case's ``satisfaction``, which the KPIs count, is the last one given). A history line 回访 goes with it.

    Raises Forbidden (not the centre), InputError (result/satisfaction), Refusal 409 (not handled yet or closed)."""
    if not workflow_roles(actor) & CALLBACK_ROLES:
        raise Forbidden("call-backs are the supervision centre's (call taker, dispatcher, leader)")
    if result not in CaseCallback.Result.values:
        raise InputError("result", f"one of {', '.join(CaseCallback.Result.values)}, not {result!r}")
    reached = result == CaseCallback.Result.REACHED
    if reached and satisfaction not in CaseCallback.Satisfaction.values:
        raise InputError(
            "satisfaction", f"a reporter reached gives one of {', '.join(CaseCallback.Satisfaction.values)}"
        )
    if not reached and satisfaction:
        raise InputError("satisfaction", f"only a reporter reached gives a satisfaction (result {result!r})")
    now = now or timezone.now()
    with transaction.atomic():
        case = (
            Case.objects.select_for_update(of=("self",))
            .select_related("category", "grid", "reporter", "department", "component")
            .get(pk=case.pk)
        )
        if case.stage not in CALLBACK_STAGES:
            raise Refusal(
                f"case {case.number} is {workflow.STATE_LABELS[workflow.State(case.stage)]}: the reporter is called "
                "back after the department's feedback, before closing",
                stage=case.stage,
            )
        callback = CaseCallback.objects.create(
            case=case, at=now, result=result, satisfaction=satisfaction, note=note.strip(), by=actor,
            by_name=actor.display_name,
        )  # fmt: skip
        if reached:
            case.satisfaction = satisfaction
        case.save(update_fields=["satisfaction", "updated_at"])
        _record(case, "callback", case.stage, case.stage, actor, workflow_roles(actor), now, note=note.strip(),
                data={"result": result, "satisfaction": satisfaction})  # fmt: skip
        _publish(case, "case.updated", now)
    return callback


# -- transitions -------------------------------------------------------------------------------------------


@dataclass
class Step:
    """What an action brings besides its name (all optional; the workflow says which are required)."""

    note: str = ""
    photos: list[Photo] = field(default_factory=list)
    position: GEOSGeometry | None = None
    department: Organisation | None = None
    category_code: str = ""
    extension_hours: float | None = None
    inspector: User | None = None  # who confirms/checks; default: the reporting inspector or the grid's


def _field_inspector(case: Case) -> User | None:
    if case.reporter_id and case.reporter.has_role(Role.INSPECTOR):
        return case.reporter
    if case.grid_id:
        return case.grid.inspectors.order_by("pk").first()
    return None


def _check_field_inspector(case: Case, actor: User, action: str) -> None:
    """An inspector confirms and checks only cases of their grids or assigned to them."""
    assigned = case.confirmer_id if action == Action.SUBMIT_CONFIRMATION else case.checker_id
    if assigned == actor.pk or case.reporter_id == actor.pk:
        return
    if case.grid_id and case.grid.inspectors.filter(pk=actor.pk).exists():
        return
    if assigned is None and not (case.grid_id and case.grid.inspectors.exists()):
        return
    raise Forbidden(
        f"case {case.number} is in unit grid {case.grid.code if case.grid_id else '-'}, not one of your grids, "
        f"and is not assigned to you: '{action}' refused",
        action=action,
    )


def _context(case: Case, actor: User, step: Step, category: Category) -> dict:
    viewer = Viewer.for_user(actor)
    orgs = viewer.orgs_in(Domain.GRID)
    own = case.department_id is not None and (orgs is None or case.department_id in orgs)
    extension = step.extension_hours if step.extension_hours is not None else case.requested_extension_hours
    return {
        "photos": step.photos,
        "position": step.position,
        "category": category.code,
        "grid": case.grid.code if case.grid_id else None,
        "department": step.department.pk if step.department else None,
        "actor_department": case.department_id if own else actor.organisation_id,
        "case_department": case.department_id,
        "note": step.note,
        "extension": extension,
        "previous_state": case.previous_stage or None,
    }


def transition(actor: User, case: Case, action: str, step: Step | None = None, now: datetime | None = None) -> Case:
    """Perform ``action`` on ``case`` as ``actor``; raises WorkflowError (refused), InputError, Forbidden."""
    step = step or Step()
    now = now or timezone.now()
    roles = workflow_roles(actor)
    with transaction.atomic():
        case = (
            Case.objects.select_for_update(of=("self",))
            .select_related("category", "grid", "reporter", "department", "component")
            .get(pk=case.pk)
        )
        category = category_by_code(step.category_code) if step.category_code else case.category
        context = _context(case, actor, step, category)
        before = case.stage
        after = workflow.transition(before, action, roles, context)
        rule = workflow.rule_for(before, action)
        if action == Action.CLOSE and needs_callback(case) and not case.callbacks.exists():
            raise CallbackRequired(
                f"case {case.number} ({case.get_channel_display()}, {category.name}) needs a call-back to the "
                "reporter (回访: result and satisfaction) before it is closed",
                field="callback",
                missing=["callback"],
            )
        if action in (Action.SUBMIT_CONFIRMATION, Action.VERIFY_OK, Action.VERIFY_FAIL):
            _check_field_inspector(case, actor, action)
        if category != case.category:
            case.category = category
            case.component = locate(case.geom, category).component
        _apply(case, rule, action, step, now)
        case.stage = after
        case.save()
        data = {}
        if step.extension_hours is not None:
            data["extension_hours"] = step.extension_hours
        if step.category_code:
            data["category_code"] = category.code
        recorded = _record(
            case,
            action,
            before,
            after,
            actor,
            roles,
            now,
            note=step.note.strip(),
            position=step.position,
            department=step.department,
            data=data,
        )
        _save_photos(case, recorded, step.photos)
        _publish(case, "case.updated", now)
    return case


def _apply(case: Case, rule: workflow.Rule, action: str, step: Step, now: datetime) -> None:
    """Stage timestamps (kpi.CaseHistory) and clocks of one allowed transition."""
    if rule.pauses_all and case.deadline_at is not None:
        natural = stage_limit(case_limits(case), case.clock).natural
        case.paused_seconds = working_calendar().remaining(now, case.deadline_at, natural=natural).total_seconds()
        case.deadline_at = case.yellow_at = None
    if rule.resumes_all and case.clock:
        _run_clock(case, case.clock, now, remaining_s=case.paused_seconds or 0.0)
        case.paused_seconds = None
    for clock in rule.stops:
        if case.clock == clock:
            _stop_clock(case)
    for clock in rule.starts:
        deadline = _run_clock(case, clock, now)
        if clock == Clock.CONFIRMATION:
            case.confirmation_sent_at, case.confirmation_deadline = now, deadline
        elif clock == Clock.DISPATCH and case.dispatch_deadline is None:
            case.dispatch_deadline = deadline  # 按时派遣 is judged against the first dispatch clock
        elif clock == Clock.HANDLING:
            case.handling_deadline = deadline
        elif clock == Clock.VERIFICATION:
            case.verification_deadline = deadline
    if rule.extends and case.handling_deadline is not None:
        hours = step.extension_hours if step.extension_hours is not None else case.requested_extension_hours
        natural = stage_limit(case_limits(case), Clock.HANDLING).natural
        case.handling_deadline = _after(case.handling_deadline, hours * 3600, natural)
        remaining = working_calendar().remaining(now, case.handling_deadline, natural=natural).total_seconds()
        case.clock_seconds = (case.clock_seconds or 0) + hours * 3600
        _run_clock(case, Clock.HANDLING, now, remaining_s=remaining)
        case.postponed_count += 1
        case.requested_extension_hours = None
    match action:
        case Action.SEND_CONFIRMATION:
            case.confirmer = step.inspector or _field_inspector(case)
        case Action.SUBMIT_CONFIRMATION:
            case.confirmed_at = now
        case Action.FILE:
            case.filed_at = now
        case Action.REJECT:
            case.voided_at = now
            _stop_clock(case)
        case Action.DISPATCH:
            case.department = step.department
            case.dispatched_at = case.dispatched_at or now
        case Action.RETURN_TO_CENTER:
            case.returned_count += 1
        case Action.HANDLE:
            case.handled_at = now
            case.checker = step.inspector or _field_inspector(case)
        case Action.REQUEST_POSTPONEMENT:
            case.requested_extension_hours = step.extension_hours
            case.previous_stage = case.stage
        case Action.DENY_POSTPONEMENT:
            case.requested_extension_hours = None
        case Action.SUSPEND:
            case.previous_stage = case.stage
        case Action.VERIFY_OK:
            case.checked_at = now
        case Action.VERIFY_FAIL:
            case.checked_at = now
            case.rework_count += 1
        case Action.CLOSE:
            case.closed_at = now
            _stop_clock(case)


# -- overdue sweep -----------------------------------------------------------------------------------------


def sweep_overdue(now: datetime | None = None) -> dict:
    """Publish cases that turned yellow (case.updated) or red (case.overdue) since the last sweep, once each."""
    now = now or timezone.now()
    counts = {"yellow": 0, "red": 0}
    for level, due in (("red", {"deadline_at__lt": now}), ("yellow", {"yellow_at__lte": now, "deadline_at__gte": now})):
        pending = Case.objects.filter(**due).exclude(alerted=level)
        if level == "yellow":
            pending = pending.exclude(alerted="red")
        for pk in pending.values_list("pk", flat=True).iterator():
            with transaction.atomic():
                case = (
                    Case.objects.select_for_update(of=("self",))
                    .select_related("category", "grid", "reporter", "department", "component")
                    .get(pk=pk)
                )
                if timer_state(case, now) != level or case.alerted == level:
                    continue
                case.alerted = level
                case.save(update_fields=["alerted"])
                _publish(case, "case.overdue" if level == "red" else "case.updated", now)
                counts[level] += 1
    return counts


def unit_grids_for(user: User):
    return UnitGrid.objects.filter(inspectors=user)
