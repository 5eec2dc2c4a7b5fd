"""State changes of incidents: calls, incidents, their assignments, statuses and linked agencies (each change one
transaction, published as it commits).

GPS positions and terminals are in ``tracks``; the AVL rules that move assignments and raise alarms in ``alarms``.
"""

from datetime import datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core import hooks
from core.errors import InputError, Refusal
from core.events import publish
from core.hooks import IncidentOpened
from core.models import User
from core.selectors import city_boundary
from core.services import record_audit

from . import selectors
from .features import incident_feature, unit_feature
from .models import Assignment, Call, Incident, IncidentType, TimelineEntry, Vehicle

DUPLICATE_RADIUS_M = 300.0
DUPLICATE_WINDOW = timedelta(minutes=30)
CALL_TIME_TOLERANCE = timedelta(minutes=1)  # a call-taker's clock may run slightly ahead
INCIDENT_ORDER = list(Incident.Status.values)
ASSIGNMENT_ORDER = list(Assignment.Status.values)
# What a unit's status becomes when its assignment reaches each state.
UNIT_STATUS_FOR = {
    Assignment.Status.DISPATCHED: Vehicle.Status.DISPATCHED,
    Assignment.Status.EN_ROUTE: Vehicle.Status.EN_ROUTE,
    Assignment.Status.ON_SCENE: Vehicle.Status.ON_SCENE,
    Assignment.Status.RETURNING: Vehicle.Status.RETURNING,
    Assignment.Status.CLEARED: Vehicle.Status.AVAILABLE,
}
# The incident follows its most advanced unit, up to on scene; the rest is the commander's call.
INCIDENT_STATUS_FOR = {
    Assignment.Status.EN_ROUTE: Incident.Status.EN_ROUTE,
    Assignment.Status.ON_SCENE: Incident.Status.ON_SCENE,
}


class PossibleDuplicate(Refusal):
    """Open incidents that look like the same event; the call taker decides (confirm_new or same_as)."""

    code = "possible_duplicate"

    def __init__(self, duplicates: list[Incident]):
        super().__init__(
            "an open incident nearby looks like the same event; "
            "send same_as=<id> to attach the call, or confirm_new=true",
            duplicates=[incident_feature(incident) for incident in duplicates],
        )


def _actor(user) -> User | None:
    return user if user is not None and user.is_authenticated else None


def _record_call(incident: Incident, user, caller_number: str, received: datetime, description: str) -> None:
    """The call as the call taker took it (the first of a new incident, or a repeat call about an open one)."""
    Call.objects.create(
        incident=incident,
        caller_number=caller_number,
        received_at=received,
        description=description,
        taken_by=_actor(user),
    )


def _note(incident: Incident, type_: str, text: str, user=None, at=None) -> None:
    """One timeline line: its type says what happened (translated when read), ``text`` the particulars."""
    TimelineEntry.objects.create(
        incident=incident, at=at or timezone.now(), type=type_, text=text[:255], actor=_actor(user)
    )


def _publish_incident(incident_id: int, type_: str, extra_agencies=()) -> dict:
    """Publish the incident as consoles see it; `extra_agencies` (just unlinked) still get this update."""
    incident = selectors.incidents_for(selectors.CITY_WIDE).get(pk=incident_id)
    feature = incident_feature(incident)
    orgs = selectors.agency_org_ids({*incident.agencies, *extra_agencies})
    publish("incidents", type_, feature, geom=incident.geom, orgs=orgs)
    return feature


def publish_unit_status(vehicle: Vehicle) -> None:
    publish("incidents", "unit.status", unit_feature(vehicle), geom=vehicle.last_position, orgs=[vehicle.agency_id])


def _next_number(agency: str, received: datetime) -> str:
    """``119-20261123-0007``: agency, local date of the call, the day's sequence (serialised by a lock)."""
    prefix = f"{agency}-{timezone.localtime(received):%Y%m%d}-"
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [prefix])
    last = Incident.objects.filter(number__startswith=prefix).order_by("-number").values_list("number", flat=True)
    sequence = int(last[0].rsplit("-", 1)[1]) + 1 if last else 1
    return f"{prefix}{sequence:04d}"


