"""A drill's script: what happens when, as data. No Django here; the rules are tested without a database.

Steps, each at a number of seconds after the start:
  call            the first call: an exercise incident of `type` at the drill's place (priority, description)
  repeat_call     another caller about the same incident (counts towards the plan's thresholds)
  units_on_scene  every unit dispatched to the incident so far reports on scene (as AVL would)
  note            an inject read out to the operators, on the incident's timeline
The first step must be the call: the others act on its incident.
"""

from __future__ import annotations

from dataclasses import dataclass

KINDS = ("call", "repeat_call", "units_on_scene", "note")
MAX_STEPS = 100
MAX_SECONDS = 6 * 3600


class ScriptError(ValueError):
    def __init__(self, field: str, detail: str):
        super().__init__(f"{field}: {detail}")
        self.field = field
        self.detail = detail


@dataclass(frozen=True)
class Step:
    at_s: int
    kind: str
    incident_type: str = ""
    priority: int | None = None
    text: str = ""
    caller: str = ""


def _text(value, where: str, max_length: int, required: bool = False) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str) or len(value) > max_length or (required and not value.strip()):
        raise ScriptError(where, f"must be a text of {'1' if required else '0'} to {max_length} characters")
    return value.strip()


def read_steps(data, incident_types) -> tuple[Step, ...]:
    """Steps from JSON-like data, in time order; ScriptError naming the first fault (``steps.2.kind``)."""
    if not isinstance(data, list) or not data:
        raise ScriptError("steps", "a script needs at least one step")
    if len(data) > MAX_STEPS:
        raise ScriptError("steps", f"at most {MAX_STEPS} steps")
    steps = []
    for i, item in enumerate(data):
        where = f"steps.{i}"
        if not isinstance(item, dict):
            raise ScriptError(where, "must be an object")
        unknown = sorted(set(item) - {"at_s", "kind", "type", "priority", "text", "caller"})
        if unknown:
            raise ScriptError(f"{where}.{unknown[0]}", "is not a known key")
        at_s = item.get("at_s")
        if isinstance(at_s, bool) or not isinstance(at_s, int) or not 0 <= at_s <= MAX_SECONDS:
            raise ScriptError(f"{where}.at_s", f"must be a whole number of seconds from 0 to {MAX_SECONDS}")
        kind = item.get("kind")
        if kind not in KINDS:
            raise ScriptError(f"{where}.kind", f"must be one of {', '.join(KINDS)}")
        priority = item.get("priority")
        if priority is not None and (isinstance(priority, bool) or priority not in (1, 2, 3, 4)):
            raise ScriptError(f"{where}.priority", "must be 1 to 4")
        incident_type = _text(item.get("type"), f"{where}.type", 32, required=kind == "call")
        if kind == "call" and incident_type not in incident_types:
            raise ScriptError(f"{where}.type", f"unknown incident type {incident_type!r}")
        steps.append(
            Step(at_s, kind, incident_type, priority, _text(item.get("text"), f"{where}.text", 255, kind == "note"),
                 _text(item.get("caller"), f"{where}.caller", 32))
        )  # fmt: skip
    steps.sort(key=lambda step: step.at_s)
    if steps[0].kind != "call" or sum(step.kind == "call" for step in steps) != 1:
        raise ScriptError("steps", "the first step is the one call; the others act on its incident")
    return tuple(steps)


def step_json(step: Step) -> dict:
    data = {"at_s": step.at_s, "kind": step.kind}
    for key, value in (("type", step.incident_type), ("priority", step.priority), ("text", step.text),
                       ("caller", step.caller)):  # fmt: skip
        if value:
            data[key] = value
    return data
