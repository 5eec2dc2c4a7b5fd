"""Read queries of duty: who is on duty, the roster, open hand-over items, the duty log and the daily report.

Row rule: a user reads the desks of the organisations whose incidents it sees (a command centre's people every
desk, an agency's people their agency's desk). A desk's log shows the events its organisation may see, and of
those only what the reader may see too.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import reduce
from operator import or_

from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from core.models import Domain, Event, User
from core.realtime import TOPIC_DOMAINS, TOPIC_ROLES, Viewer
from core.selectors import in_commanded_area, topic_visibility
from dispatch import selectors as dispatch_selectors
from dispatch.features import iso
from dispatch.models import Incident
from notify.models import Channel
from notify.selectors import visible_notifications

from .entries import OWN_DESK_TOPIC, SYSTEM_ENTRIES, line
from .models import Desk, DutyLogEntry, DutyRole, HandoverItem, RosterEntry, Shift, ShiftSession

# Desks whose people's phones the "on duty now" board shows: those the command centre calls.
COMMAND_KINDS = (Desk.Kind.COMMAND_CENTRE, Desk.Kind.LEADER)
MAX_LOG_ENTRIES = 2000
MAX_OPEN_INCIDENTS = 200


# -- who reads what -------------------------------------------------------------------------------------


def desk_viewer(desk: Desk) -> Viewer:
    """What a person of the desk's organisation would see (a desk without one: everything): the scope of the
    events in its duty log and of the open incidents it hands over."""
    if desk.organisation_id is None:
        return dispatch_selectors.CITY_WIDE
    member = User(organisation=desk.organisation)  # unsaved: only its organisation counts, as for a new colleague
    member.set_role_names(())
    return Viewer.for_user(member)


def visible_desks(user: User):
    """The desks a user may read: every desk for a command centre (and an admin), else its organisations' desks."""
    viewer = Viewer.for_user(user)
    orgs = viewer.orgs_in(Domain.DISPATCH)
    desks = Desk.objects.select_related("organisation")
    return desks if orgs is None else desks.filter(organisation_id__in=sorted(orgs))


# -- shifts and who is on duty --------------------------------------------------------------------------


def shift_at(desk: Desk, at: datetime) -> tuple[Shift, date] | None:
    """The desk's shift (and the date it began) that covers the moment `at`; None between shifts."""
    local = timezone.localtime(at)
    for day in (local.date(), local.date() - timedelta(days=1)):
        for shift in desk.shifts.all():
            start, end = shift.window(day)
            if start <= at < end:
                return shift, day
    return None


@dataclass(frozen=True)
class OnDuty:
    """One person on duty: at which desk, on which shift of which date, in which role, and whether signed on."""

    user: User
    desk: Desk
    shift: Shift
    date: date
    role: str
    signed_on: bool


def on_duty(
    desk_kind: str | None = None, organisation=None, at: datetime | None = None, role: str | None = None
) -> list[OnDuty]:
    """Who is on duty at `at` (default: now), by the roster, for the notification and plan code to resolve duty
    posts into people.

    - ``desk_kind``: a ``Desk.Kind`` value ("command_centre", "leader", "110", "119", "120", "122",
      "city_management"); None: every kind.
    - ``organisation``: an ``Organisation`` or its id, to pick one organisation's desks; None: any.
    - ``role``: a ``DutyRole`` value ("leader_on_duty", "duty_officer", "desk_officer"); None: any.

    Examples: the leader on duty is ``on_duty(role="leader_on_duty")``, the 119 desk officer
    ``on_duty(desk_kind="119")``. The roster is the plan; ``signed_on`` says whether that person actually signed
    on to the shift, and people who signed on come first. An empty list means nobody is rostered then.
    """
    at = at or timezone.now()
    desks = Desk.objects.select_related("organisation").prefetch_related("shifts")
    if desk_kind is not None:
        desks = desks.filter(kind=desk_kind)
    if organisation is not None:
        desks = desks.filter(organisation=organisation)
    return sorted(_rostered(desks, at, role), key=lambda d: (d.desk.order, d.desk.code, *_on_shift_order(d)))


def _on_shift_order(d: OnDuty) -> tuple:
    return (not d.signed_on, d.role, d.user.username)


def _rostered(desks, at: datetime, role: str | None = None) -> list[OnDuty]:
    """The people rostered on each desk's shift covering `at` (desks with their shifts prefetched), whether they
    signed on: two queries whatever the number of desks."""
    slots = {desk.pk: (desk, *current) for desk in desks if (current := shift_at(desk, at)) is not None}
    if not slots:
        return []
    match = reduce(or_, (Q(desk_id=pk, date=day, shift_id=shift.pk) for pk, (_, shift, day) in slots.items()))
    entries = RosterEntry.objects.filter(match).select_related("user")
    if role is not None:
        entries = entries.filter(role=role)
    signers = dict(ShiftSession.objects.filter(match).values_list("desk_id", "signed_on_by"))
    return [OnDuty(e.user, *slots[e.desk_id], e.role, e.user_id == signers.get(e.desk_id)) for e in entries]