def create_incident(
    user,
    *,
    incident_type: IncidentType,
    point,
    caller_number: str = "",
    call_received_at: datetime | None = None,
    priority: int | None = None,
    description: str = "",
    address: str = "",
    confirm_new: bool = False,
    exercise: bool = False,
) -> Incident:
    """A new incident from a call, linked to every agency its response plan involves.

    Refuses a point outside the city profile's boundary (InputError "location") and, unless ``confirm_new``, raises
    PossibleDuplicate when an open incident of the same type or agency is near in space and time.
    """
    now = timezone.now()
    received = call_received_at or now
    if received > now + CALL_TIME_TOLERANCE:
        raise InputError("call_received_at", _("%(time)s is in the future") % {"time": received.isoformat()})
    city = city_boundary()
    if city is not None and not city.geom.intersects(point):
        raise InputError(
            "location",
            _("(%(lon).6f, %(lat).6f) is outside the city of %(city)s")
            % {"lon": point.x, "lat": point.y, "city": city.name},
        )
    if not confirm_new and not exercise:  # a drill's calls are its own; a real one nearby is not their duplicate
        duplicates = selectors.open_duplicates(incident_type, point, received, DUPLICATE_RADIUS_M, DUPLICATE_WINDOW)
        if duplicates:
            raise PossibleDuplicate(duplicates)
    agencies = sorted({incident_type.agency, *(line.agency for line in incident_type.plan.all())})
    with transaction.atomic():
        incident = Incident.objects.create(
            number=_next_number(incident_type.agency, received),
            incident_type=incident_type,
            priority=priority or incident_type.default_priority,
            agencies=agencies,
            address=address,
            description=description,
            caller_number=caller_number,
            district=selectors.district_at(point),
            geom=point,
            created_by=_actor(user),
            call_received_at=received,
            created_at=now,
            exercise=exercise,
        )
        _record_call(incident, user, caller_number, received, description)
        _note(incident, "call", caller_number, user, received)
        _note(incident, "created", incident.number, user, now)
        if len(agencies) > 1:
            _note(incident, "linked", ", ".join(agencies), user, now)
        record_audit(_actor(user), "incident.create", incident, incident.number)
        _publish_incident(incident.pk, "incident.created")
        hooks.incident_opened.fire_on_commit(IncidentOpened(incident.pk, point, incident_type.utility, exercise))
    return incident


def attach_call(user, incident: Incident, *, caller_number: str = "", call_received_at=None, description="") -> None:
    """A repeat call about an incident already open: recorded on it, no new incident."""
    received = call_received_at or timezone.now()
    with transaction.atomic():
        incident = Incident.objects.select_for_update().get(pk=incident.pk)
        if incident.status == Incident.Status.CLOSED:
            raise Refusal(_("incident %(number)s is closed; create a new one") % {"number": incident.number})
        _record_call(incident, user, caller_number, received, description)
        _note(incident, "call", " ".join(filter(None, [caller_number, description])), user, received)
        _publish_incident(incident.pk, "incident.updated")


