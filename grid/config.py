"""Versioned case configuration (应用维护): each category's row — its time limits and its settings (department type,
call-back, duplicate check, active) — and the routing rules (派遣规则).

An edit goes into the draft; publishing numbers the draft and makes it the version new cases are filed under
(``Case.config_version``, read by ``selectors.case_limits`` and ``selectors.responsible_department``), so an open
case keeps the limits, routing and call-back rule it was filed with. The first draft is preceded by version 1,
the baseline: the category table and the responsibilities as they were, given to every case filed until then.

Publishing also writes the version back to ``Category`` and ``Responsibility`` (the rules by department type),
which the category list, intake (active, the duplicate check), the department list and the component survey read.
From the first version on the Django admin shows these fields and responsibilities read-only; a CSV import
(``load_grid_categories``) still writes the category table but reaches no case until it is entered here: the
versions are the truth.

The JSON calls a category's row ``limits`` (in ``categories()`` and in ``diff()``, whose answer each published
version keeps in ``changes``), though it holds the settings too.

Services (state changes, one transaction each) and the reads of the configuration screen, in one module
because they share the version rows and their JSON shape.
"""

import math

from django.db import IntegrityError, transaction
from django.db.models import F, Max
from django.utils import timezone

from core.errors import InputError, Refusal
from core.models import AdminArea, Organisation, User
from core.services import record_audit

from . import services
from .calendar import LimitUnit
from .models import Case, Category, CategoryLimits, ConfigVersion, DepartmentType, Responsibility, RoutingRule

LIMIT_FIELDS = ("confirmation_hours", "dispatch_hours", "handling_limit", "handling_unit", "verification_hours")
SETTING_FIELDS = ("department_type", "callback_required", "duplicate_radius_m", "duplicate_window_hours", "active")
ROW_FIELDS = LIMIT_FIELDS + SETTING_FIELDS  # a category's row in a version (CategoryLimits)
# Upper bounds against typing errors (an extra zero), not policy: the CSV's longest limit is 72 natural hours.
HOURS_MAX = 80.0  # a stage limit in working hours: confirmation, dispatch, verification (two working weeks)
HANDLING_MAX = {LimitUnit.WORKING_HOURS: 400.0, LimitUnit.WORKING_DAYS: 60.0, LimitUnit.NATURAL_HOURS: 1440.0}
RADIUS_MAX = 1000.0  # duplicate check: metres around a report (the default is 50)
WINDOW_MAX = 720.0  # duplicate check: hours back (a month; the default is 72)


class NoDraft(Refusal):
    """Publishing or discarding needs a draft."""

    code = "no_draft"


# -- reads -------------------------------------------------------------------------------------------------


def draft() -> ConfigVersion | None:
    return ConfigVersion.objects.filter(number__isnull=True).first()


def latest() -> ConfigVersion | None:
    return ConfigVersion.objects.filter(number__isnull=False).order_by("-number").first()


def version(ref: str | None, field: str = "version") -> ConfigVersion:
    """A version by number, or ``draft``; InputError naming ``field`` if there is none."""
    ref = (ref or "").strip()
    if ref == "draft":
        found = draft()
    elif ref.isascii() and ref.isdigit() and len(ref) <= 9:
        found = ConfigVersion.objects.filter(number=int(ref)).first()
    else:
        raise InputError(field, "a version number or 'draft'")
    if found is None:
        raise InputError(field, f"no version {ref!r}")
    return found


def version_json(v: ConfigVersion) -> dict:
    by = v.published_by
    return {
        "number": v.number,
        "draft": v.number is None,
        "created_at": v.created_at.isoformat(),
        "published_at": v.published_at.isoformat() if v.published_at else None,
        "published_by": (by.get_full_name() or by.username) if by else None,
        "note": v.note,
        "changes": v.changes,
    }


def versions() -> list[dict]:
    """The draft (if any) and every published version, newest first, with what each one changed."""
    found = ConfigVersion.objects.select_related("published_by").order_by(F("number").desc(nulls_first=True))
    return [version_json(v) for v in found]


def _rows_of(v: ConfigVersion | None) -> dict[int, dict]:
    """Each category's row (``ROW_FIELDS``) in ``v``, by category id."""
    if v is None:  # nothing published yet: the category table is the configuration
        rows = Category.objects.values("pk", *ROW_FIELDS)
        return {row.pop("pk"): row for row in rows}
    rows = CategoryLimits.objects.filter(version=v).values("category_id", *ROW_FIELDS)
    return {row.pop("category_id"): row for row in rows}


