"""State changes of resources, one transaction each, audited (core AuditEntry) and published on the live topic
"resources" as they commit. The functions the command centre's flow calls:

- ``request_supplies(user, viewer, incident_id, item, quantity)`` → a SupplyRequest for an incident;
- ``allocate(user, request, depot, quantity)`` → an Allocation taken from the depot's free stock, atomically: the
  stock row's UPDATE only succeeds while ``on_hand - allocated >= quantity``, so concurrent allocations of the last
  items never oversubscribe (the loser gets ``Shortfall``, a 409 naming what is missing);
- ``release(user, allocation)`` puts it back, ``consume(user, allocation)`` takes it out of stock;
- ``check_in(user, shelter, people)`` / ``check_out`` move a shelter's occupancy against its capacity the same way;
- ``save_resource`` / ``remove_resource`` / ``set_stock`` / ``set_shelter_status`` edit the layers.
"""

from django.contrib.gis.db.models import PolygonField
from django.contrib.gis.db.models.functions import Transform
from django.db import IntegrityError, transaction
from django.db.models import F, Func, Model
from django.utils import timezone

from core.errors import InputError, Refusal
from core.events import publish
from core.geo import point_feature
from core.models import User
from core.realtime import Viewer
from core.selectors import metric_srid
from core.services import record_audit
from dispatch import selectors as dispatch_selectors

from . import selectors
from .models import (
    Allocation,
    Depot,
    Expert,
    HazardSource,
    RescueTeam,
    Shelter,
    Specialty,
    StockItem,
    SupplyItem,
    SupplyRequest,
)

LAYER_OF = {RescueTeam: "teams", Depot: "depots", Shelter: "shelters", HazardSource: "hazards"}


class Shortfall(Refusal):
    """Not enough free stock (or shelter places) for the request: nothing was taken."""

    code = "shortfall"

    def __init__(self, what: str, wanted: int, available: int):
        super().__init__(
            f"{what}: wanted {wanted}, only {available} free (short by {wanted - available})",
            wanted=wanted,
            available=available,
            shortfall=wanted - available,
        )


def _actor(user) -> User | None:
    return user if user is not None and user.is_authenticated else None


def _feature(row) -> dict:
    """The row as consoles see it (read again: the caller's instance may predate an atomic UPDATE)."""
    if isinstance(row, RescueTeam):
        return selectors.team_feature(selectors.teams(selectors.SYSTEM).get(pk=row.pk))
    if isinstance(row, Depot):
        return selectors.depot_feature(selectors.depots(selectors.SYSTEM).get(pk=row.pk))
    if isinstance(row, Shelter):
        return selectors.shelter_feature(selectors.shelters(selectors.SYSTEM).get(pk=row.pk))
    return selectors.hazard_feature(selectors.hazards(selectors.SYSTEM).get(pk=row.pk))


def _orgs(row) -> list[int]:
    """The organisations an event concerns: the holder (hazard sources concern every desk in their area)."""
    return [row.organisation_id] if hasattr(row, "organisation_id") else []


def _publish_row(type_: str, row) -> dict:
    feature = _feature(row)
    publish("resources", type_, feature, geom=row.geom, orgs=_orgs(row))
    return feature


def _check_codes(field: str, codes, kind: str) -> list[str]:
    known = set(Specialty.objects.filter(kind=kind).values_list("code", flat=True))
    unknown = [code for code in codes if code not in known]
    if unknown:
        raise InputError(field, f"unknown code(s): {', '.join(unknown)}")
    return list(dict.fromkeys(codes))


# -- layers ------------------------------------------------------------------------------------------------------


