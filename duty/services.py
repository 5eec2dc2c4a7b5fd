"""State changes of duty, each audited and published (topic "duty") in its own transaction: roster import,
sign-on, hand-over, hand-over items and the duty log entries people write.

Every function takes the acting user first and raises core.errors.InputError (bad input, a 400 naming the field)
or Refusal/Forbidden (the state refuses it) before changing anything.
"""

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import Forbidden, InputError, Refusal
from core.events import publish
from core.models import Role, User
from core.services import record_audit

from . import selectors
from .models import Desk, DutyLogEntry, DutyRole, HandoverItem, RosterEntry, Shift, ShiftSession

ROSTER_COLUMNS = ("desk", "date", "shift", "username", "role")
MAX_ROSTER_ROWS = 20_000
# Signing on is allowed this long before the shift starts (the incoming officer arrives early).
EARLY_SIGN_ON = timedelta(hours=1)


class RosterRejected(Refusal):
    """A roster file with bad rows: a 400 listing every bad row by line number; nothing was stored."""

    status = 400
    code = "invalid_input"


def _orgs(desk: Desk) -> list[int]:
    return [desk.organisation_id] if desk.organisation_id else []


def _feature(desk: Desk, at: datetime, **properties) -> dict:
    props = {"desk_id": desk.pk, "desk": desk.name, "at": timezone.localtime(at).isoformat(), **properties}
    return {"type": "Feature", "geometry": None, "properties": props}


# -- roster ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RosterRow:
    line: int
    desk: Desk
    day: date
    shift: Shift
    user: User
    role: str


def decode_roster(raw: bytes) -> str:
    """The text of a roster file in UTF-8 (with or without BOM) or GB18030; InputError otherwise."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise InputError("file", _("the roster file is neither UTF-8 nor GB18030 text"))
    if "\x00" in text:
        raise InputError("file", _("the roster file is not text"))
    return text


def parse_roster(text: str) -> list[RosterRow]:
    """Rows of a roster CSV (header: desk,date,shift,username,role); RosterRejected listing every bad line."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [name.strip() for name in reader.fieldnames or []]
    missing = [column for column in ROSTER_COLUMNS if column not in header]
    if missing:
        raise RosterRejected(
            _("The roster file needs the columns %(columns)s; missing: %(missing)s")
            % {"columns": ",".join(ROSTER_COLUMNS), "missing": ",".join(missing)},
            field="file",
            errors=[{"line": 1, "field": column, "detail": _("missing column")} for column in missing],
        )
    desks = {desk.code: desk for desk in Desk.objects.all()}
    shifts = {(s.desk_id, s.code): s for s in Shift.objects.all()}
    roles = {value: value for value in DutyRole.values} | {str(label): value for value, label in DutyRole.choices}
    raw_rows = list(reader)
    if len(raw_rows) > MAX_ROSTER_ROWS:
        raise InputError("file", _("at most %(n)d rows per file") % {"n": MAX_ROSTER_ROWS})
    users = {
        u.username: u for u in User.objects.filter(username__in=[(r.get("username") or "").strip() for r in raw_rows])
    }
    rows, errors, seen = [], [], set()
    for number, raw in enumerate(raw_rows, start=2):
        values = {key.strip(): (value or "").strip() for key, value in raw.items() if key}

        def bad(field: str, detail: str, number=number):
            errors.append({"line": number, "field": field, "detail": detail})

        desk = desks.get(values.get("desk", ""))
        if desk is None:
            bad("desk", _("unknown desk %(code)r") % {"code": values.get("desk", "")})
        try:
            day = date.fromisoformat(values.get("date", ""))
        except ValueError:
            day = None
            bad("date", _("not a date (YYYY-MM-DD): %(value)r") % {"value": values.get("date", "")})
        shift = shifts.get((desk.pk, values.get("shift", ""))) if desk else None
        if desk is not None and shift is None:
            bad(
                "shift", _("desk %(desk)s has no shift %(code)r") % {"desk": desk.code, "code": values.get("shift", "")}
            )
        user = users.get(values.get("username", ""))
        if user is None or not user.is_active:
            bad("username", _("no active user %(name)r") % {"name": values.get("username", "")})
        role = roles.get(values.get("role", ""))
        if role is None:
            bad("role", _("unknown role %(role)r; use one of %(roles)s")
                % {"role": values.get("role", ""), "roles": ", ".join(DutyRole.values)})  # fmt: skip
        if None in (desk, day, shift, user, role):
            continue
        if (desk.pk, day, shift.pk, user.pk) in seen:
            bad("username", _("%(name)s is twice on this shift") % {"name": user.username})
            continue
        seen.add((desk.pk, day, shift.pk, user.pk))
        rows.append(RosterRow(number, desk, day, shift, user, role))
    if errors:
        raise RosterRejected(
            _("%(n)d bad rows; nothing was imported") % {"n": len({e["line"] for e in errors})},
            field="file",
            errors=errors[:500],
        )
    return rows