def person(user: User | None, with_phone: bool = False) -> dict | None:
    if user is None:
        return None
    shown = {"id": user.pk, "username": user.username, "name": user.display_name}
    if with_phone:
        shown["phone"] = user.phone
    return shown


def shift_json(shift: Shift, day: date) -> dict:
    start, end = shift.window(day)
    return {"id": shift.pk, "code": shift.code, "name": shift.name, "date": day.isoformat(), "start": iso(start),
            "end": iso(end)}  # fmt: skip


def desk_json(desk: Desk) -> dict:
    return {
        "id": desk.pk,
        "code": desk.code,
        "name": desk.name,
        "kind": desk.kind,
        "kind_label": str(Desk.Kind(desk.kind).label),
        "organisation": desk.organisation.name if desk.organisation_id else None,
    }


def session_json(session: ShiftSession | None) -> dict | None:
    if session is None:
        return None
    return {
        "id": session.pk,
        "desk_id": session.desk_id,
        "shift": shift_json(session.shift, session.date),
        "signed_on_by": person(session.signed_on_by),
        "signed_on_at": iso(session.signed_on_at),
        "handed_over_at": iso(session.handed_over_at),
        "handed_over_to": person(session.handed_over_to),
        "notes": session.notes,
    }


def open_session(desk: Desk) -> ShiftSession | None:
    """The desk's shift that signed on and has not handed over yet (at most one)."""
    return (
        ShiftSession.objects.filter(desk=desk, handed_over_at__isnull=True)
        .select_related("shift", "signed_on_by", "handed_over_to")
        .first()
    )


def now_board(user: User, at: datetime | None = None) -> list[dict]:
    """GET /api/duty/now/: per desk the user may read, the current shift, who is rostered (phones for the command
    centre's desks), who signed on, and the open session with its open items."""
    at = at or timezone.now()
    desks = list(visible_desks(user).prefetch_related("shifts"))
    people: dict[int, list[OnDuty]] = {}
    for d in sorted(_rostered(desks, at), key=_on_shift_order):
        people.setdefault(d.desk.pk, []).append(d)
    sessions = {
        s.desk_id: s
        for s in ShiftSession.objects.filter(desk__in=desks, handed_over_at__isnull=True).select_related(
            "shift", "signed_on_by", "handed_over_to"
        )
    }
    items: dict[int, list[HandoverItem]] = {}
    for item in _open_items(desk__in=desks):
        items.setdefault(item.desk_id, []).append(item)
    board = []
    for desk in desks:
        current = shift_at(desk, at)
        board.append(
            {
                **desk_json(desk),
                "shift": shift_json(*current) if current else None,
                "on_duty": [
                    {
                        **person(d.user, with_phone=desk.kind in COMMAND_KINDS),
                        "role": d.role,
                        "role_label": str(DutyRole(d.role).label),
                        "signed_on": d.signed_on,
                    }
                    for d in people.get(desk.pk, [])
                ],
                "session": session_json(sessions.get(desk.pk)),
                "open_items": [item_json(i) for i in items.get(desk.pk, [])],
            }
        )
    return board


def roster_of(user: User, day: date) -> list[dict]:
    """The roster of one date: per readable desk, per shift, the people and their roles."""
    desks = list(visible_desks(user).prefetch_related("shifts"))
    entries = RosterEntry.objects.filter(date=day, desk__in=desks).select_related("user")
    by_slot: dict[tuple[int, int], list[dict]] = {}
    for entry in entries:
        by_slot.setdefault((entry.desk_id, entry.shift_id), []).append(
            {**person(entry.user), "role": entry.role, "role_label": str(DutyRole(entry.role).label)}
        )
    return [
        {
            **desk_json(desk),
            "shifts": [
                {**shift_json(shift, day), "people": by_slot.get((desk.pk, shift.pk), [])}
                for shift in desk.shifts.all()
            ],
        }
        for desk in desks
    ]


# -- hand-over items ------------------------------------------------------------------------------------


def _open_items(**desks):
    return (
        HandoverItem.objects.filter(state=HandoverItem.State.OPEN, **desks)
        .select_related("created_by")
        .annotate(shift_count=Count("sessions"))
        .order_by("created_at", "id")  # Meta.ordering is dropped from a query with an aggregate
    )


def open_items(desk: Desk):
    """The desk's open hand-over items, each with how many shifts it was on (shift_count)."""
    return _open_items(desk=desk)


