"""The duty log's system entries: which event types of core's event log (core/event_catalog.py) the duty log
shows, as which Chinese line, and which of them are 大事记 (major events).

Notifications are read from notify's own table (duty.selectors), not from these events, whose payloads carry only
ids. This table is data: a type that is not (yet) in the catalog simply never occurs in the log, and a property an
event lacks leaves its place in the line empty, so new event types are added here without touching any code.
"""

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class SystemEntry:
    template: object  # a lazy translated str.format template over the event's properties
    major: bool


SYSTEM_ENTRIES: dict[str, SystemEntry] = {
    "incident.created": SystemEntry(_("Incident {number} received: {type_label}, {address}"), True),
    "incident.closed": SystemEntry(_("Incident {number} closed: {type_label}, {address}"), True),
    "incident.response_changed": SystemEntry(
        _("Incident {number}: response plan {response_plan}, response level {response_level}"), True
    ),
    "repair_order.created": SystemEntry(_("Repair order {number} opened ({network}), incident {incident_id}"), True),
    "case.overdue": SystemEntry(_("Case {number} is overdue ({stage_label})"), False),
    "alarm.raised": SystemEntry(_("Unit alarm: {message}"), False),
    "system.component_down": SystemEntry(_("Platform component down: {component_label} {message}"), True),
    "system.component_up": SystemEntry(_("Platform component back: {component_label}"), False),
    "duty.signed_on": SystemEntry(_("{user} signed on ({shift})"), False),
    "duty.handed_over": SystemEntry(_("{user} handed over ({shift}), {open_items} open items carried over"), False),
}
# Types of the "duty" topic describe one desk: they appear in that desk's log only.
OWN_DESK_TOPIC = "duty"


class _Blank(dict):
    def __missing__(self, key):
        return ""


def _text(value) -> str:
    if isinstance(value, list | tuple):
        return "、".join(str(item) for item in value)
    if isinstance(value, dict):
        return str(value.get("name") or value.get("label") or "")
    return "" if value is None else str(value)


def line(event_type: str, properties: dict) -> str:
    """The Chinese line of an event of a declared type (missing properties are left blank)."""
    entry = SYSTEM_ENTRIES[event_type]
    values = _Blank({key: _text(value) for key, value in properties.items()})
    return str(entry.template).format_map(values).strip()