def categories() -> dict:
    """Every category, inactive ones too (so one can be re-activated), with the row new cases get now and, when a
    draft exists, the draft's."""
    current, pending = latest(), draft()
    now_rows = _rows_of(current)
    draft_rows = _rows_of(pending) if pending else {}
    rows = []
    for c in Category.objects.order_by("scheme", "code"):
        rows.append(
            {
                "code": c.code,
                "name": c.name,
                "major": c.major_name,
                "scheme": c.scheme,
                "kind": c.kind,
                "limits": now_rows.get(c.pk) or {f: getattr(c, f) for f in ROW_FIELDS},
                "draft": draft_rows.get(c.pk),
            }
        )
    return {
        "version": version_json(current) if current else None,
        "draft": version_json(pending) if pending else None,
        "categories": rows,
    }


def _rule_json(rule) -> dict:
    category = getattr(rule, "category", None)
    return {
        "id": rule.pk,
        "category": {"code": category.code, "name": category.name} if category else None,
        "department_type": rule.department_type or None,
        "district": {"id": rule.district.pk, "code": rule.district.code, "name": rule.district.name}
        if rule.district
        else None,
        "organisation": {"id": rule.organisation.pk, "code": rule.organisation.code, "name": rule.organisation.name},
    }


def rules(v: ConfigVersion | None) -> list[dict]:
    """The routing rules of a version (of the responsibility table before any version)."""
    if v is None:
        found = Responsibility.objects.select_related("organisation", "district")
    else:
        found = v.rules.select_related("category", "organisation", "district")
    return sorted(
        (_rule_json(r) for r in found),
        key=lambda r: (  # category rules (the exceptions) before the rules by department type
            r["category"] is None,
            r["category"]["code"] if r["category"] else "",
            r["department_type"] or "",
            r["district"]["code"] if r["district"] else "",
        ),
    )


def diff(old: ConfigVersion | None, new: ConfigVersion) -> dict:
    """What ``new`` changes against ``old``: each changed field of a category's row, each added, removed or re-routed
    rule."""
    before, after = _rows_of(old), _rows_of(new)
    changed = [pk for pk in set(before) | set(after) if before.get(pk) != after.get(pk)]
    limits = []
    for pk, code, name in Category.objects.filter(pk__in=changed).order_by("code").values_list("pk", "code", "name"):
        was, now = before.get(pk, {}), after.get(pk, {})
        limits.extend(
            {"code": code, "name": name, "field": f, "from": was.get(f), "to": now.get(f)}
            for f in ROW_FIELDS
            if was.get(f) != now.get(f)
        )
    old_rules = {_rule_key(r): r for r in rules(old)}
    new_rules = {_rule_key(r): r for r in rules(new)}
    routing = []
    for key in sorted(set(old_rules) | set(new_rules)):
        was, now = old_rules.get(key), new_rules.get(key)
        if was and now and was["organisation"]["id"] == now["organisation"]["id"]:
            continue
        change = "changed" if was and now else "added" if now else "removed"
        rule = now or was
        routing.append(
            {
                "change": change,
                "category": rule["category"],
                "department_type": rule["department_type"],
                "district": rule["district"],
                "from": was["organisation"] if was else None,
                "to": now["organisation"] if now else None,
            }
        )
    return {"limits": limits, "rules": routing}


def _rule_key(rule: dict) -> tuple[str, str, str]:
    return (
        rule["category"]["code"] if rule["category"] else "",
        rule["department_type"] or "",
        rule["district"]["code"] if rule["district"] else "",
    )


# -- services ----------------------------------------------------------------------------------------------


def _copy_into(target: ConfigVersion, source: ConfigVersion | None) -> None:
    """The category rows and rules of ``source`` (the category and responsibility tables when None) into ``target``."""
    limits = [CategoryLimits(version=target, category_id=pk, **row) for pk, row in _rows_of(source).items()]
    CategoryLimits.objects.bulk_create(limits)
    if source is None:
        found = Responsibility.objects.values("department_type", "organisation_id", "district_id")
        new_rules = [RoutingRule(version=target, **row) for row in found]
    else:
        found = source.rules.values("category_id", "department_type", "organisation_id", "district_id")
        new_rules = [RoutingRule(version=target, **row) for row in found]
    RoutingRule.objects.bulk_create(new_rules)


def open_draft(actor: User) -> ConfigVersion:
    """The draft, created from the latest version if there is none (after the baseline, the first time)."""
    existing = draft()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            now = timezone.now()
            base = latest()
            if base is None:
                base = ConfigVersion.objects.create(
                    number=1, published_at=now, published_by=None, changes={"baseline": True}
                )
                _copy_into(base, None)
                Case.objects.filter(config_version__isnull=True).update(config_version=base)
                record_audit(actor, "grid.config.baseline", base, "configuration version 1 (baseline)")
            created = ConfigVersion.objects.create(number=None)
            _copy_into(created, base)
            return created
    except IntegrityError:  # another administrator opened it at the same moment
        return draft()


