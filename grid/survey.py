"""部件普查 and 变更: adding, moving, editing and retiring single components from the survey screen.

There is no history table: the audit log is each component's history. Every change writes one
:class:`core.models.AuditEntry` (target ``grid.component``) whose ``changes`` hold ``{field: {"before", "after"}}``
for each field it changed (the position as ``[lon, lat]``, the owner as ``{"id", "name"}``, the grid as its code);
``selectors.component_history`` reads them back in order.
"""

from django.contrib.gis.geos import GEOSGeometry
from django.db import transaction
from django.utils import timezone

from core.errors import InputError, Refusal
from core.models import AdminArea, Organisation, User
from core.services import record_audit

from . import selectors
from .importers import SERIAL_DIGITS, compose_ident
from .models import Component, ComponentClass
from .places import locate

# What a surveyor may change on a component; the class is part of the identifier, so a wrong class is a retire
# and a new component, never an edit.
EDITABLE = ("name", "owner", "maintainer", "status", "note")
RETIRED = (Component.Status.REMOVED, Component.Status.ABANDONED)
HISTORY_FIELDS = ("grid", *EDITABLE)  # besides the class and the position
SURVEY_SOURCE = "普查"


def _position(point: GEOSGeometry) -> list[float]:
    return [round(point.x, 7), round(point.y, 7)]


def _audit_value(component: Component, field: str):
    """A field's value as the history keeps it: readable after the row changes again."""
    if field == "geom":
        return _position(component.geom)
    if field == "owner":
        return {"id": component.owner.pk, "name": component.owner.name} if component.owner_id else None
    if field == "grid":
        return component.grid.code if component.grid_id else None
    if field == "component_class":
        return component.component_class.code
    return getattr(component, field)


_AUDIT_NAMES = {"geom": "location"}


def _snapshot(component: Component, fields) -> dict:
    return {_AUDIT_NAMES.get(f, f): _audit_value(component, f) for f in fields}


def _changes(before: dict, after: dict) -> dict:
    return {f: {"before": before[f], "after": after[f]} for f in after if before.get(f) != after[f]}


def clean_attributes(data: dict) -> dict:
    """The editable attributes in ``data`` as model values; an unknown name or a bad value is an InputError
    naming the field."""
    values = {}
    for field, value in data.items():
        if field not in EDITABLE:
            raise InputError(field, f"not an attribute that can be set (one of {', '.join(EDITABLE)})")
        if field == "owner":
            values["owner"] = _owner(value)
        elif field == "status":
            if value not in Component.Status.values:
                raise InputError("status", f"must be one of {', '.join(Component.Status.values)}")
            values["status"] = value
        else:
            if value is None:
                value = ""
            if not isinstance(value, str):
                raise InputError(field, "must be text")
            limit = Component._meta.get_field(field).max_length
            value = value.strip()
            if len(value) > limit:
                raise InputError(field, f"at most {limit} characters")
            values[field] = value
    return values


def _owner(value) -> Organisation | None:
    """An organisation by its id (a number, or its digits as text); none for null or empty."""
    if value in (None, ""):
        return None
    found = None
    if (isinstance(value, int) and not isinstance(value, bool)) or (isinstance(value, str) and value.isdigit()):
        found = Organisation.objects.filter(pk=int(value)).first()
    if found is None:
        raise InputError("owner", f"no organisation {value!r}")
    return found


def component_class(code) -> ComponentClass:
    """A component class by its 5-digit GB/T 47678.5-2026 code."""
    found = ComponentClass.objects.filter(code=str(code or "").strip()).first()
    if found is None:
        raise InputError("component_class", f"unknown component class {code!r} (5-digit GB/T 47678.5-2026 code)")
    return found


def _next_serial(county: str, cls: ComponentClass) -> int:
    """The next free serial of a class in a county: one past the highest in use (retired ones included, so an
    identifier is never given twice). The class row is locked until commit, so two surveyors never draw the
    same serial."""
    ComponentClass.objects.select_for_update().filter(pk=cls.pk).first()
    highest = (
        Component.objects.filter(ident__startswith=f"{county}{cls.code}")
        .order_by("-ident")
        .values_list("ident", flat=True)
        .first()
    )
    serial = int(highest[-SERIAL_DIGITS:]) + 1 if highest else 1
    if serial >= 10**SERIAL_DIGITS:
        raise InputError("component_class", f"no serial left for class {cls.code} in {county}")
    return serial


