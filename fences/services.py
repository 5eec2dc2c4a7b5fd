"""State changes of fences: drawing and editing fences and their rules (audited), and judging every committed batch
of positions by the rules (``judge_positions``, the handler of core.hooks.positions_stored)."""

import logging
from datetime import timedelta

from django.conf import settings
from django.contrib.gis.geos import GEOSGeometry, MultiPolygon, Point
from django.db import transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from core.errors import InputError
from core.hooks import PositionsStored
from core.models import Organisation, User
from core.services import record_audit
from dispatch import alarms
from dispatch.models import Alarm, Vehicle, VehicleGroup

from . import engine, selectors
from .models import Fence, Presence, Rule

log = logging.getLogger(__name__)
# Rules judge the present: a terminal's blind-area backlog (hours old, sent when it is back in coverage) is stored
# but raises no fence alarm, and cannot move a vehicle's presence back in time.
LIVE_WINDOW = timedelta(minutes=10)
MAX_RADIUS_M = 50_000.0
MAX_AREA_KM2 = 5_000.0


def fence_area(shape: str, drawn: GEOSGeometry, radius_m: float | None) -> MultiPolygon:
    """The area the rules test: the polygon as drawn, or the circle's centre / the corridor's line buffered by the
    radius (half-width) in metres, in the city's projected CRS (settings.CITYOPS_METRIC_SRID)."""
    expected = {Fence.Shape.POLYGON: "Polygon", Fence.Shape.CIRCLE: "Point", Fence.Shape.CORRIDOR: "LineString"}
    if drawn.geom_type != expected[shape]:
        raise InputError(
            "geometry", _("a %(shape)s is drawn as a %(type)s") % {"shape": shape, "type": expected[shape]}
        )
    if shape == Fence.Shape.POLYGON:
        if not drawn.valid:
            raise InputError("geometry", _("the polygon crosses itself: %(reason)s") % {"reason": drawn.valid_reason})
        area = drawn.clone()
    else:
        if radius_m is None or not 1 <= radius_m <= MAX_RADIUS_M:
            raise InputError(
                "radius_m", _("give the radius / half-width in metres, 1 to %(max)d") % {"max": MAX_RADIUS_M}
            )
        metric = drawn.transform(settings.CITYOPS_METRIC_SRID, clone=True)
        area = metric.buffer(radius_m, quadsegs=16)
        area.transform(4326)
    area = area if area.geom_type == "MultiPolygon" else MultiPolygon(area, srid=4326)
    if area.transform(settings.CITYOPS_METRIC_SRID, clone=True).area / 1e6 > MAX_AREA_KM2:
        raise InputError("geometry", _("a fence covers at most %(max)d km²") % {"max": MAX_AREA_KM2})
    return area


def save_fence(
    user: User, fence: Fence | None, *, name: str, organisation: Organisation, shape: str, drawn: GEOSGeometry,
    radius_m: float | None, note: str = "",
) -> Fence:  # fmt: skip
    """Create (``fence`` None) or redraw a fence; its rules then judge the new area from the next batch on."""
    area = fence_area(shape, drawn, radius_m)
    with transaction.atomic():
        created = fence is None
        fence = fence or Fence(created_by=user)
        fence.name, fence.organisation, fence.shape, fence.drawn = name, organisation, shape, drawn
        fence.radius_m = radius_m if shape != Fence.Shape.POLYGON else None
        fence.geom, fence.note = area, note
        fence.save()
        record_audit(user, "fence.create" if created else "fence.update", fence, name)
    return fence


def delete_fence(user: User, fence: Fence) -> None:
    """The fence goes with its rules; their open alarms end (an operator still closes them)."""
    with transaction.atomic():
        _end_alarms([rule.key for rule in fence.rules.all()])
        record_audit(user, "fence.delete", fence, fence.name)
        fence.delete()


def save_rule(
    user: User, fence: Fence, rule: Rule | None, *, target: str, vehicle: Vehicle | None, vehicle_kind: str,
    group: VehicleGroup | None, trigger: str, threshold: float | None, calendar: list, active: bool, severity: str,
) -> Rule:  # fmt: skip
    """Attach a rule to a fence, or change one; a changed rule's open alarm ends (the next fix judges it anew)."""
    needed = {Rule.Target.VEHICLE: ("vehicle_id", vehicle), Rule.Target.KIND: ("vehicle_kind", vehicle_kind),
              Rule.Target.GROUP: ("group_id", group)}.get(target)  # fmt: skip
    if needed is not None and not needed[1]:
        raise InputError(needed[0], _("the rule applies to one %(what)s: name it") % {"what": needed[0]})
    if trigger in (Rule.Trigger.DWELL, Rule.Trigger.SPEED) and (threshold is None or threshold <= 0):
        raise InputError("threshold", _("a dwell rule needs minutes, a speed rule km/h (more than 0)"))
    try:
        engine.parse_calendars(calendar)
    except ValueError as exc:
        raise InputError("calendar", str(exc)) from None
    with transaction.atomic():
        created = rule is None
        rule = rule or Rule(fence=fence)
        if not created:
            _end_alarms([rule.key])
        rule.target, rule.trigger, rule.calendar, rule.active, rule.severity = (
            target,
            trigger,
            calendar,
            active,
            severity,
        )
        rule.vehicle = vehicle if target == Rule.Target.VEHICLE else None
        rule.vehicle_kind = vehicle_kind if target == Rule.Target.KIND else ""
        rule.group = group if target == Rule.Target.GROUP else None
        rule.threshold = threshold if trigger in (Rule.Trigger.DWELL, Rule.Trigger.SPEED) else None
        rule.save()
        record_audit(user, "fence.rule_save", rule, f"{fence.name}: {rule.get_trigger_display()}")
    return rule