def _draft_for_update() -> ConfigVersion:
    found = ConfigVersion.objects.select_for_update().filter(number__isnull=True).first()
    if found is None:
        raise NoDraft("there is no draft")
    return found


def _number(data: dict, name: str) -> float:
    value = data[name]
    if isinstance(value, bool):
        raise InputError(name, "must be a number")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InputError(name, "must be a number") from None
    if not math.isfinite(number) or number <= 0:
        raise InputError(name, "must be a positive number")
    return number


def _checked_row(data: dict, current: dict) -> dict:
    """``current`` with the fields of ``data``, each checked; InputError naming the first bad one."""
    unknown = sorted(set(data) - set(ROW_FIELDS))
    if unknown:
        raise InputError(unknown[0], f"unknown field; one of {', '.join(ROW_FIELDS)}")
    values = dict(current)
    if "handling_unit" in data:
        if not isinstance(data["handling_unit"], str) or data["handling_unit"] not in LimitUnit._value2member_map_:
            raise InputError("handling_unit", f"one of {', '.join(LimitUnit)}")
        values["handling_unit"] = data["handling_unit"]
    for name in ("confirmation_hours", "dispatch_hours", "verification_hours"):
        if name in data:
            values[name] = _number(data, name)
            if values[name] > HOURS_MAX:
                raise InputError(name, f"at most {HOURS_MAX:g} working hours")
    if "handling_limit" in data:
        values["handling_limit"] = _number(data, "handling_limit")
    top = HANDLING_MAX[LimitUnit(values["handling_unit"])]
    if values["handling_limit"] > top:
        raise InputError("handling_limit", f"at most {top:g} {values['handling_unit']}")
    if "department_type" in data:
        if not isinstance(data["department_type"], str) or data["department_type"] not in DepartmentType.values:
            raise InputError("department_type", f"one of {', '.join(DepartmentType.values)}")
        values["department_type"] = data["department_type"]
    for name in ("callback_required", "active"):
        if name in data:
            if not isinstance(data[name], bool):  # not "false" nor 0: a JSON boolean
                raise InputError(name, "must be true or false")
            values[name] = data[name]
    for name, most, unit in (("duplicate_radius_m", RADIUS_MAX, "m"), ("duplicate_window_hours", WINDOW_MAX, "h")):
        if name in data:
            values[name] = _number(data, name)
            if values[name] > most:
                raise InputError(name, f"at most {most:g} {unit}")
    return values


def set_limits(actor: User, code: str, data: dict) -> dict:
    """Change a category's row (limits and settings) in the draft, opened if needed; answers the draft's row. Bad
    input leaves everything as it was, the draft not opened either."""
    code = (code or "").strip().upper()
    category = Category.objects.filter(code=code).first() if code.isascii() and code.isalnum() else None
    if category is None:
        raise InputError("code", f"unknown category code {code!r}")
    if not isinstance(data, dict) or not data:
        raise InputError("limits", f"send one or more of {', '.join(ROW_FIELDS)}")
    with transaction.atomic():
        pending = open_draft(actor)
        _draft_for_update()
        row = CategoryLimits.objects.select_for_update().filter(version=pending, category=category).first()
        current = {f: getattr(row or category, f) for f in ROW_FIELDS}
        values = _checked_row(data, current)
        CategoryLimits.objects.update_or_create(version=pending, category=category, defaults=values)
    return values


def _rule_fields(data: dict) -> dict:
    """Category or department type, district (optional) and organisation of a rule, checked."""
    code = str(data.get("category_code") or "").strip().upper()
    dtype = str(data.get("department_type") or "").strip()
    if bool(code) == bool(dtype):
        raise InputError("category_code", "give a category_code or a department_type (one of them)")
    fields = {"category": None, "department_type": ""}
    if code:
        fields["category"] = Category.objects.filter(code=code).first()
        if fields["category"] is None:
            raise InputError("category_code", f"unknown category code {code!r}")
    elif dtype not in DepartmentType.values:
        raise InputError("department_type", f"unknown department type {dtype!r}")
    else:
        fields["department_type"] = dtype
    fields["district"] = None
    if data.get("district_id") not in (None, ""):
        fields["district"] = _pk_of(AdminArea.objects.filter(level=AdminArea.Level.DISTRICT), data, "district_id")
    if data.get("organisation_id") in (None, ""):
        raise InputError("organisation_id", "the organisation the cases go to is required")
    fields["organisation"] = _pk_of(Organisation.objects.all(), data, "organisation_id")
    return fields