@transaction.atomic
def save_resource(user, model, instance=None, **fields):
    """Create (instance None) or edit a team, depot, shelter or hazard source; the district follows the point.
    Invariants (on duty ≤ headcount, occupancy ≤ capacity) are refused as input errors naming the field."""
    if model is RescueTeam and "skills" in fields:
        fields["skills"] = _check_codes("skills", fields["skills"], Specialty.Kind.SKILL)
    row = instance or model()
    before = {name: _plain(getattr(row, name, None)) for name in fields} if instance else {}
    for name, value in fields.items():
        setattr(row, name, value)
    if model is RescueTeam and row.on_duty > row.headcount:
        raise InputError("on_duty", "cannot exceed the headcount")
    if model is Shelter and row.occupancy > row.capacity:
        raise InputError("capacity", f"cannot be below the occupancy ({row.occupancy})")
    if "geom" in fields or instance is None:
        row.district = dispatch_selectors.district_at(row.geom)
    row.save()
    if model is HazardSource:
        draw_hazard_zones(HazardSource.objects.filter(pk=row.pk))
    changes = {name: [before.get(name), _plain(value)] for name, value in fields.items()}
    record_audit(_actor(user), "resources.created" if instance is None else "resources.updated", row,
                 row.name, changes)  # fmt: skip
    _publish_row("resource.saved", row)
    return row


def draw_hazard_zones(hazards) -> None:
    """Each hazard source's circle: its radius buffered in the city's metric CRS, stored in WGS84 for the map."""
    srid = metric_srid()
    buffer = Func(Transform("geom", srid), F("radius_m"), function="ST_Buffer", output_field=PolygonField(srid=srid))
    hazards.update(zone=Transform(buffer, 4326))


def _plain(value):
    """A field's value as the audit log's JSON keeps it (geometries as WKT, rows by name)."""
    if hasattr(value, "wkt"):
        return value.wkt
    return str(value) if isinstance(value, Model) else value


@transaction.atomic
def remove_resource(user, row) -> None:
    """Remove a layer row; a depot whose stock is allocated to an incident is refused (release it first)."""
    if isinstance(row, Depot) and StockItem.objects.filter(depot=row, allocated__gt=0).exists():
        raise Refusal("the depot has stock allocated to incidents; release or consume it first")
    layer, pk, orgs = LAYER_OF[type(row)], row.pk, _orgs(row)
    record_audit(_actor(user), "resources.removed", row, row.name)
    try:
        with transaction.atomic():
            row.delete()
    except IntegrityError:
        raise Refusal("the row is referenced by allocations and cannot be removed") from None
    publish("resources", "resource.removed", {"type": "Feature", "id": pk, "geometry": None,
                                              "properties": {"layer": layer, "id": pk}}, orgs=orgs)  # fmt: skip


@transaction.atomic
def save_expert(user, instance=None, **fields) -> Expert:
    if "fields" in fields:
        fields["fields"] = _check_codes("fields", fields["fields"], Specialty.Kind.FIELD)
    expert = instance or Expert()
    for name, value in fields.items():
        setattr(expert, name, value)
    expert.save()
    changes = {name: "…" if name == "phone" else value for name, value in fields.items()}  # no phone in the log
    record_audit(_actor(user), "resources.expert_saved", expert, expert.name, changes)
    return expert


@transaction.atomic
def remove_expert(user, expert: Expert) -> None:
    record_audit(_actor(user), "resources.expert_removed", expert, expert.name)
    expert.delete()


def _publish_stock(depot_id: int) -> None:
    depot = selectors.depots(selectors.SYSTEM).get(pk=depot_id)
    feature = selectors.depot_feature(depot)
    publish("resources", "stock.changed", feature, geom=depot.geom, orgs=_orgs(depot))


@transaction.atomic
def set_stock(user, depot: Depot, item_code: str, on_hand: int) -> StockItem:
    """Restock or count a depot's item: the new quantity on hand may not fall below what is allocated."""
    item = SupplyItem.objects.filter(code=item_code).first()
    if item is None:
        raise InputError("item", f"unknown supplies code {item_code!r}")
    stock, _ = StockItem.objects.select_for_update().get_or_create(depot=depot, item=item, defaults={"on_hand": 0})
    if on_hand < stock.allocated:
        raise InputError("on_hand", f"cannot be below the quantity allocated to incidents ({stock.allocated})")
    before, stock.on_hand = stock.on_hand, on_hand
    stock.save(update_fields=["on_hand"])
    summary = f"{depot.name} {item.name}"
    record_audit(_actor(user), "resources.stock_set", stock, summary, {"on_hand": [before, on_hand]})
    _publish_stock(depot.pk)
    return stock


# -- requests and allocations ------------------------------------------------------------------------------------


