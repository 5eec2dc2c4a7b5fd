"""State changes of response plans: a plan stored as a new version, activated on an incident at a level, escalated
or de-escalated with a reason, its actions done. Each step is one transaction, audited, on the incident's timeline
and live feed (through dispatch.services.set_response / note_on_incident)."""

from __future__ import annotations

from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import InputError, Refusal
from core.models import AdminArea
from core.services import record_audit
from dispatch import services as dispatch_services
from dispatch.models import Incident, IncidentType
from duty.selectors import on_duty
from notify import services as notify
from notify.models import Severity

from . import plans, selectors
from .models import Activation, ChecklistItem, LevelChange, ResponsePlan


def save_plan(
    user,
    *,
    code: str,
    name: str,
    incident_type: IncidentType,
    levels,
    district: AdminArea | None = None,
    zone=None,
    hours: tuple | None = None,
    rank: int = 0,
    affected_radius_m: int = 500,
    note: str = "",
) -> ResponsePlan:
    """A plan's next version (the first, or a revision): the previous one stops being current but stays for the
    incidents that ran it. Levels are checked against the code tables (PlanError names the field)."""
    try:
        checked = plans.read_levels(levels, selectors.code_tables())
    except plans.PlanError as error:
        raise InputError(error.field, error.detail) from None
    with transaction.atomic():
        previous = ResponsePlan.objects.select_for_update().filter(code=code, current=True).first()
        if previous is not None:
            previous.current = False
            previous.save(update_fields=["current"])
        try:
            plan = ResponsePlan.objects.create(
                code=code,
                version=previous.version + 1 if previous else 1,
                name=name,
                incident_type=incident_type,
                district=district,
                zone=zone,
                hours_from=hours[0] if hours else None,
                hours_to=hours[1] if hours else None,
                rank=rank,
                affected_radius_m=affected_radius_m,
                levels=[plans.level_json(level) for level in checked],
                note=note,
                created_by=user if user is not None and user.is_authenticated else None,
            )
        except IntegrityError:  # another revision of the same plan committed first
            raise Refusal(_("plan %(code)s was revised at the same time; reload it") % {"code": code}) from None
        record_audit(plan.created_by, "plan.save", plan, str(plan), {"version": plan.version})
    return plan


def _level(plan: ResponsePlan, level: int) -> plans.Level:
    found = next((lv for lv in selectors.plan_levels(plan) if lv.level == level), None)
    if found is None:
        raise InputError("level", _("plan %(plan)s has no level %(level)s") % {"plan": plan, "level": level})
    return found


def _notify(user, incident: Incident, activation: Activation, level: plans.Level, headline: str) -> None:
    """The level's notify lines as notifications (one per set of channels), each to be acknowledged within the
    level's time, else passed on to the leader on duty. Keyed by activation and level, so nobody gets one twice."""
    by_channels: dict[tuple[str, ...], list] = {}
    for line in level.notify:
        by_channels.setdefault(line.channels, []).extend(selectors.recipients(line, incident))
    # The departments the level links (联动部门) hear of it in their inbox.
    by_channels.setdefault(("in_app",), []).extend(selectors.department_staff(level.departments))
    escalation = [entry.user for entry in on_duty(role="leader_on_duty")]
    body = _("%(headline)s: %(type)s, %(address)s, incident %(number)s. Please acknowledge.") % {
        "headline": headline,
        "type": incident.incident_type.name,
        "address": incident.address or (incident.district.name if incident.district_id else ""),
        "number": incident.number,
    }
    for channels, users in by_channels.items():
        if not users:
            continue
        notify.send(
            sender=user,
            channels=channels,
            users=users,
            subject=headline,
            body=body,
            severity=Severity.URGENT if level.level <= 2 else Severity.WARNING,
            about=notify.About(selectors.INCIDENT_ABOUT, str(incident.pk), incident.number),
            ack_within=timedelta(minutes=level.ack_minutes),
            escalation=[person for person in escalation if person not in users],
            key=f"plan-{activation.pk}-level-{level.level}-{'+'.join(channels)}",
        )