@transaction.atomic
def add_component(actor: User | None, class_code, position: GEOSGeometry, attributes: dict) -> Component:
    """A newly surveyed component. Its identifier is the county of the district it stands in, its class and the
    next serial; its grid is the unit grid at the position; the owner defaults to the department responsible for
    the class there, the name to the class's name."""
    cls = component_class(class_code)
    values = clean_attributes(attributes)
    place = locate(position, None)
    county = AdminArea.objects.filter(pk=place.district_id).values_list("code", flat=True).first()
    if county is None:
        raise InputError("location", "the position is in no district")
    if "owner" not in values:
        values["owner"] = selectors.responsible_organisation(cls.department_type, place.district_id)
    today = timezone.localdate()
    component = Component.objects.create(
        ident=compose_ident(county, cls.code, _next_serial(county, cls)),
        component_class=cls,
        geom=position,
        grid_id=place.grid.pk if place.grid else None,
        source=SURVEY_SOURCE,
        surveyed_on=today,
        **{"name": values.pop("name", "") or cls.name, **values},
    )
    after = _snapshot(component, ("component_class", "geom", *HISTORY_FIELDS))
    changes = {f: {"before": None, "after": v} for f, v in after.items() if v not in (None, "")}
    record_audit(actor, "component.add", component, f"{component.ident} {cls.name}", changes)
    return component


def _locked(component: Component) -> Component:
    return Component.objects.select_for_update(of=("self",)).select_related("owner", "grid").get(pk=component.pk)


@transaction.atomic
def move_component(actor: User | None, component: Component, position: GEOSGeometry) -> Component:
    """A component put where it really stands (dragged on the map); its unit grid follows the position. The
    identifier stays: cases and other systems know the component by it."""
    component = _locked(component)
    if component.status in RETIRED:
        raise Refusal(f"component {component.ident} is retired ({component.status}); it cannot be moved")
    place = locate(position, None)
    before = _snapshot(component, ("geom", "grid"))
    component.geom = position
    component.grid = place.grid
    changes = _changes(before, _snapshot(component, ("geom", "grid")))
    if changes:  # dropped where it was: nothing to record
        component.changed_on = timezone.localdate()
        component.save(update_fields=["geom", "grid", "changed_on"])
        record_audit(actor, "component.move", component, f"{component.ident} moved", changes)
    return component


def _change(actor, component: Component, values: dict, action: str) -> Component:
    before = _snapshot(component, values)
    for field, value in values.items():
        setattr(component, field, value)
    changes = _changes(before, _snapshot(component, values))
    if changes:
        component.changed_on = timezone.localdate()
        component.save(update_fields=[*values, "changed_on"])
        record_audit(actor, action, component, f"{component.ident} {', '.join(changes)}", changes)
    return component


@transaction.atomic
def edit_component(actor: User | None, component: Component, attributes: dict) -> Component:
    """Attributes found in the survey (status, owner, maintainer, name, note); only real changes are recorded."""
    values = clean_attributes(attributes)
    return _change(actor, _locked(component), values, "component.edit")


@transaction.atomic
def retire_component(
    actor: User | None, component: Component, status: str = Component.Status.REMOVED, note: str | None = None
) -> Component:
    """A component taken out of service (移除) or abandoned (废弃) is kept with that status, not deleted: cases
    filed against it keep their link (a deleted row would set their ``component`` to null) and its identifier is
    never given again. A retired component can be put back by editing its status."""
    if status not in RETIRED:
        raise InputError("status", f"a retired component is {' or '.join(RETIRED)}")
    values = clean_attributes({"status": status} if note is None else {"status": status, "note": note})
    component = _locked(component)
    if component.status == status:
        raise Refusal(f"component {component.ident} is already {status}")
    return _change(actor, component, values, "component.retire")