def _publish_request(supply_request: SupplyRequest) -> dict:
    incident = dispatch_selectors.incidents_for(dispatch_selectors.CITY_WIDE).get(pk=supply_request.incident_id)
    row = selectors.request_row(SupplyRequest.objects.select_related("item").get(pk=supply_request.pk))
    feature = point_feature(row["id"], incident.geom, row)
    publish("resources", "supply_request.updated", feature, geom=incident.geom,
            orgs=dispatch_selectors.agency_org_ids(incident.agencies))  # fmt: skip
    return row


@transaction.atomic
def request_supplies(user, viewer: Viewer, incident_id: int, item_code: str, quantity: int, note: str = ""):
    """An operator asks for `quantity` of an item for an incident the viewer may see (dispatch's rule)."""
    incident = dispatch_selectors.visible_incident(viewer, incident_id)
    if incident is None:
        raise InputError("incident_id", f"no incident {incident_id} visible to you")
    item = SupplyItem.objects.filter(code=item_code).first()
    if item is None:
        raise InputError("item", f"unknown supplies code {item_code!r}")
    if quantity < 1:
        raise InputError("quantity", "must be at least 1")
    supply_request = SupplyRequest.objects.create(
        incident_id=incident.pk,
        incident_number=incident.number,
        item=item,
        quantity=quantity,
        note=note,
        requested_by=_actor(user),
        requested_at=timezone.now(),
    )
    record_audit(_actor(user), "resources.requested", supply_request, f"{incident.number} {item.name}×{quantity}")
    _publish_request(supply_request)
    return supply_request


def _outstanding(supply_request: SupplyRequest) -> int:
    taken = supply_request.allocations.exclude(status=Allocation.Status.RELEASED).values_list("quantity", flat=True)
    return supply_request.quantity - sum(taken)


@transaction.atomic
def allocate(user, supply_request: SupplyRequest, depot: Depot, quantity: int) -> Allocation:
    """Take `quantity` of the request's item from one depot's free stock for the request, atomically.

    The request row is locked (its outstanding quantity is read once per allocation); the stock row is changed by
    one conditional UPDATE, so two operators taking the last items at once cannot both have them: the second finds
    the condition false and gets ``Shortfall`` naming how many were missing. Nothing is changed on refusal."""
    if quantity < 1:
        raise InputError("quantity", "must be at least 1")
    supply_request = SupplyRequest.objects.select_for_update().select_related("item").get(pk=supply_request.pk)
    if supply_request.status != SupplyRequest.Status.OPEN:
        raise Refusal(f"the request is {supply_request.status}")
    outstanding = _outstanding(supply_request)
    if quantity > outstanding:
        raise InputError("quantity", f"the request needs only {outstanding} more")
    taken = StockItem.objects.filter(
        depot=depot, item=supply_request.item, on_hand__gte=F("allocated") + quantity
    ).update(allocated=F("allocated") + quantity)
    if not taken:
        stock = StockItem.objects.filter(depot=depot, item=supply_request.item).first()
        raise Shortfall(f"{depot.name} {supply_request.item.name}", quantity, stock.available if stock else 0)
    stock = StockItem.objects.get(depot=depot, item=supply_request.item)
    allocation = Allocation.objects.create(
        request=supply_request, stock=stock, quantity=quantity, allocated_by=_actor(user), allocated_at=timezone.now()
    )
    if quantity == outstanding:
        supply_request.status = SupplyRequest.Status.FILLED
        supply_request.save(update_fields=["status"])
    record_audit(_actor(user), "resources.allocated", allocation,
                 f"{supply_request.incident_number} {depot.name} {supply_request.item.name}×{quantity}")  # fmt: skip
    _publish_stock(depot.pk)
    _publish_request(supply_request)
    return allocation