def import_roster(actor: User | None, text: str) -> dict:
    """Import a roster CSV all or nothing. Each (desk, date, shift) in the file gets exactly the file's people:
    importing a corrected week again replaces those shifts and leaves the others alone."""
    rows = parse_roster(text)
    if not rows:
        raise InputError("file", _("the roster file has no rows"))
    slots = {(row.desk.pk, row.day, row.shift.pk) for row in rows}
    with transaction.atomic():
        candidates = RosterEntry.objects.filter(
            date__in={day for _, day, _ in slots}, shift_id__in={shift_id for *_, shift_id in slots}
        ).values_list("pk", "desk_id", "date", "shift_id")
        RosterEntry.objects.filter(pk__in=[pk for pk, *slot in candidates if tuple(slot) in slots]).delete()
        RosterEntry.objects.bulk_create(
            RosterEntry(desk=row.desk, date=row.day, shift=row.shift, user=row.user, role=row.role) for row in rows
        )
        record_audit(actor, "duty.roster_imported", RosterEntry, f"{len(rows)} roster rows, {len(slots)} shifts")
    return {"rows": len(rows), "shifts": len(slots)}


# -- sign-on and hand-over ------------------------------------------------------------------------------


def sign_on(actor: User, desk: Desk, *, user: User | None = None, at: datetime | None = None) -> ShiftSession:
    """The rostered person signs on to the desk's current shift (an admin may sign on a rostered person).

    The shift is the one covering `at` (default now), or the next one if it starts within an hour. Refused: a
    person not on that shift's roster (403), a shift already signed on, or a desk whose previous shift has not
    handed over (409). The desk's open hand-over items join the new shift, and the previous shift records who
    took over."""
    at = at or timezone.now()
    user = user or actor
    if user.pk != actor.pk and not actor.has_role(Role.ADMIN):
        raise Forbidden(_("Only an administrator may sign on someone else."))
    current = selectors.shift_at(desk, at) or selectors.shift_at(desk, at + EARLY_SIGN_ON)
    if current is None:
        raise Refusal(_("Desk %(desk)s has no shift at this time.") % {"desk": desk.name})
    shift, day = current
    if not RosterEntry.objects.filter(desk=desk, date=day, shift=shift, user=user).exists():
        raise Forbidden(
            _("%(name)s is not on the roster of %(desk)s for %(shift)s on %(date)s and cannot sign on.")
            % {"name": user.display_name, "desk": desk.name, "shift": shift.name, "date": day.isoformat()}
        )
    with transaction.atomic():
        previous = ShiftSession.objects.select_for_update().filter(desk=desk).order_by("-signed_on_at").first()
        if previous is not None and previous.date == day and previous.shift_id == shift.pk:
            raise Refusal(_("%(name)s already signed on to this shift.") % {"name": previous.signed_on_by.display_name})
        if previous is not None and previous.handed_over_at is None:
            raise Refusal(
                _("The previous shift (%(name)s) has not handed over yet.")
                % {"name": previous.signed_on_by.display_name}
            )
        try:
            with transaction.atomic():
                session = ShiftSession.objects.create(
                    desk=desk, date=day, shift=shift, signed_on_by=user, signed_on_at=at
                )
        except IntegrityError:
            raise Refusal(_("This shift was signed on a moment ago.")) from None
        if previous is not None:
            previous.handed_over_to = user
            previous.save(update_fields=["handed_over_to"])
        session.items.add(*selectors.open_items(desk))
        record_audit(actor, "duty.signed_on", session, f"{desk.code} {day} {shift.code} {user.username}")
        publish(
            "duty", "duty.signed_on",
            _feature(desk, at, session_id=session.pk, user=user.display_name, shift=shift.name),
            orgs=_orgs(desk),
        )  # fmt: skip
    return session