def _pk(value, name: str) -> int:
    """An id as sent (a number or its digits), inside the database's range; InputError naming ``name``."""
    try:
        pk = int(value)
    except (TypeError, ValueError, OverflowError):
        raise InputError(name, f"unknown {name.removesuffix('_id')} {value!r}") from None
    if not 0 < pk < 2**63:
        raise InputError(name, f"unknown {name.removesuffix('_id')} {value!r}")
    return pk


def _pk_of(queryset, data: dict, name: str):
    try:
        return queryset.get(pk=_pk(data[name], name))
    except queryset.model.DoesNotExist:
        raise InputError(name, f"unknown {name.removesuffix('_id')} {data[name]!r}") from None


def _save_rule(rule: RoutingRule) -> RoutingRule:
    field = "category_code" if rule.category_id else "department_type"
    try:
        with transaction.atomic():
            rule.save()
    except IntegrityError:
        raise InputError(field, "this version already has a rule for it in this district; change that one") from None
    return rule


def add_rule(actor: User, data: dict) -> dict:
    fields = _rule_fields(data)
    pending = open_draft(actor)
    with transaction.atomic():
        _draft_for_update()
        return _rule_json(_save_rule(RoutingRule(version=pending, **fields)))


def _draft_rule(rule_id) -> RoutingRule:
    pending = _draft_for_update()
    try:
        return pending.rules.select_for_update().get(pk=_pk(rule_id, "rule"))
    except RoutingRule.DoesNotExist:
        raise InputError("rule", f"no rule {rule_id!r} in the draft") from None


def change_rule(actor: User, rule_id, data: dict) -> dict:
    with transaction.atomic():
        rule = _draft_rule(rule_id)
        merged = {
            "category_code": rule.category.code if rule.category_id else "",
            "department_type": rule.department_type,
            "district_id": rule.district_id,
            "organisation_id": rule.organisation_id,
        }
        if data.get("category_code"):  # a rule moves from a type to a category or back
            merged["department_type"] = ""
        if data.get("department_type"):
            merged["category_code"] = ""
        merged.update(data)
        for name, value in _rule_fields(merged).items():
            setattr(rule, name, value)
        return _rule_json(_save_rule(rule))


def remove_rule(actor: User, rule_id) -> None:
    with transaction.atomic():
        _draft_rule(rule_id).delete()


def discard_draft(actor: User) -> None:
    with transaction.atomic():
        _draft_for_update().delete()


def publish(actor: User, note: str = "") -> ConfigVersion:
    """Number the draft and make it the version new cases are filed under; cases already filed keep theirs."""
    if len(note) > 200:
        raise InputError("note", "at most 200 characters")
    with transaction.atomic():
        pending = _draft_for_update()
        previous = latest()
        changes = diff(previous, pending)
        if not changes["limits"] and not changes["rules"]:
            raise InputError("draft", "the draft changes nothing")
        n_settings = sum(c["field"] in SETTING_FIELDS for c in changes["limits"])
        pending.number = (ConfigVersion.objects.aggregate(top=Max("number"))["top"] or 0) + 1
        pending.published_at, pending.published_by = timezone.now(), actor
        pending.note, pending.changes = note.strip(), changes
        pending.save()
        _write_back(pending)
        record_audit(
            actor,
            "grid.config.publish",
            pending,
            f"configuration version {pending.number}: {len(changes['limits']) - n_settings} limit(s), "
            f"{n_settings} setting(s), {len(changes['rules'])} rule(s) changed",
            changes=changes,
        )
        transaction.on_commit(_forget_categories)
    return pending


def _write_back(v: ConfigVersion) -> None:
    """The tables the rest of CityOps reads (category list, intake and its duplicate check, departments, survey
    owners) follow the new version."""
    rows = {r.category_id: r for r in v.limits.all()}
    changed = []
    for category in Category.objects.filter(pk__in=rows):
        row = rows[category.pk]
        if any(getattr(category, f) != getattr(row, f) for f in ROW_FIELDS):
            for f in ROW_FIELDS:
                setattr(category, f, getattr(row, f))
            changed.append(category)
    Category.objects.bulk_update(changed, ROW_FIELDS)
    Responsibility.objects.all().delete()
    Responsibility.objects.bulk_create(
        Responsibility(department_type=r.department_type, organisation_id=r.organisation_id, district_id=r.district_id)
        for r in v.rules.filter(category__isnull=True)
    )


def _forget_categories() -> None:
    """This process's category table (services' cache) shows the new version at once; others within its cache
    time."""
    services._cache.pop("categories", None)