def _close_allocation(user, allocation: Allocation, status: str) -> Allocation:
    allocation = Allocation.objects.select_for_update().select_related("stock__depot", "request").get(pk=allocation.pk)
    if allocation.status != Allocation.Status.ALLOCATED:
        raise Refusal(f"the allocation is already {allocation.status}")
    change = {"allocated": F("allocated") - allocation.quantity}
    if status == Allocation.Status.CONSUMED:
        change["on_hand"] = F("on_hand") - allocation.quantity
    StockItem.objects.filter(pk=allocation.stock_id).update(**change)
    allocation.status, allocation.closed_at = status, timezone.now()
    allocation.save(update_fields=["status", "closed_at"])
    supply_request = allocation.request
    if status == Allocation.Status.RELEASED and supply_request.status == SupplyRequest.Status.FILLED:
        supply_request.status = SupplyRequest.Status.OPEN  # what went back is outstanding again
        supply_request.save(update_fields=["status"])
    record_audit(_actor(user), f"resources.{status}", allocation,
                 f"{supply_request.incident_number} {allocation.stock.depot.name}×{allocation.quantity}")  # fmt: skip
    _publish_stock(allocation.stock.depot_id)
    _publish_request(supply_request)
    return allocation


@transaction.atomic
def release(user, allocation: Allocation) -> Allocation:
    """The items came back unused (or were never sent): they are free again in the depot."""
    return _close_allocation(user, allocation, Allocation.Status.RELEASED)


@transaction.atomic
def consume(user, allocation: Allocation) -> Allocation:
    """The items were used up at the incident: they leave the depot's stock."""
    return _close_allocation(user, allocation, Allocation.Status.CONSUMED)


@transaction.atomic
def cancel_request(user, supply_request: SupplyRequest) -> SupplyRequest:
    """Close a request; what is still allocated to it is released."""
    supply_request = SupplyRequest.objects.select_for_update().get(pk=supply_request.pk)
    if supply_request.status == SupplyRequest.Status.CANCELLED:
        raise Refusal("the request is already cancelled")
    for allocation in supply_request.allocations.filter(status=Allocation.Status.ALLOCATED):
        _close_allocation(user, allocation, Allocation.Status.RELEASED)
    supply_request.status = SupplyRequest.Status.CANCELLED
    supply_request.save(update_fields=["status"])
    record_audit(_actor(user), "resources.request_cancelled", supply_request, supply_request.incident_number)
    _publish_request(supply_request)
    return supply_request


# -- shelters ----------------------------------------------------------------------------------------------------


@transaction.atomic
def check_in(user, shelter: Shelter, people: int) -> Shelter:
    """Admit `people` to an open shelter: one conditional UPDATE against its capacity (``Shortfall`` if full)."""
    if people < 1:
        raise InputError("people", "must be at least 1")
    admitted = Shelter.objects.filter(
        pk=shelter.pk, status=Shelter.Status.OPEN, capacity__gte=F("occupancy") + people
    ).update(occupancy=F("occupancy") + people)
    current = Shelter.objects.get(pk=shelter.pk)
    if not admitted:
        if current.status != Shelter.Status.OPEN:
            raise Refusal("the shelter is closed")
        raise Shortfall(current.name, people, current.capacity - current.occupancy)
    record_audit(_actor(user), "resources.checked_in", current, f"{current.name} +{people}")
    _publish_occupancy(current)
    return current


@transaction.atomic
def check_out(user, shelter: Shelter, people: int) -> Shelter:
    if people < 1:
        raise InputError("people", "must be at least 1")
    left = Shelter.objects.filter(pk=shelter.pk, occupancy__gte=people).update(occupancy=F("occupancy") - people)
    current = Shelter.objects.get(pk=shelter.pk)
    if not left:
        raise InputError("people", f"only {current.occupancy} are checked in")
    record_audit(_actor(user), "resources.checked_out", current, f"{current.name} -{people}")
    _publish_occupancy(current)
    return current


@transaction.atomic
def set_shelter_status(user, shelter: Shelter, status: str) -> Shelter:
    if status not in Shelter.Status.values:
        raise InputError("status", f"must be one of {', '.join(Shelter.Status.values)}")
    shelter = Shelter.objects.select_for_update().get(pk=shelter.pk)
    before, shelter.status = shelter.status, status
    shelter.save(update_fields=["status"])
    record_audit(_actor(user), "resources.shelter_status", shelter, shelter.name, {"status": [before, status]})
    _publish_occupancy(shelter)
    return shelter


def _publish_occupancy(shelter: Shelter) -> None:
    feature = _feature(shelter)
    publish("resources", "shelter.occupancy", feature, geom=shelter.geom, orgs=_orgs(shelter))