def _put_in_force(user, incident: Incident, activation: Activation, level: plans.Level, note_type: str, note: str):
    """The level's run card and agencies on the incident, its actions on the checklist (each once), its people
    notified."""
    now = timezone.now()
    for action in level.actions:
        ChecklistItem.objects.get_or_create(
            activation=activation,
            text=action.text,
            defaults={
                "level": level.level,
                "owner": action.owner,
                "due_at": now + timedelta(minutes=action.due_minutes),
            },
        )
    dispatch_services.set_response(
        user,
        incident,
        level=level.level,
        plan=f"{activation.plan.name} v{activation.plan.version}",
        run_card=[[u.agency, u.unit_kind, u.count] for u in level.units],
        agencies=level.agencies,
        note_type=note_type,
        note=note,
    )
    headline = _("%(plan)s: %(level)s response") % {
        "plan": activation.plan.name,
        "level": selectors.level_label(level.level),
    }
    if incident.exercise:  # a drill's messages say so first, to everyone who gets them
        headline = _("[Drill] %(headline)s") % {"headline": headline}
    _notify(user, incident, activation, level, headline)


def activate(user, incident: Incident, *, plan: ResponsePlan, level: int, reason: str = "") -> Activation:
    """启动预案: the operator confirms a plan (usually the suggested one) at a level for an open incident."""
    if not plan.current:
        raise InputError("plan", _("plan %(plan)s has been revised; activate its current version") % {"plan": plan})
    if plan.incident_type_id != incident.incident_type_id:
        raise InputError("plan", _("plan %(plan)s is not for this incident type") % {"plan": plan})
    chosen = _level(plan, level)
    seen = selectors.facts(incident, plan.affected_radius_m)
    now = timezone.now()
    with transaction.atomic():
        Incident.objects.select_for_update().get(pk=incident.pk)  # one activation at a time per incident
        if Activation.objects.filter(incident=incident).exists():
            raise Refusal(_("a plan is already active on incident %(number)s") % {"number": incident.number})
        activation = Activation.objects.create(
            incident=incident,
            plan=plan,
            level=level,
            facts=selectors.facts_json(seen),
            activated_at=now,
            activated_by=user,
        )
        LevelChange.objects.create(
            activation=activation, at=now, from_level=None, to_level=level, reason=reason, actor=user
        )
        text = f"{plan.name} v{plan.version} · {selectors.level_label(level)}"
        _put_in_force(user, incident, activation, chosen, "plan_activated", text)
        record_audit(user, "plan.activate", incident, incident.number, {"plan": plan.pk, "level": level})
    return activation


def change_level(user, incident: Incident, *, level: int, reason: str) -> Activation:
    """Escalate (a lower number: Ⅲ → Ⅱ) or de-escalate; the reason is required and kept."""
    if not reason.strip():
        raise InputError("reason", _("say why the response level changes"))
    with transaction.atomic():
        Incident.objects.select_for_update().get(pk=incident.pk)
        activation = selectors.activation_of(incident)
        if activation is None:
            raise Refusal(_("no plan is active on incident %(number)s") % {"number": incident.number})
        if level == activation.level:
            current = selectors.level_label(level)
            raise InputError("level", _("the response is already at %(level)s") % {"level": current})
        chosen = _level(activation.plan, level)
        LevelChange.objects.create(
            activation=activation, at=timezone.now(), from_level=activation.level, to_level=level, reason=reason,
            actor=user,
        )  # fmt: skip
        raised = level < activation.level
        text = f"{selectors.level_label(activation.level)} → {selectors.level_label(level)}: {reason}"
        activation.level = level
        activation.save(update_fields=["level"])
        _put_in_force(user, incident, activation, chosen, "level_raised" if raised else "level_lowered", text)
    return activation


def complete_action(user, incident: Incident, item_id: int, note: str = "") -> ChecklistItem:
    """A plan action done (once: a second tick is refused, so the first time and person stay)."""
    with transaction.atomic():
        item = ChecklistItem.objects.select_for_update().filter(pk=item_id, activation__incident=incident).first()
        if item is None:
            raise InputError("item", _("no action %(id)s on this incident's plan") % {"id": item_id})
        if item.done_at is not None:
            raise Refusal(_("“%(text)s” is already done") % {"text": item.text})
        item.done_at, item.done_by, item.note = timezone.now(), user, note
        item.save(update_fields=["done_at", "done_by", "note"])
        dispatch_services.note_on_incident(user, incident, "action_done", f"{item.text}{f' ({note})' if note else ''}")
    return item
