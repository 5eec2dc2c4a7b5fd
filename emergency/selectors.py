"""Reads: the plans that may apply to an incident, the facts a suggestion weighs, an incident's activation with
its level history and checklist, and the after-action report."""

from __future__ import annotations

from django.contrib.gis.geos import Point
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.models import Organisation, Role, User
from core.trees import subtree
from dispatch.features import iso
from dispatch.models import Incident, Vehicle
from dispatch.selectors import agency_org_ids
from duty.models import DutyRole
from duty.selectors import on_duty
from gis import rasters
from notify.models import Channel, Delivery, Notification
from pipelines_mgmt import outage_notice
from pipelines_mgmt.selectors import outage_ended, repair_orders_for_incident
from resources import selectors as resources

from . import plans
from .models import Activation, ResponsePlan

POPULATION_RASTER = "population"
INCIDENT_ABOUT = "dispatch.incident"  # how notifications name an incident (notify.services.About)
THRESHOLD_LABELS = {
    "priority_at_most": _("priority"),
    "calls_at_least": _("calls"),
    "customers_at_least": _("customers without supply"),
    "population_at_least": _("people in the affected area"),
}


def code_tables() -> plans.CodeTables:
    """What a plan's levels may name, from the installation's data."""
    kinds = [Organisation.Kind.DEPARTMENT, Organisation.Kind.UTILITY]
    departments = Organisation.objects.filter(kind__in=kinds).values_list("code", flat=True)
    return plans.CodeTables(
        frozenset(Vehicle.Kind.values), frozenset(Role.values), frozenset(DutyRole.values), frozenset(departments),
        frozenset(Channel.values),
    )  # fmt: skip


def plan_levels(plan: ResponsePlan) -> tuple[plans.Level, ...]:
    """A stored version's levels (checked against the code tables when it was stored)."""
    return plans.read_levels(plan.levels, None)


def facts(incident: Incident, affected_radius_m: int) -> plans.Facts:
    """Priority and calls from the incident; customers without supply from its pipeline isolations; people within
    the plan's affected radius from the population raster (None where there is none)."""
    orders = repair_orders_for_incident(incident.pk)
    customers = sum(order.isolation.get("customers", {}).get("count", 0) for order in orders) if orders else None
    population = None
    if rasters.available(POPULATION_RASTER):
        lon, lat = incident.geom.coords
        area = rasters.buffer_m(lon, lat, affected_radius_m, POPULATION_RASTER)
        population = round(rasters.zonal_stats(POPULATION_RASTER, area)["sum"] or 0)
    return plans.Facts(incident.priority, incident.calls.count(), customers, population)


def candidate_plans(incident: Incident) -> list[plans.Candidate]:
    """The current plans for the incident's type whose district and zone may cover it, as the choice weighs them
    (their levels unread: only the chosen plan's are)."""
    point: Point = incident.geom
    rows = (
        ResponsePlan.objects.filter(current=True, incident_type_id=incident.incident_type_id)
        .filter(Q(district__isnull=True) | Q(district_id=incident.district_id))
        .filter(Q(zone__isnull=True) | Q(zone__covers=point))
        .annotate(has_zone=Q(zone__isnull=False))
        .select_related("district")
        .defer("levels", "zone")
    )
    return [
        plans.Candidate(
            row.pk,
            row.rank,
            plans.Scope(
                district=row.district.code if row.district_id else None,
                in_zone=True if row.has_zone else None,
                hours=(row.hours_from, row.hours_to) if row.hours_from is not None else None,
            ),
        )
        for row in rows
    ]


def suggestion(incident: Incident) -> dict:
    """The plan and level to propose for this incident, with the facts and thresholds behind it."""
    district = incident.district.code if incident.district_id else None
    chosen = plans.choose(candidate_plans(incident), district, timezone.localtime().time())
    if chosen is None:
        return {"plan": None, "level": None, "level_label": None, "facts": None, "reasons": []}
    plan = ResponsePlan.objects.select_related("incident_type", "district").get(pk=chosen.plan_id)
    seen = facts(incident, plan.affected_radius_m)
    level, reached = plans.grade(plan_levels(plan), seen)
    return {
        "plan": plan_json(plan),
        "level": level.level,
        "level_label": level_label(level.level),
        "facts": facts_json(seen),
        "reasons": [reason_text(name, seen, level) for name in reached],
    }


LEVEL_NAMES = {
    1: _("extraordinarily serious"),
    2: _("serious"),
    3: _("relatively serious"),
    4: _("general"),
}


def level_label(level: int) -> str:
    """``Ⅲ级 · 较大`` (the numeral, then the grade's name in the reader's language)."""
    return _("level %(numeral)s · %(name)s") % {"numeral": plans.LEVEL_NUMERALS[level], "name": LEVEL_NAMES[level]}