def dispatch_units(user, viewer, incident: Incident, vehicle_ids: list[int], etas: dict | None = None) -> None:
    """Send units; all or nothing. A unit not available, or of an agency the user does not work for, refuses
    the whole request and names it."""
    now = timezone.now()
    agencies_allowed = selectors.viewer_agencies(viewer)
    with transaction.atomic():
        incident = Incident.objects.select_for_update().get(pk=incident.pk)
        if incident.status in (Incident.Status.UNDER_CONTROL, Incident.Status.CLOSED):
            raise Refusal(
                _("incident %(number)s is %(status)s; no more units can be sent")
                % {"number": incident.number, "status": incident.get_status_display()}
            )
        locked = Vehicle.objects.select_for_update(of=("self",)).select_related("agency").filter(pk__in=vehicle_ids)
        units = {u.pk: u for u in locked.order_by("pk")}
        unknown = [pk for pk in vehicle_ids if pk not in units]
        if unknown:
            raise InputError("vehicle_ids", _("no unit with id %(id)s") % {"id": unknown[0]})
        allowed = agencies_allowed if agencies_allowed is not None else {u.agency.agency for u in units.values()}
        foreign = [u for u in units.values() if u.agency.agency not in allowed]
        if foreign:
            raise Refusal(
                _("unit %(unit)s belongs to agency %(agency)s; link that agency instead")
                % {"unit": foreign[0].call_sign, "agency": foreign[0].agency.agency},
                vehicle_ids=[u.pk for u in foreign],
            )
        busy = [u for u in units.values() if u.status != Vehicle.Status.AVAILABLE]
        busy += [
            u
            for u in units.values()
            if u not in busy and Assignment.objects.filter(vehicle=u).exclude(status=Assignment.Status.CLEARED).exists()
        ]
        if busy:
            names = ", ".join(f"{u.call_sign} ({u.get_status_display()})" for u in busy)
            raise Refusal(_("not available: %(units)s") % {"units": names}, vehicle_ids=[u.pk for u in busy])
        etas = etas or {}
        Assignment.objects.bulk_create(
            Assignment(
                incident=incident,
                vehicle=u,
                agency=u.agency.agency,
                eta_s=etas.get(u.pk),
                dispatched_by=_actor(user),
                dispatched_at=now,
            )
            for u in units.values()
        )
        Vehicle.objects.filter(pk__in=units).update(status=Vehicle.Status.DISPATCHED)
        new_agencies = sorted({u.agency.agency for u in units.values()} - set(incident.agencies))
        if new_agencies:
            incident.agencies = sorted({*incident.agencies, *new_agencies})
            _note(incident, "linked", ", ".join(new_agencies), user, now)
        if incident.dispatched_at is None:
            incident.dispatched_at = now
        if incident.status == Incident.Status.RECEIVED:
            incident.status = Incident.Status.DISPATCHED
        incident.save()
        _note(incident, "dispatched", ", ".join(u.call_sign for u in units.values()), user, now)
        record_audit(_actor(user), "incident.dispatch", incident, incident.number, {"vehicles": sorted(units)})
        _publish_incident(incident.pk, "incident.updated")
        for unit in units.values():
            unit.status = Vehicle.Status.DISPATCHED
            publish_unit_status(unit)


def set_assignment_status(user, assignment: Assignment, status: str, *, source: str = "manual", at=None) -> None:
    """Move a unit forward on its assignment (never backwards); the unit and the incident follow."""
    now = at or timezone.now()
    with transaction.atomic():
        locked = Assignment.objects.select_for_update(of=("self",)).select_related("vehicle__agency")
        assignment = locked.get(pk=assignment.pk)
        if ASSIGNMENT_ORDER.index(status) <= ASSIGNMENT_ORDER.index(assignment.status):
            raise Refusal(
                _("unit %(unit)s is already %(current)s; it cannot go back to %(target)s")
                % {
                    "unit": assignment.vehicle.call_sign,
                    "current": assignment.get_status_display(),
                    "target": Assignment.Status(status).label,
                },
                current=assignment.status,
            )
        assignment.status = status
        setattr(assignment, f"{status}_at", now)
        assignment.save()
        unit = assignment.vehicle
        unit.status = UNIT_STATUS_FOR[status]
        unit.save(update_fields=["status"])
        incident = Incident.objects.select_for_update().get(pk=assignment.incident_id)
        follow = INCIDENT_STATUS_FOR.get(status)
        if follow and INCIDENT_ORDER.index(follow) > INCIDENT_ORDER.index(incident.status):
            incident.status = follow
            setattr(incident, f"{follow}_at", now)
            incident.save()
        _note(incident, f"unit.{status}", f"{unit.call_sign} (AVL)" if source == "avl" else unit.call_sign, user, now)
        _publish_incident(incident.pk, "incident.updated")
        publish_unit_status(unit)


