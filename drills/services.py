"""Drills: a scenario stored, a drill started (its steps scheduled as jobs at their times), each step run once, the
drill finished. The incident a drill opens is an exercise (dispatch.Incident.exercise)."""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import InputError, Refusal
from core.services import record_audit
from dispatch import services as dispatch_services
from dispatch.models import Assignment, Incident, IncidentType

from . import script
from .models import Drill, DrillStep, Scenario

DRILL_CALLER = "演练"  # the caller number a scripted call shows when the script gives none


def save_scenario(user, *, code: str, name: str, steps, place, description: str = "") -> Scenario:
    """A scenario, new or replaced (running drills keep the steps they were given). ScriptError → InputError."""
    try:
        checked = script.read_steps(steps, set(IncidentType.objects.values_list("code", flat=True)))
    except script.ScriptError as error:
        raise InputError(error.field, error.detail) from None
    scenario, _created = Scenario.objects.update_or_create(
        code=code,
        defaults={"name": name, "description": description, "place": place,
                  "steps": [script.step_json(step) for step in checked]},
    )  # fmt: skip
    record_audit(user, "drill.scenario", scenario, name)
    return scenario


def start(user, scenario: Scenario, place=None) -> Drill:
    """A drill of the scenario at `place` (default: the scenario's): every step stored with its due time and
    scheduled as a job, in one transaction, so a worker that restarts runs each one still."""
    from .tasks import run_step  # the task module imports this one

    now = timezone.now()
    steps = script.read_steps(scenario.steps, set(IncidentType.objects.values_list("code", flat=True)))
    with transaction.atomic():
        drill = Drill.objects.create(scenario=scenario, place=place or scenario.place, started_at=now,
                                     started_by=user)  # fmt: skip
        rows = DrillStep.objects.bulk_create(
            DrillStep(drill=drill, index=i, kind=step.kind, spec=script.step_json(step),
                      due_at=now + timedelta(seconds=step.at_s))
            for i, step in enumerate(steps)
        )  # fmt: skip
        for row in rows:
            run_step.configure(queueing_lock=f"drill:{drill.pk}:{row.index}", schedule_at=row.due_at).defer(
                drill_id=drill.pk, index=row.index
            )
        record_audit(user, "drill.start", drill, scenario.name)
    return drill


def run_step(drill_id: int, index: int) -> DrillStep:
    """Run one step of a running drill, once (a second run finds it done); its result is kept on the step."""
    with transaction.atomic():
        step = DrillStep.objects.select_for_update().select_related("drill").get(drill_id=drill_id, index=index)
        drill = step.drill
        if step.done_at is not None:
            return step
        if drill.status != Drill.Status.RUNNING:
            step.result = _("skipped: the drill had ended")
        else:
            step.result = _perform(drill, step)
        step.done_at = timezone.now()
        step.save(update_fields=["done_at", "result"])
    return step


def _perform(drill: Drill, step: DrillStep) -> str:
    spec = step.spec
    if step.kind == "call":
        incident = dispatch_services.create_incident(
            None,
            incident_type=IncidentType.objects.get(code=spec["type"]),
            point=drill.place,
            caller_number=spec.get("caller") or DRILL_CALLER,
            priority=spec.get("priority"),
            description=spec.get("text", ""),
            confirm_new=True,
            exercise=True,
        )
        drill.incident = incident
        drill.save(update_fields=["incident"])
        return incident.number
    incident = Incident.objects.filter(pk=drill.incident_id).first()
    if incident is None or incident.status == Incident.Status.CLOSED:
        return _("skipped: no open incident")
    if step.kind == "repeat_call":
        dispatch_services.attach_call(None, incident, caller_number=spec.get("caller") or DRILL_CALLER,
                                      description=spec.get("text", ""))  # fmt: skip
        return _("call attached")
    if step.kind == "units_on_scene":
        moving = list(
            incident.assignments.filter(
                status__in=[Assignment.Status.DISPATCHED, Assignment.Status.EN_ROUTE]
            ).select_related("vehicle")
        )
        for assignment in moving:
            dispatch_services.set_assignment_status(None, assignment, Assignment.Status.ON_SCENE, source="drill")
        return _("on scene: %(units)s") % {"units": ", ".join(a.vehicle.call_sign for a in moving) or "—"}
    dispatch_services.note_on_incident(None, incident, "drill_inject", spec["text"])
    return spec["text"][:255]


def finish(user, drill: Drill) -> Drill:
    """End a drill: steps not yet run are skipped. Its incident stays as the operators left it (close it there)."""
    with transaction.atomic():
        drill = Drill.objects.select_for_update().get(pk=drill.pk)
        if drill.status != Drill.Status.RUNNING:
            raise Refusal(_("the drill has already ended"))
        drill.status, drill.finished_at = Drill.Status.FINISHED, timezone.now()
        drill.save(update_fields=["status", "finished_at"])
        record_audit(user, "drill.finish", drill, drill.scenario.name)
    return drill