def reason_text(threshold: str, seen: plans.Facts, level: plans.Level) -> str:
    sign = "≤" if threshold == "priority_at_most" else "≥"
    return f"{THRESHOLD_LABELS[threshold]} {seen.value(threshold)} {sign} {level.thresholds[threshold]}"


def facts_json(seen: plans.Facts) -> dict:
    return {"priority": seen.priority, "calls": seen.calls, "customers": seen.customers, "population": seen.population}


def recipients(recipient: plans.Recipient, incident: Incident) -> list[User]:
    """The people a plan's notify line names, now: a duty post from the roster (those signed on first); a role's
    users whose organisation commands the incident's place (city-wide, or its district); an agency's desk officers
    on duty, else that agency's staff."""
    if recipient.kind == "duty":
        return [entry.user for entry in on_duty(role=recipient.value)]
    if recipient.kind == "agency":
        on_desk = [entry.user for entry in on_duty(desk_kind=recipient.value)]
        if on_desk:
            return on_desk
        staff = User.objects.filter(organisation_id__in=agency_org_ids([recipient.value]), is_active=True)
        return list(staff.filter(groups__name__in=[Role.CALL_TAKER, Role.OPERATOR]).distinct().order_by("pk"))
    users = User.objects.filter(groups__name=recipient.value, is_active=True)
    in_place = Q(organisation__isnull=True) | Q(organisation__area__isnull=True)
    if incident.district_id:
        in_place |= Q(organisation__area_id=incident.district_id)
    return list(users.filter(in_place).distinct().order_by("pk"))


def department_staff(codes) -> list[User]:
    """The people of the departments (and utilities) a level links, and of the organisations below them."""
    roots = Organisation.objects.filter(code__in=list(codes)).values_list("pk", flat=True)
    return list(User.objects.filter(is_active=True, organisation__in=subtree(Organisation, roots)).order_by("pk"))


def plan_json(plan: ResponsePlan) -> dict:
    return {
        "id": plan.pk,
        "code": plan.code,
        "version": plan.version,
        "current": plan.current,
        "name": plan.name,
        "incident_type": plan.incident_type.code,
        "district": plan.district.code if plan.district_id else None,
        "zone": plan.zone.json if plan.zone is not None else None,
        "hours": [plan.hours_from.isoformat("minutes"), plan.hours_to.isoformat("minutes")]
        if plan.hours_from is not None
        else None,
        "rank": plan.rank,
        "affected_radius_m": plan.affected_radius_m,
        "levels": plan.levels,
        "note": plan.note,
        "created_at": iso(plan.created_at),
    }


def plans_list(incident_type: str | None = None) -> list[dict]:
    rows = ResponsePlan.objects.filter(current=True).select_related("incident_type", "district")
    if incident_type:
        rows = rows.filter(incident_type__code=incident_type)
    return [plan_json(row) for row in rows]


def plan_versions(code: str) -> list[dict]:
    rows = ResponsePlan.objects.filter(code=code).select_related("incident_type", "district")
    return [plan_json(row) for row in rows]


def activation_of(incident: Incident) -> Activation | None:
    return Activation.objects.select_related("plan__incident_type", "plan__district").filter(incident=incident).first()