def item_json(item: HandoverItem) -> dict:
    return {
        "id": item.pk,
        "desk_id": item.desk_id,
        "text": item.text,
        "ref": {"app": item.ref_app, "id": item.ref_id, "number": item.ref_number, "label": item.ref_label}
        if item.ref_app
        else None,
        "state": item.state,
        "state_label": str(HandoverItem.State(item.state).label),
        "created_by": person(item.created_by),
        "created_at": iso(item.created_at),
        "done_at": iso(item.done_at),
        "shifts": item.shift_count if hasattr(item, "shift_count") else item.sessions.count(),
    }


def open_incidents(desk: Desk) -> list[Incident]:
    """The open incidents of the desk's agencies (dispatch's rule for a person of its organisation)."""
    rows = dispatch_selectors.incidents_for(desk_viewer(desk)).filter(status__in=dispatch_selectors.OPEN_STATUSES)
    return list(rows.order_by("priority", "call_received_at")[:MAX_OPEN_INCIDENTS])


def incident_ref(incident: Incident) -> dict:
    """An incident as a hand-over item's reference."""
    label = f"{incident.incident_type.name} {incident.address}".strip()
    return {"app": "dispatch", "id": str(incident.pk), "number": incident.number, "label": label[:200]}


def incidents_to_carry(desk: Desk, items) -> list[dict]:
    """The references of the desk's open incidents not yet among its open `items`: they become items at the
    hand-over."""
    listed = {item.ref_id for item in items if item.ref_app == "dispatch"}
    return [incident_ref(i) for i in open_incidents(desk) if str(i.pk) not in listed]


def handover_preview(desk: Desk) -> dict:
    """What a hand-over of the desk would carry: its open items, and the open incidents not yet among them."""
    items = list(open_items(desk))
    return {"items": [item_json(i) for i in items], "incidents": incidents_to_carry(desk, items)}


# -- the duty log ---------------------------------------------------------------------------------------


def _event_scope(viewer: Viewer) -> Q:
    """The event log rows of the declared types a viewer may see: core.selectors.events_after's rule by topic and
    organisation, and its commanded area where it has one."""
    scope = Q(pk__in=[])
    for topic in sorted(TOPIC_ROLES):
        domain = TOPIC_DOMAINS.get(topic)
        rule = topic_visibility(viewer, topic)
        if domain is not None and viewer.area_in(domain) is not None:
            rule &= Q(geom__isnull=True) | in_commanded_area(viewer, domain)
        scope |= rule
    return scope


def log_entries(
    user: User, desk: Desk, start: datetime, end: datetime, *, major_only: bool = False, reader: Viewer | None = None
) -> list[dict]:
    """The desk's duty log in [start, end): people's entries and the system's (from the event log, of the types in
    duty.entries.SYSTEM_ENTRIES, that both the desk and the reader may see), in time order. `reader`: the user's
    Viewer when the caller has it already."""
    reader = reader or Viewer.for_user(user)
    scope = desk_viewer(desk)
    people = DutyLogEntry.objects.filter(desk=desk, at__gte=start, at__lt=end).select_related("author")
    if major_only:
        people = people.filter(kind=DutyLogEntry.Kind.MAJOR)
    types = [t for t, entry in SYSTEM_ENTRIES.items() if entry.major or not major_only]
    events = (
        Event.objects.filter(type__in=types, at__gte=start, at__lt=end, topic__in=sorted(reader.allowed_topics()))
        .filter(_event_scope(scope))
        .filter(_event_scope(reader))
        .exclude(Q(topic=OWN_DESK_TOPIC) & ~Q(data__properties__desk_id=desk.pk))
        .order_by("seq")
    )
    rows = [
        {
            "source": "person",
            "id": entry.pk,
            "at": iso(entry.at),
            "kind": entry.kind,
            "major": entry.kind == DutyLogEntry.Kind.MAJOR,
            "text": entry.text,
            "author": person(entry.author),
        }
        for entry in people[:MAX_LOG_ENTRIES]
    ]
    rows += _notification_rows(user, scope, start, end)
    rows += [
        {
            "source": "system",
            "id": f"event-{event.seq}",
            "at": iso(event.at),
            "kind": "major" if SYSTEM_ENTRIES[event.type].major else "routine",
            "major": SYSTEM_ENTRIES[event.type].major,
            "text": line(event.type, event.data.get("properties") or {}),
            "event_type": event.type,
            "author": None,
        }
        for event in events[:MAX_LOG_ENTRIES]
    ]
    return sorted(rows, key=lambda row: row["at"])


