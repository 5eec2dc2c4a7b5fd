"""Reads of drills: scenarios, and a drill with its steps and, once a plan ran on its incident, the after-action
report (timings against the plan's deadlines)."""

from dispatch.features import iso
from emergency import selectors as plan_selectors

from .models import Drill, Scenario


def scenario_json(scenario: Scenario) -> dict:
    return {
        "id": scenario.pk,
        "code": scenario.code,
        "name": scenario.name,
        "description": scenario.description,
        "steps": scenario.steps,
        "place": list(scenario.place.coords),
    }


def scenarios() -> list[dict]:
    return [scenario_json(s) for s in Scenario.objects.all()]


def drill_json(drill: Drill, *, report: bool = False) -> dict:
    incident = drill.incident
    data = {
        "id": drill.pk,
        "scenario": {"id": drill.scenario_id, "code": drill.scenario.code, "name": drill.scenario.name},
        "status": drill.status,
        "status_label": str(Drill.Status(drill.status).label),
        "place": list(drill.place.coords),
        "started_at": iso(drill.started_at),
        "finished_at": iso(drill.finished_at),
        "incident": {"id": incident.pk, "number": incident.number, "status": incident.status,
                     "status_label": incident.get_status_display()} if incident else None,
        "steps": [
            {"index": s.index, "kind": s.kind, "spec": s.spec, "due_at": iso(s.due_at), "done_at": iso(s.done_at),
             "result": s.result}
            for s in drill.steps.all()
        ],
    }  # fmt: skip
    if report and incident is not None:
        activation = plan_selectors.activation_of(incident)
        data["after_action"] = plan_selectors.after_action(incident, activation) if activation else None
    return data


def drills(limit: int = 50) -> list[dict]:
    rows = Drill.objects.select_related("scenario", "incident").prefetch_related("steps")[:limit]
    return [drill_json(d) for d in rows]