def _delivery_counts(notifications: list[Notification]) -> dict[int, dict]:
    """{notification id: {channel: {state: count}}} of these notifications' deliveries, in one query."""
    counts: dict[int, dict] = {n.pk: {} for n in notifications}
    rows = (
        Delivery.objects.filter(notification__in=notifications)
        .values_list("notification_id", "channel", "state")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for notification_id, channel, state, n in rows:
        counts[notification_id].setdefault(channel, {})[state] = n
    return counts


def notifications_json(incident: Incident) -> list[dict]:
    """What the plan sent about the incident, with each channel's delivery states (queued … acknowledged)."""
    rows = list(Notification.objects.filter(about_app=INCIDENT_ABOUT, about_id=str(incident.pk)).order_by("created_at"))
    counts = _delivery_counts(rows)
    return [
        {
            "id": n.pk,
            "subject": n.subject,
            "channels": n.channels,
            "created_at": iso(n.created_at),
            "ack_deadline": iso(n.ack_deadline),
            "acknowledged_at": iso(n.acknowledged_at),
            "escalations": n.escalation_step,
            "deliveries": counts[n.pk],
        }
        for n in rows
    ]


def outages_json(incident: Incident) -> list[dict]:
    """The incident's pipeline isolations: customers cut off (until supply is back), and how far their outage notice
    (停水停气通知) got."""
    orders = repair_orders_for_incident(incident.pk)
    notices = {n.key: n for n in Notification.objects.filter(key__in=[outage_notice.notice_key(o) for o in orders])}
    counts = _delivery_counts(list(notices.values()))
    found = []
    for order in orders:
        customers = order.isolation.get("customers", {})
        notice = notices.get(outage_notice.notice_key(order))
        found.append(
            {
                "number": order.number,
                "utility": order.network.utility,
                "customers": customers.get("count", 0),
                "sensitive": customers.get("sensitive_count", 0),
                "notice": counts[notice.pk].get("sms", {}) if notice else None,
                "restored": outage_ended(order),
            }
        )
    return found


def level_in_force(activation: Activation) -> tuple[plans.Level, tuple[plans.Level, ...]]:
    """The activation's level, and all of its plan's."""
    levels = plan_levels(activation.plan)
    return next(lv for lv in levels if lv.level == activation.level), levels


def activation_json(activation: Activation) -> dict:
    level, levels = level_in_force(activation)
    now = timezone.now()
    return {
        "plan": plan_json(activation.plan),
        "level": activation.level,
        "level_label": level_label(activation.level),
        "activated_at": iso(activation.activated_at),
        "facts": activation.facts,
        "levels": [lv.level for lv in levels],
        "in_force": plans.level_json(level),
        "departments": list(
            Organisation.objects.filter(code__in=list(level.departments)).order_by("code").values("code", "name")
        ),
        "history": [
            {
                "at": iso(change.at),
                "from_level": change.from_level,
                "to_level": change.to_level,
                "from_label": level_label(change.from_level) if change.from_level else None,
                "to_label": level_label(change.to_level),
                "reason": change.reason,
                "actor": change.actor.display_name if change.actor else None,
            }
            for change in activation.changes.select_related("actor")
        ],
        "notifications": notifications_json(activation.incident),
        "outages": outages_json(activation.incident),
        "checklist": [
            {
                "id": item.pk,
                "level": item.level,
                "text": item.text,
                "owner": item.owner,
                "due_at": iso(item.due_at),
                "done_at": iso(item.done_at),
                "done_by": item.done_by.display_name if item.done_by else None,
                "note": item.note,
                "overdue": item.done_at is None and item.due_at < now,
            }
            for item in activation.checklist.select_related("done_by")
        ],
    }


HAZARD_RADIUS_M = 1000  # the plan section lists the hazard sources this close to the incident


def surroundings(viewer, activation: Activation) -> dict:
    """What the level in force asks to stage, each with the nearest qualifying resources by road time (应急资源), and
    the hazard sources near the incident (危险源), as the viewer may see them."""
    incident = activation.incident
    origin = resources.Origin(*incident.geom.coords, incident.pk, incident.number)
    level, _levels = level_in_force(activation)
    labels = {i["code"]: i["label"] for i in resources.supply_items()} | {
        s["code"]: s["label"] for s in resources.specialties("skill")
    }
    stage = []
    for line in level.stage:
        found = resources.search(
            viewer, origin, line.kind,
            item=line.item if line.kind == "depot" else None,
            skill=line.item if line.kind == "team" and line.item else None,
            minimum=1 if line.kind == "shelter" else line.quantity,
            limit=max(3, line.quantity) if line.kind == "shelter" else 3,
        )  # fmt: skip
        stage.append({"kind": line.kind, "item": line.item, "item_label": labels.get(line.item, line.item),
                      "quantity": line.quantity, "results": found["results"]})  # fmt: skip
    hazards = resources.search(viewer, origin, "hazard", radius_m=HAZARD_RADIUS_M, limit=5)["results"]
    return {"stage": stage, "hazards": hazards}


def after_action(incident: Incident, activation: Activation) -> dict:
    """总结评估: every plan action against its deadline, the units the run card asked for against those sent and
    when they arrived, the level history; figures in seconds from activation."""
    start = activation.activated_at
    actions = [
        {
            "text": item.text,
            "owner": item.owner,
            "level": item.level,
            "due_s": round((item.due_at - start).total_seconds()),
            "done_s": round((item.done_at - start).total_seconds()) if item.done_at else None,
            "on_time": item.done_at is not None and item.done_at <= item.due_at,
        }
        for item in activation.checklist.all()
    ]
    assignments = list(incident.assignments.select_related("vehicle"))
    run_card = incident.run_card or []
    units = []
    for agency, kind, count in run_card:
        mine = [a for a in assignments if a.agency == agency and a.vehicle.kind == kind]
        arrivals = sorted(a.on_scene_at for a in mine if a.on_scene_at)
        units.append(
            {
                "agency": agency,
                "unit_kind": kind,
                "unit_kind_label": str(Vehicle.Kind(kind).label),
                "required": count,
                "sent": len(mine),
                "first_on_scene_s": round((arrivals[0] - start).total_seconds()) if arrivals else None,
            }
        )
    return {
        "incident": {"id": incident.pk, "number": incident.number, "status": incident.status,
                     "closed_at": iso(incident.closed_at)},
        "activation": activation_json(activation),
        "actions": actions,
        "actions_on_time": sum(a["on_time"] for a in actions),
        "actions_late_or_open": sum(not a["on_time"] for a in actions),
        "units": units,
        "duration_s": round(((incident.closed_at or timezone.now()) - start).total_seconds()),
    }  # fmt: skip