def _notification_rows(user: User, scope: Viewer, start: datetime, end: datetime) -> list[dict]:
    """信息发布 in the duty log: each notification sent in the window by the desk's organisation (a command centre's
    desk: by anyone) that the reader may see, with its reach and whether it was acknowledged (大事记)."""
    sent = visible_notifications(user).filter(created_at__gte=start, created_at__lt=end)
    orgs = scope.orgs_in(Domain.DISPATCH)
    if orgs is not None:
        sent = sent.filter(sender_org_id__in=sorted(orgs))
    sent = sent.annotate(reach=Count("deliveries__address", distinct=True)).order_by("created_at")
    return [
        {
            "source": "system",
            "id": f"notification-{n.pk}",
            "at": iso(n.created_at),
            "kind": "major",
            "major": True,
            "text": _("Notification sent: %(subject)s (%(channels)s, %(reach)d recipients)%(ack)s")
            % {
                "subject": n.subject,
                "channels": "、".join(str(Channel(c).label) for c in n.channels),
                "reach": n.reach,
                "ack": _(", acknowledged %(at)s") % {"at": f"{timezone.localtime(n.acknowledged_at):%H:%M}"}
                if n.acknowledged_at
                else "",
            },
            "event_type": "notification",
            "author": person(n.sender),
        }
        for n in sent[:MAX_LOG_ENTRIES]
    ]


def current_window(desk: Desk, at: datetime | None = None) -> tuple[datetime, datetime]:
    """The shift covering `at` (default now); between shifts, the last twelve hours."""
    at = at or timezone.now()
    current = shift_at(desk, at)
    return current[0].window(current[1]) if current else (at - timedelta(hours=12), at)


def duty_day(day: date) -> tuple[datetime, datetime]:
    """The duty day of a date: from the earliest start of that date's shifts to the latest end (08:00 to 08:00
    with the default shifts); the calendar day if no desk has shifts."""
    windows = [shift.window(day) for shift in Shift.objects.all()]
    if not windows:
        zone = timezone.get_default_timezone()
        start = timezone.make_aware(datetime.combine(day, datetime.min.time()), zone)
        return start, start + timedelta(days=1)
    return min(w[0] for w in windows), max(w[1] for w in windows)


def duty_date(at: datetime | None = None) -> date:
    """The date whose duty day covers `at` (default now): at 02:00 the night shift is still the previous date's,
    so its 大事记 are in that date's report."""
    at = at or timezone.now()
    day = timezone.localdate(at)
    return day - timedelta(days=1) if at < duty_day(day)[0] else day


# -- the daily duty report ------------------------------------------------------------------------------


def daily_report(user: User, day: date) -> dict:
    """值班日报 of one date for a reader: per desk its shifts (rostered, signed on, handed over, notes), the day's
    大事记 (people's and the system's, of every readable desk, once each), and the incidents opened and closed."""
    start, end = duty_day(day)
    desks = list(visible_desks(user).prefetch_related("shifts"))
    sessions = {
        (s.desk_id, s.shift_id): s
        for s in ShiftSession.objects.filter(date=day, desk__in=desks)
        .select_related("shift", "signed_on_by", "handed_over_to")
        .annotate(carried=Count("items"))
    }
    roster: dict[tuple[int, int], list[RosterEntry]] = {}
    for entry in RosterEntry.objects.filter(date=day, desk__in=desks).select_related("user"):
        roster.setdefault((entry.desk_id, entry.shift_id), []).append(entry)
    reader = Viewer.for_user(user)
    desk_rows = []
    major: dict[str, dict] = {}
    for desk in desks:
        shifts = []
        for shift in desk.shifts.all():
            session = sessions.get((desk.pk, shift.pk))
            window = shift.window(day)
            shifts.append(
                {
                    "shift": shift,
                    "start": timezone.localtime(window[0]),
                    "end": timezone.localtime(window[1]),
                    "people": [
                        {"name": e.user.display_name, "role": DutyRole(e.role).label}
                        for e in roster.get((desk.pk, shift.pk), [])
                    ],
                    "session": session,
                    "carried": session.carried if session else 0,
                }
            )
        desk_rows.append({"desk": desk, "shifts": shifts})
        for row in log_entries(user, desk, start, end, major_only=True, reader=reader):
            key = row["id"] if row["source"] == "system" else f"{desk.pk}-{row['id']}"
            major.setdefault(key, {**row, "desk": desk.name})
    incidents = dispatch_selectors.incidents_for(reader)
    return {
        "date": day,
        "start": timezone.localtime(start),
        "end": timezone.localtime(end),
        "desks": desk_rows,
        "major": sorted(major.values(), key=lambda row: row["at"]),
        "opened": list(incidents.filter(created_at__gte=start, created_at__lt=end).order_by("created_at")),
        "closed": list(incidents.filter(closed_at__gte=start, closed_at__lt=end).order_by("closed_at")),
        "generated_at": timezone.localtime(),
    }