def delete_rule(user: User, rule: Rule) -> None:
    with transaction.atomic():
        _end_alarms([rule.key])
        record_audit(user, "fence.rule_delete", rule, f"{rule.fence.name}: {rule.get_trigger_display()}")
        rule.delete()


def _end_alarms(rule_keys: list[str]) -> None:
    for alarm in Alarm.objects.filter(kind=Alarm.Kind.FENCE, rule__in=rule_keys, cleared_at__isnull=True):
        alarms.clear_alarm(alarm.vehicle_id, Alarm.Kind.FENCE, alarm.rule)


# -- judging positions -----------------------------------------------------------------------------------------


def judge_positions(batch: PositionsStored) -> None:
    """Run the fence rules over a committed batch: presence kept in the table, alarms raised and cleared.

    The state is read from the table for the batch's vehicles (not kept in memory), so every process that stores
    positions — ingest replicas, web processes taking OsmAnd — and a restarted one judge alike."""
    loaded = selectors.loaded_rules()
    if not loaded.rules.rules:
        return
    now = timezone.now()
    fixes = [fix for fix in batch.fixes if fix.positioned and fix.at >= now - LIVE_WINDOW]
    if not fixes:
        return
    ids = sorted({fix.vehicle_id for fix in fixes})
    traits = selectors.vehicle_traits(ids)
    rows = [
        engine.FixRow(fix.vehicle_id, traits[fix.vehicle_id][1], traits[fix.vehicle_id][2], fix.at, fix.lon, fix.lat,
                      fix.speed_kmh)
        for fix in fixes
        if fix.vehicle_id in traits
    ]  # fmt: skip
    state = selectors.fence_state(ids)
    outcome = loaded.rules.evaluate(rows, state)
    _store_presence(outcome)
    with translation.override(settings.LANGUAGE_CODE):  # the stored text is the deployment's language
        for event in outcome.events:
            _apply(event, loaded, traits[event.vehicle_id][0])


def _store_presence(outcome: engine.Outcome) -> None:
    if outcome.left:
        left = Q()
        for vehicle_id, fence_id in outcome.left:
            left |= Q(vehicle_id=vehicle_id, fence_id=fence_id)
        Presence.objects.filter(left).delete()
    if outcome.entered:
        Presence.objects.bulk_create(
            [Presence(vehicle_id=v, fence_id=f, entered_at=at) for (v, f), at in outcome.entered.items()],
            ignore_conflicts=True,  # another process stored the entry first: its time stands
        )


def _apply(event: engine.AlarmEvent, loaded: selectors.LoadedRules, call_sign: str) -> None:
    rule = event.rule
    if event.action == engine.CLEAR:
        alarms.clear_alarm(event.vehicle_id, Alarm.Kind.FENCE, rule.key)
        return
    message = alarm_message(rule, call_sign, loaded.fence_names[rule.fence_id], event.detail)
    point = Point(event.lon, event.lat, srid=4326)
    alarms.raise_alarm(
        event.vehicle_id, Alarm.Kind.FENCE, message, point, rule=rule.key, at=event.at,
        instant=rule.trigger in engine.EDGES,
    )  # fmt: skip


def alarm_message(rule: engine.Rule, unit: str, fence: str, detail: str) -> str:
    """The alarm's text: the unit, what it did, the fence and the rule's number."""
    values = {"unit": unit, "fence": fence, "detail": detail, "limit": f"{rule.threshold:g}",
              "rule": rule.key.rsplit("-", 1)[-1]}  # fmt: skip
    text = {
        engine.ENTER: _("%(unit)s entered fence “%(fence)s”"),
        engine.EXIT: _("%(unit)s left fence “%(fence)s”"),
        engine.DWELL: _("%(unit)s stayed %(detail)s in fence “%(fence)s” (limit %(limit)s min)"),
        engine.SPEED: _("%(unit)s drove %(detail)s in fence “%(fence)s” (limit %(limit)s km/h)"),
        engine.NO_GO: _("Dangerous-goods vehicle %(unit)s in no-go fence “%(fence)s”"),
    }[rule.trigger]
    return (text + " · " + _("rule %(rule)s")) % values