def set_incident_status(user, incident: Incident, status: str) -> None:
    """Under control or closed, never backwards. Closing releases the units: those on scene return, the others
    are cleared at once."""
    now = timezone.now()
    with transaction.atomic():
        incident = Incident.objects.select_for_update().get(pk=incident.pk)
        if INCIDENT_ORDER.index(status) <= INCIDENT_ORDER.index(incident.status):
            raise Refusal(
                _("incident %(number)s is already %(current)s; it cannot go back to %(target)s")
                % {
                    "number": incident.number,
                    "current": incident.get_status_display(),
                    "target": Incident.Status(status).label,
                },
                current=incident.status,
            )
        incident.status = status
        setattr(incident, f"{status}_at", now)
        if status == Incident.Status.CLOSED and incident.under_control_at is None:
            incident.under_control_at = now
        incident.save()
        released = []
        if status == Incident.Status.CLOSED:
            for a in (
                incident.assignments.select_for_update(of=("self",))
                .select_related("vehicle__agency")
                .filter(selectors.ACTIVE_ASSIGNMENT)
            ):
                if a.status in (Assignment.Status.ON_SCENE, Assignment.Status.RETURNING):
                    a.status, a.returning_at = Assignment.Status.RETURNING, a.returning_at or now
                else:
                    a.status, a.cleared_at = Assignment.Status.CLEARED, now
                a.save()
                a.vehicle.status = UNIT_STATUS_FOR[a.status]
                a.vehicle.save(update_fields=["status"])
                released.append(a.vehicle)
        _note(incident, status, "", user, now)
        record_audit(_actor(user), f"incident.{status}", incident, incident.number)
        _publish_incident(incident.pk, "incident.closed" if status == Incident.Status.CLOSED else "incident.updated")
        for unit in released:
            publish_unit_status(unit)


def set_response(
    user, incident: Incident, *, level: int, plan: str, run_card: list, agencies, note_type: str, note: str
) -> None:
    """A response plan's level put in force (the emergency app decides which): the run card the recommendation
    follows, the agencies it links, one timeline line, and `incident.response_changed` on the live feed."""
    with transaction.atomic():
        incident = Incident.objects.select_for_update().get(pk=incident.pk)
        if incident.status == Incident.Status.CLOSED:
            raise Refusal(_("incident %(number)s is closed") % {"number": incident.number})
        new_agencies = sorted(set(agencies) - set(incident.agencies))
        incident.agencies = sorted({*incident.agencies, *agencies})
        incident.response_level, incident.response_plan, incident.run_card = level, plan, run_card
        incident.save(update_fields=["agencies", "response_level", "response_plan", "run_card"])
        _note(incident, note_type, note, user)
        if new_agencies:
            _note(incident, "linked", ", ".join(new_agencies), user)
        record_audit(_actor(user), "incident.response", incident, incident.number, {"level": level, "plan": plan})
        _publish_incident(incident.pk, "incident.response_changed")


def note_on_incident(user, incident: Incident, note_type: str, text: str) -> None:
    """A line on the incident's timeline from another app (a plan action done), shown live as incident.updated."""
    with transaction.atomic():
        _note(incident, note_type, text, user)
        _publish_incident(incident.pk, "incident.updated")


def link_agency(user, viewer, incident: Incident, *, link: str | None = None, unlink: str | None = None) -> None:
    """联动: add an agency to a joint incident (its desk sees it at once) or withdraw one."""
    with transaction.atomic():
        incident = Incident.objects.select_for_update().get(pk=incident.pk)
        if incident.status == Incident.Status.CLOSED:
            raise Refusal(_("incident %(number)s is closed") % {"number": incident.number})
        if link:
            if link in incident.agencies:
                raise Refusal(_("agency %(agency)s is already linked") % {"agency": link})
            incident.agencies = sorted({*incident.agencies, link})
            _note(incident, "linked", link, user)
        else:
            mine = selectors.viewer_agencies(viewer)
            if mine is not None and unlink not in mine:
                raise Refusal(_("only agency %(agency)s or the command centre may withdraw it") % {"agency": unlink})
            if unlink not in incident.agencies:
                raise Refusal(_("agency %(agency)s is not linked") % {"agency": unlink})
            if len(incident.agencies) == 1:
                raise Refusal(_("an incident needs at least one agency"))
            if incident.assignments.filter(selectors.ACTIVE_ASSIGNMENT, agency=unlink).exists():
                raise Refusal(_("agency %(agency)s still has units on this incident") % {"agency": unlink})
            incident.agencies = [a for a in incident.agencies if a != unlink]
            _note(incident, "unlinked", unlink, user)
        incident.save(update_fields=["agencies"])
        record_audit(_actor(user), "incident.agencies", incident, incident.number, {"link": link, "unlink": unlink})
        _publish_incident(incident.pk, "incident.updated", extra_agencies=[unlink] if unlink else [])
