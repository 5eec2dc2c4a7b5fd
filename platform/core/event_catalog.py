"""Every event type of the live feed, by topic, with the shape of its payload: declared once. `publish()` refuses
a type that is not here, and a test checks the publishing code and the consoles' scripts against it.

Every payload is a GeoJSON Feature (WGS84) of the changed object — its geometry null for a removal — whose
properties are listed here: the keys a console may rely on (an event may carry more).
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class EventType:
    name: str
    topic: str
    what: str
    properties: tuple[str, ...]


_INCIDENT = ("id", "number", "type_code", "type_label", "agencies", "priority", "status", "status_label", "address")
_UNIT = ("call_sign", "kind", "status", "agency", "agency_id")
_CASE = ("id", "number", "stage", "stage_label", "category_code", "grid_code", "department", "timer_state")
_RESOURCE = ("layer", "id", "name")
_DUTY = ("desk_id", "desk", "at")
_NOTICE = ("id", "notification_id", "recipient_id", "sender_id", "channel", "state", "severity")
_ORDER = ("number", "status", "network", "utility", "valves_to_close", "valves_closed", "customers", "incident_id")

CATALOG = {
    event.name: event
    for event in (
        EventType("incident.created", "incidents", "a call became an incident", _INCIDENT),
        EventType("incident.updated", "incidents", "status, units, agencies or calls changed", _INCIDENT),
        EventType("incident.closed", "incidents", "the incident was closed", _INCIDENT),
        EventType("incident.response_changed", "incidents",
                  "a response plan was activated on the incident, or its response level changed",
                  (*_INCIDENT, "response_level", "response_plan")),
        EventType("unit.status", "incidents", "a unit's status changed", _UNIT),
        EventType("command.state", "incidents",
                  "a command to a vehicle's terminal was queued, sent, answered, failed, expired or read on its MDT",
                  ("id", "vehicle_id", "call_sign", "batch_id", "kind", "state", "state_label", "attempts", "read_at")),
        EventType("situation.annotation_added", "incidents", "a symbol was drawn on a situation map",
                  ("id", "incident_id", "symbol", "label")),
        EventType("situation.annotation_removed", "incidents", "a drawn symbol was removed", ("incident_id",)),
        EventType("alarm.raised", "alarms", "an AVL, fence, offline or lost-signal alarm was raised",
                  ("kind", "vehicle_id", "message", "rule", "state")),
        EventType("alarm.cleared", "alarms",
                  "an alarm's condition ended (speed, SOS, fence, offline, lost signal); listed until closed",
                  ("id", "kind", "vehicle_id", "rule", "state", "cleared_at")),
        EventType("alarm.acknowledged", "alarms", "an operator acknowledged (确认) an alarm, with a note",
                  ("id", "kind", "vehicle_id", "rule", "state", "acknowledged_by", "acknowledge_note")),
        EventType("alarm.closed", "alarms", "an operator closed an alarm with a note: it leaves the consoles",
                  ("id", "kind", "vehicle_id", "rule", "state", "closed_by", "close_note")),
        EventType("alarm.escalated", "alarms", "nobody acknowledged an alarm in time: its leaders were notified",
                  ("id", "kind", "vehicle_id", "rule", "state", "escalation_level")),
        EventType("alarm.device_auth_failed", "alarms",
                  "a GPS terminal's address was cut off after repeated failed authentications or registrations",
                  ("kind", "source", "terminal", "vehicle_id", "message")),
        EventType("system.component_down", "alarms", "a part of the platform stopped working (core.health)",
                  ("kind", "component", "component_label", "status", "message", "at")),
        EventType("system.component_up", "alarms", "a part of the platform that was down works again",
                  ("kind", "component", "component_label", "status", "message", "at")),
        EventType("case.reported", "cases", "a city-management case was reported", _CASE),
        EventType("case.updated", "cases", "a case moved in its workflow", _CASE),
        EventType("case.overdue", "cases", "a case passed its time limit", _CASE),
        EventType("repair_order.created", "pipeline", "a burst's repair order was opened", _ORDER),
        EventType("repair_order.updated", "pipeline",
                  "a repair order progressed (valves closed or failed, isolated, repaired, restored)", _ORDER),
        EventType("valve.updated", "pipeline", "a valve's state or operability changed",
                  ("code", "network", "normal_state", "operability")),
        EventType("notification.sent", "notices", "an in-app notice reached its recipient (ids only)", _NOTICE),
        EventType("notification.delivery_updated", "notices", "a delivery was sent, delivered, retried or failed",
                  _NOTICE),
        EventType("notification.acknowledged", "notices", "a recipient acknowledged (确认) a notification",
                  (*_NOTICE, "acknowledged_by")),
        EventType("notification.escalated", "notices", "unacknowledged in time: the next person was notified",
                  ("id", "notification_id", "recipient_id", "sender_id", "step")),
        EventType("area.updated", "areas", "an administrative area changed", ("code", "name", "level")),
        EventType("duty.signed_on", "duty", "someone signed on to a desk's shift", (*_DUTY, "session_id", "user")),
        EventType("duty.handed_over", "duty", "a desk's shift was handed over with its open items",
                  (*_DUTY, "session_id", "user", "open_items")),
        EventType("duty.item_updated", "duty", "a hand-over item was added or marked done",
                  (*_DUTY, "id", "text", "state")),
        EventType("duty.log_added", "duty", "someone wrote in a desk's duty log", (*_DUTY, "id", "kind", "text")),
        EventType("resource.saved", "resources", "a rescue team, depot, shelter or hazard source was added or edited",
                  _RESOURCE),
        EventType("resource.removed", "resources", "a rescue team, depot, shelter or hazard source was removed",
                  ("layer", "id")),
        EventType("stock.changed", "resources", "a depot's stock changed (allocated, released, consumed, restocked)",
                  ("layer", "id", "name", "stock")),
        EventType("shelter.occupancy", "resources", "people checked in to or out of a shelter",
                  ("layer", "id", "name", "capacity", "occupancy", "status")),
        EventType("supply_request.updated", "resources", "a request for supplies was made, allocated or closed",
                  ("id", "incident_id", "incident_number", "item", "quantity", "allocated", "status")),
    )
}  # fmt: skip


def check(topic: str, type_: str) -> None:
    """Raise ValueError for an event type the catalog does not declare under this topic."""
    event = CATALOG.get(type_)
    if event is None or event.topic != topic:
        raise ValueError(f"event type {type_!r} is not declared for topic {topic!r} in core.event_catalog")