def hand_over(actor: User, session: ShiftSession, *, confirmed_item_ids, notes: str = "", at=None) -> ShiftSession:
    """The outgoing officer hands the shift over, confirming the desk's open items by id (all of them: a list that
    differs from the open items, e.g. one added meanwhile, is refused with the current list). The open incidents of
    the desk's agencies become open items too; all of them carry across to the incoming shift when it signs on."""
    at = at or timezone.now()
    if actor.pk != session.signed_on_by_id and not actor.has_role(Role.ADMIN):
        raise Forbidden(_("Only the officer who signed on (or an administrator) may hand this shift over."))
    with transaction.atomic():
        session = ShiftSession.objects.select_for_update().get(pk=session.pk)
        if session.handed_over_at is not None:
            raise Refusal(_("This shift was already handed over."))
        open_now = list(selectors.open_items(session.desk))
        if {str(i) for i in confirmed_item_ids} != {str(item.pk) for item in open_now}:
            raise Refusal(
                _("Confirm every open item before handing over; the open items have changed."),
                field="confirmed_item_ids",
                items=[selectors.item_json(item) for item in open_now],
            )
        carried = HandoverItem.objects.bulk_create(
            HandoverItem(
                desk=session.desk,
                text=_("Open incident %(number)s: %(label)s") % {"number": ref["number"], "label": ref["label"]},
                ref_app=ref["app"],
                ref_id=ref["id"],
                ref_number=ref["number"],
                ref_label=ref["label"],
                created_by=actor,
                created_at=at,
            )
            for ref in selectors.incidents_to_carry(session.desk, open_now)
        )
        session.items.add(*carried)
        session.handed_over_at = at
        session.notes = notes
        session.save(update_fields=["handed_over_at", "notes"])
        count = selectors.open_items(session.desk).count()
        record_audit(actor, "duty.handed_over", session, f"{session.desk.code} {count} open items")
        publish(
            "duty", "duty.handed_over",
            _feature(session.desk, at, session_id=session.pk, user=session.signed_on_by.display_name,
                     shift=session.shift.name, open_items=count),
            orgs=_orgs(session.desk),
        )  # fmt: skip
    return session


# -- hand-over items and the duty log -------------------------------------------------------------------


def add_item(actor: User, desk: Desk, text: str, ref: dict | None = None) -> HandoverItem:
    """An open item of the desk (交接事项), on its open shift if there is one; `ref` = {app, id, number, label}."""
    ref = ref or {}
    at = timezone.now()
    with transaction.atomic():
        try:
            with transaction.atomic():
                item = HandoverItem.objects.create(
                    desk=desk, text=text, created_by=actor, created_at=at,
                    ref_app=ref.get("app", ""), ref_id=str(ref.get("id", "")), ref_number=ref.get("number", ""),
                    ref_label=ref.get("label", ""),
                )  # fmt: skip
        except IntegrityError:
            raise Refusal(_("This object is already an open item of the desk."), field="ref") from None
        session = selectors.open_session(desk)
        if session is not None:
            item.sessions.add(session)
        record_audit(actor, "duty.item_added", item, text[:200])
        publish("duty", "duty.item_updated", _feature(desk, at, id=item.pk, text=text, state=item.state),
                orgs=_orgs(desk))  # fmt: skip
    return item


def close_item(actor: User, item: HandoverItem) -> HandoverItem:
    """Mark an open item done; it stops carrying over."""
    at = timezone.now()
    with transaction.atomic():
        item = HandoverItem.objects.select_for_update().select_related("desk").get(pk=item.pk)
        if item.state == HandoverItem.State.DONE:
            raise Refusal(_("This item is already done."))
        item.state, item.done_at, item.done_by = HandoverItem.State.DONE, at, actor
        item.save(update_fields=["state", "done_at", "done_by"])
        record_audit(actor, "duty.item_done", item, item.text[:200])
        publish("duty", "duty.item_updated", _feature(item.desk, at, id=item.pk, text=item.text, state=item.state),
                orgs=_orgs(item.desk))  # fmt: skip
    return item


def add_log_entry(actor: User, desk: Desk, text: str, kind: str, at: datetime | None = None) -> DutyLogEntry:
    """A person's duty log entry (大事记 when kind is "major"), on the desk's open shift if there is one; `at`
    (default now) may be earlier, for something noted afterwards, but not in the future."""
    now = timezone.now()
    at = at or now
    if at > now + timedelta(minutes=1):
        raise InputError("at", _("the time of an entry cannot be in the future"))
    with transaction.atomic():
        entry = DutyLogEntry.objects.create(
            desk=desk, session=selectors.open_session(desk), at=at, kind=kind, text=text, author=actor
        )
        record_audit(actor, "duty.log_added", entry, text[:200])
        publish("duty", "duty.log_added", _feature(desk, at, id=entry.pk, kind=kind, text=text), orgs=_orgs(desk))
    return entry
