"""Reads of fences: the rule set the positions are judged by (cached per process, per rules version), each batch's
vehicles and where they stand, and the fences a user may see and edit."""

import json
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import shapely
from django.conf import settings
from django.contrib.gis.db.models.functions import AsWKB
from django.db import connection
from django.db.models import Prefetch, Q

from core.realtime import Viewer
from dispatch.models import Alarm

from . import engine
from .models import Fence, Presence, Rule


@dataclass(frozen=True)
class LoadedRules:
    version: int
    rules: engine.RuleSet
    fence_names: dict[int, str]


_cache: dict[str, LoadedRules] = {}


def rules_version() -> int:
    """Changes in the transaction of any change to fences or rules (a trigger writes it; migration 0001)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT version FROM fences_rules_version")
        return cursor.fetchone()[0]


def loaded_rules() -> LoadedRules:
    """The active rules and their fences, indexed once per process and again whenever the version moved."""
    version = rules_version()  # read before the rules: a set is never cached under a newer version
    cached = _cache.get("rules")
    if cached is not None and cached.version == version:
        return cached
    active = Rule.objects.filter(active=True)
    # the areas as WKB straight into shapely, no GEOS objects or model rows for them: this runs on the ingest's path
    # after every edit
    carrying = Fence.objects.filter(pk__in=active.values("fence_id"))
    fences = list(carrying.annotate(wkb=AsWKB("geom")).values_list("id", "name", "wkb"))
    areas = shapely.from_wkb([bytes(wkb) for _, _, wkb in fences])
    rule_set = engine.RuleSet(
        zip([fid for fid, _, _ in fences], areas, strict=True),
        [engine_rule(row) for row in active],
        ZoneInfo(settings.TIME_ZONE),
    )
    loaded = LoadedRules(version, rule_set, {fid: name for fid, name, _ in fences})
    _cache["rules"] = loaded
    return loaded


def engine_rule(row: Rule) -> engine.Rule:
    value = {
        Rule.Target.VEHICLE: str(row.vehicle_id),
        Rule.Target.KIND: row.vehicle_kind,
        Rule.Target.GROUP: str(row.group_id),
    }.get(row.target, "")
    return engine.Rule(
        key=row.key,
        fence_id=row.fence_id,
        trigger=row.trigger,
        target=row.target,
        target_value=value,
        threshold=row.threshold or 0.0,
        calendars=engine.parse_calendars(row.calendar),
    )


_TRAITS = """
SELECT v.id, v.call_sign, v.kind, coalesce(array_agg(g.vehiclegroup_id) FILTER (WHERE g.id IS NOT NULL), '{}')
FROM dispatch_vehicle v LEFT JOIN dispatch_vehiclegroup_vehicles g ON g.vehicle_id = v.id
WHERE v.id = ANY(%s) GROUP BY v.id
"""


def vehicle_traits(ids: list[int]) -> dict[int, tuple[str, str, frozenset[int]]]:
    """vehicle id → (call sign, kind, groups), in one query."""
    with connection.cursor() as cursor:
        cursor.execute(_TRAITS, [ids])
        return {vid: (call_sign, kind, frozenset(groups)) for vid, call_sign, kind, groups in cursor.fetchall()}


def fence_state(ids: list[int]) -> engine.State:
    """Where these vehicles stand: their presence in fences and their open fence-rule alarms (the engine looks only
    at the keys of the rules it holds, so the read names no rules: at 7,500 rules that list cost 45 ms a batch)."""
    presence = {
        (vid, fid): at
        for vid, fid, at in Presence.objects.filter(vehicle_id__in=ids).values_list(
            "vehicle_id", "fence_id", "entered_at"
        )
    }
    open_alarms = Alarm.objects.filter(vehicle_id__in=ids, kind=Alarm.Kind.FENCE, cleared_at__isnull=True).values_list(
        "vehicle_id", "rule"
    )
    return engine.State(presence=presence, open=set(open_alarms))


# -- what the fences screen shows ------------------------------------------------------------------------------


def fence_visibility(viewer: Viewer) -> Q:
    """A command centre (or an administrator) sees every fence; other staff their organisation's."""
    if viewer.org_ids is None or viewer.oversees:
        return Q()
    return Q(organisation_id__in=sorted(viewer.org_ids))


def visible_fences(viewer: Viewer):
    rules = Rule.objects.select_related("vehicle", "group").order_by("id")
    return (
        Fence.objects.filter(fence_visibility(viewer))
        .select_related("organisation")
        .prefetch_related(Prefetch("rules", rules))
    )


def rule_json(rule: Rule) -> dict:
    return {
        "id": rule.pk,
        "key": rule.key,
        "target": rule.target,
        "target_label": str(Rule.Target(rule.target).label),
        "vehicle_id": rule.vehicle_id,
        "vehicle": rule.vehicle.call_sign if rule.vehicle_id else None,
        "vehicle_kind": rule.vehicle_kind,
        "group_id": rule.group_id,
        "group": rule.group.name if rule.group_id else None,
        "trigger": rule.trigger,
        "trigger_label": str(Rule.Trigger(rule.trigger).label),
        "threshold": rule.threshold,
        "calendar": rule.calendar,
        "active": rule.active,
        "severity": rule.severity,
    }


def fence_feature(fence: Fence) -> dict:
    """A fence as GeoJSON: the area as geometry, the drawn shape and the rules in its properties."""
    return {
        "type": "Feature",
        "id": fence.pk,
        "geometry": json.loads(fence.geom.json),
        "properties": {
            "id": fence.pk,
            "name": fence.name,
            "organisation": fence.organisation.name,
            "organisation_id": fence.organisation_id,
            "shape": fence.shape,
            "shape_label": str(Fence.Shape(fence.shape).label),
            "drawn": json.loads(fence.drawn.json),
            "radius_m": fence.radius_m,
            "note": fence.note,
            "rules": [rule_json(rule) for rule in fence.rules.all()],
        },
    }
