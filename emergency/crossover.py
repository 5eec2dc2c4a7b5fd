"""平战结合: a 数字城管 case escalated into an incident, and an incident's follow-up cases to departments.

Each side keeps its own record and shows the link in it: the case gets a step in its history that moves no stage
(the grid workflow has no 转应急 outcome, and the case stays the centre's to close once the incident has dealt with
it), the incident a line on its timeline. :class:`~emergency.models.CaseIncidentLink` is the link itself.
Incidents are made by ``dispatch.services.create_incident`` and cases by ``grid.services.report_case``, so both
follow their own app's rules (city boundary, numbering, events; category, unit grid, the centre's queue).
"""

from django.contrib.gis.geos import Point
from django.db import transaction
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from core.errors import Refusal
from core.models import User
from core.realtime import Viewer
from dispatch.models import Incident, IncidentType
from dispatch.selectors import incident_visibility
from dispatch.services import create_incident, note_on_incident
from grid import services as grid_services
from grid.models import Case
from grid.selectors import responsible_department, visible_cases
from grid.workflow import STATE_LABELS, TERMINAL_STATES, State

from .models import CaseIncidentLink


class AlreadyEscalated(Refusal):
    """The case already became an incident: a 409 naming it (a case is escalated once)."""

    code = "already_escalated"

    def __init__(self, case: Case, incident: Incident):
        super().__init__(
            _("case %(case)s was already escalated to incident %(incident)s")
            % {"case": case.number, "incident": incident.number},
            incident={"id": incident.pk, "number": incident.number},
        )


def caller_number(case: Case) -> str:
    """Who to call back: the citizen's phone from the report, else the reporting user's (an inspector's)."""
    phone = str(case.reporter_contact.get("phone") or "").strip()
    if not phone and case.reporter_id:
        phone = case.reporter.phone
    return phone[:32]


def escalate_case(user: User, case: Case, *, incident_type: IncidentType, priority: int | None = None, note: str = ""):
    """Turn ``case`` into a new incident of ``incident_type`` at the case's position, with its description, address
    and caller (:func:`caller_number`); ``priority`` None takes the type's default. Returns the incident.

    The incident's timeline says "escalated from case N", the case's history "escalated to incident N" (stage and
    clocks unchanged). Nearby open incidents do not stop it (``confirm_new``): the case centre has decided that this
    report is an emergency; the dispatcher merges duplicates as with any call. Raises AlreadyEscalated (409) when the
    case became an incident before, Refusal (409) for a closed or voided case, and create_incident's InputError (a
    position outside the city). All or nothing.
    """
    with transaction.atomic():
        case = Case.objects.select_for_update(of=("self",)).select_related("category", "reporter").get(pk=case.pk)
        earlier = (
            CaseIncidentLink.objects.filter(case=case, kind=CaseIncidentLink.Kind.ESCALATION)
            .select_related("incident")
            .first()
        )
        if earlier is not None:
            raise AlreadyEscalated(case, earlier.incident)
        if case.stage in TERMINAL_STATES:
            raise Refusal(
                _("case %(case)s is %(stage)s; only an open case can be escalated")
                % {"case": case.number, "stage": STATE_LABELS[State(case.stage)]},
                stage=case.stage,
            )
        incident = create_incident(
            user,
            incident_type=incident_type,
            point=case.geom,
            caller_number=caller_number(case),
            priority=priority,
            description=case.description or case.category.name,
            address=case.address,
            confirm_new=True,
        )
        CaseIncidentLink.objects.create(
            case=case, incident=incident, kind=CaseIncidentLink.Kind.ESCALATION, note=note, created_by=user
        )
        note_on_incident(user, incident, "escalated_from_case", " ".join(filter(None, [case.number, note])))
        grid_services.record_step(
            user,
            case,
            "escalated",
            " ".join(filter(None, [incident.number, note])),
            data={"incident_id": incident.pk, "incident_number": incident.number},
        )
    return incident


def spawn_follow_up(
    user: User, incident: Incident, *, category_code: str, description: str, point: Point | None = None
):
    """Report a follow-up case of ``incident`` (road repair after a burst main …) into the case centre: category
    ``category_code``, at ``point`` or else the incident's position, with the incident's address. Returns the case.

    The case enters grid's workflow as any hotline report (channel ``hotline``: the centre's phone line is the
    nearest of grid's channels): located in its unit grid, queued for filing, then dispatched to the department
    grid's responsibility table names for its category and district (``grid.selectors.responsible_department``).
    Its history says which incident it follows, the incident's timeline names the case. Raises grid's InputError
    (unknown category, a position outside the city) and WorkflowError (a role that may not report). All or nothing.
    """
    with transaction.atomic():
        report = grid_services.Report(
            category_code=category_code,
            position=point or incident.geom,
            description=description,
            address=incident.address if point is None else "",
            channel=Case.Channel.HOTLINE,
        )
        case, _created = grid_services.report_case(user, report)
        CaseIncidentLink.objects.create(
            case=case, incident=incident, kind=CaseIncidentLink.Kind.FOLLOW_UP, created_by=user
        )
        grid_services.record_step(
            user,
            case,
            "incident_follow_up",
            incident.number,
            data={"incident_id": incident.pk, "incident_number": incident.number},
        )
        note_on_incident(user, incident, "follow_up_case", f"{case.number} {case.category.name}")
    return case


# -- reads: each side of a link is shown in full only to those who may see it ------------------------------


def _incident_json(incident: Incident, visible: bool) -> dict:
    if not visible:  # the number is in the case's own history already; nothing more of an incident not theirs
        return {"id": incident.pk, "number": incident.number, "visible": False}
    return {
        "id": incident.pk,
        "number": incident.number,
        "visible": True,
        "type_label": incident.incident_type.label(get_language()),
        "priority": incident.priority,
        "status": incident.status,
        "status_label": str(Incident.Status(incident.status).label),
    }


def _case_json(case: Case, visible: bool) -> dict:
    if not visible:
        return {"id": case.pk, "number": case.number, "visible": False}
    routed = case.department or responsible_department(case)
    return {
        "id": case.pk,
        "number": case.number,
        "visible": True,
        "stage": case.stage,
        "stage_label": STATE_LABELS[State(case.stage)],
        "category_label": case.category.name,
        "department": {"id": routed.pk, "name": routed.name, "assigned": case.department_id is not None}
        if routed
        else None,
    }


def _link_json(link: CaseIncidentLink) -> dict:
    return {
        "id": link.pk,
        "kind": link.kind,
        "kind_label": str(CaseIncidentLink.Kind(link.kind).label),
        "note": link.note,
        "created_at": link.created_at.isoformat(),
    }


def case_links(user: User, case: Case) -> list[dict]:
    """The incidents ``case`` is linked to (its escalation, the incident it follows up), oldest first."""
    links = list(case.incident_links.select_related("incident__incident_type"))
    seen = set(
        Incident.objects.filter(
            incident_visibility(Viewer.for_user(user)), pk__in=[link.incident_id for link in links]
        ).values_list("pk", flat=True)
    )
    return [{**_link_json(link), "incident": _incident_json(link.incident, link.incident_id in seen)} for link in links]


def incident_links(user: User, incident: Incident) -> list[dict]:
    """The cases linked to ``incident`` (the case it was escalated from, its follow-up cases), oldest first."""
    links = list(incident.case_links.select_related("case__category", "case__department"))
    seen = set(visible_cases(user).filter(pk__in=[link.case_id for link in links]).values_list("pk", flat=True))
    return [{**_link_json(link), "case": _case_json(link.case, link.case_id in seen)} for link in links]
