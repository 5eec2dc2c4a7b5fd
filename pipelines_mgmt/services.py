"""State changes of the pipelines app; each one audited and published in its own transaction."""

from collections.abc import Callable
from contextlib import ExitStack

from django.contrib.gis.geos import Polygon
from django.core.files import File
from django.core.validators import slug_re
from django.db import connection, transaction
from django.utils import timezone

from core.errors import InputError, Refusal
from core.events import publish
from core.geo import point_feature
from core.hooks import IncidentOpened
from core.models import Organisation, User
from core.services import record_audit
from gis import importing

from . import gis_import, importers, selectors, survey_import
from .models import Network, RepairOrder, RepairRecord, Utility, Valve

INCIDENT_TOLERANCE_M = 150.0


def bump_network_version(network_id: int) -> int:
    """Give the network a never-used version so every process rebuilds its cached graph (graph.py).

    Call it in the transaction that changes the network's pipes, nodes or valves.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE pipelines_mgmt_network SET version = nextval('pipelines_mgmt_network_version_seq') "
            "WHERE id = %s RETURNING version",
            [network_id],
        )
        return cursor.fetchone()[0]


def valve_feature(valve: Valve) -> dict:
    return point_feature(
        valve.pk,
        valve.geom,
        {
            "code": valve.code,
            "network": valve.pipe.network.code,
            "normal_state": valve.normal_state,
            "operability": valve.operability,
        },
    )


@transaction.atomic
def set_valve_state(
    actor: User | None, valve: Valve, *, normal_state: str | None = None, operability: str | None = None
) -> Valve:
    """Record a valve's new normal position or operability (e.g. found seized during an exercise)."""
    changes = {}
    if normal_state is not None and normal_state != valve.normal_state:
        changes["normal_state"] = [valve.normal_state, normal_state]
        valve.normal_state = normal_state
    if operability is not None and operability != valve.operability:
        changes["operability"] = [valve.operability, operability]
        valve.operability = operability
    if not changes:
        return valve
    valve.save(update_fields=[*changes])
    bump_network_version(valve.pipe.network_id)
    record_audit(actor, "valve.update", valve, f"{valve.code}", changes)
    publish("pipeline", "valve.updated", valve_feature(valve), geom=valve.geom)
    return valve


def next_repair_order_number() -> str:
    """抢修-<year>-<six digits>, the digits from a database sequence (unique across processes)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval('pipelines_mgmt_repair_order_number_seq')")
        serial = cursor.fetchone()[0]
    return f"抢修-{timezone.localdate().year}-{serial:06d}"


def repair_order_feature(order: RepairOrder) -> dict:
    isolation = order.isolation
    return point_feature(
        order.number,
        order.burst_point,
        {
            "number": order.number,
            "status": order.status,
            "network": order.network.code,
            "utility": order.network.utility,
            "burst_pipe": order.burst_pipe.code,
            "valves_to_close": len(order.valves_to_close),
            "valves_closed": len(order.closed_valves),
            "customers": isolation["customers"]["count"],
            "sensitive_customers": isolation["customers"]["sensitive_count"],
            "incident_ref": order.incident_ref,
            "incident_id": order.incident_id,
            "total_length_m": isolation["total_length_m"],
        },
    )


def planned_valves(isolation: dict) -> list[dict]:
    """What an order keeps of its plan's valves to close (the crew's checklist)."""
    keys = ("order", "id", "code", "far_side", "unverified", "geometry")
    return [{key: valve[key] for key in keys} for valve in isolation["valves_to_close"]]


@transaction.atomic
def create_repair_order(
    actor: User | None,
    burst: selectors.Burst,
    *,
    failed_valves=(),
    incident_ref: str | None = None,
    incident_id: int | None = None,
    notes: str = "",
    exercise: bool = False,
) -> RepairOrder:
    """Plan the isolation of a burst and save it as a numbered repair order (抢修单)."""
    isolation = selectors.isolation_result(burst, failed_valves)
    order = RepairOrder.objects.create(
        number=next_repair_order_number(),
        network=burst.network,
        burst_pipe=burst.pipe,
        burst_point=burst.point,
        network_version=isolation["network"]["version"],
        isolation=isolation,
        valves_to_close=planned_valves(isolation),
        failed_valves=isolation["failed_valves"],
        incident_ref=incident_ref or None,
        incident_id=incident_id,
        notes=notes,
        exercise=exercise,
        created_by=actor if actor is not None and actor.is_authenticated else None,
    )
    record_audit(
        actor,
        "repair_order.create",
        order,
        f"{order.number} {burst.network.code} {burst.pipe.code}",
        {
            "valves_to_close": [v["code"] for v in order.valves_to_close],
            "incident_ref": order.incident_ref,
            "incident_id": order.incident_id,
        },
    )
    publish("pipeline", "repair_order.created", repair_order_feature(order), geom=order.burst_point)
    return order


# Valves are reported while the crew isolates the burst; after "isolated" the plan is done.
VALVE_REPORT_STATUSES = (RepairOrder.Status.OPEN, RepairOrder.Status.ISOLATING)
# The crew's steps after the valves: step → (the status it needs, the status it makes, the time it stamps).
CREW_STEPS = {
    "isolated": (RepairOrder.Status.ISOLATING, RepairOrder.Status.REPAIRING, "isolated_at"),
    "repaired": (RepairOrder.Status.REPAIRING, RepairOrder.Status.REPAIRED, "repaired_at"),
    "restored": (RepairOrder.Status.REPAIRED, RepairOrder.Status.RESTORED, "restored_at"),
}


def _locked_order(number: str) -> RepairOrder:
    rows = RepairOrder.objects.select_for_update(of=("self",)).select_related("network", "burst_pipe")
    return rows.get(number=number)


def _refuse_unless(order: RepairOrder, allowed, doing: str) -> None:
    """409 naming the order's current state when `doing` does not fit it."""
    if order.status not in allowed:
        raise Refusal(
            f"repair order {order.number} is {order.status} ({order.get_status_display()}); "
            f"{doing} needs it {' or '.join(str(s) for s in allowed)}",
            current=order.status,
        )


def _log_step(order: RepairOrder, actor: User | None, action: str, at, valve: dict | None = None) -> None:
    """One line of the crew log (the repair record): when, who, what, which valve."""
    person = actor if actor is not None and actor.is_authenticated else None
    entry = {"at": timezone.localtime(at).isoformat(), "by": person.display_name if person else None, "action": action}
    if valve is not None:
        entry |= {"valve": valve["id"], "code": valve["code"]}
    order.crew_log = [*order.crew_log, entry]


def _start_isolating(order: RepairOrder, at) -> None:
    if order.status == RepairOrder.Status.OPEN:
        order.status = RepairOrder.Status.ISOLATING
    order.isolating_at = order.isolating_at or at


def _planned_valve(order: RepairOrder, valve_id: int) -> dict:
    for valve in order.valves_to_close:
        if valve["id"] == valve_id:
            return valve
    raise InputError("valve", f"valve {valve_id} is not one of the valves to close of {order.number}")


def _published(order: RepairOrder) -> RepairOrder:
    publish("pipeline", "repair_order.updated", repair_order_feature(order), geom=order.burst_point)
    return order


@transaction.atomic
def report_valve_closed(actor: User | None, number: str, valve_id: int) -> RepairOrder:
    """The crew reports one valve of the plan closed: the order starts isolating and every map follows.

    Reporting a valve twice changes nothing; a valve outside the plan is refused (400), so is a valve report on
    an order past isolating (409).
    """
    order = _locked_order(number)
    _refuse_unless(order, VALVE_REPORT_STATUSES, "reporting a valve")
    valve = _planned_valve(order, valve_id)
    if valve_id in order.closed_valves:
        return order
    now = timezone.now()
    order.closed_valves = [*order.closed_valves, valve_id]
    _start_isolating(order, now)
    _log_step(order, actor, "valve_closed", now, valve)
    order.save(update_fields=["closed_valves", "status", "isolating_at", "crew_log"])
    record_audit(actor, "repair_order.valve_closed", order, f"{order.number} {valve['code']}", {"valve": valve_id})
    return _published(order)


@transaction.atomic
def report_valve_failed(actor: User | None, number: str, valve_id: int) -> RepairOrder:
    """关不上: a valve of the plan will not close. The isolation is planned again past it (isolation.py extends the
    shut-in area to the next closable valves), so new valves to close, pipes and customers replace the old ones
    on every map. Valves already closed stay closed. Reporting the same valve again changes nothing."""
    order = _locked_order(number)
    if valve_id in order.failed_valves:
        return order
    _refuse_unless(order, VALVE_REPORT_STATUSES, "reporting a valve")
    valve = _planned_valve(order, valve_id)
    if valve_id in order.closed_valves:
        raise InputError("valve", f"valve {valve['code']} was reported closed; it cannot fail now")
    burst = selectors.Burst(order.network, order.burst_pipe, order.burst_point, None)
    isolation = selectors.isolation_result(burst, [*order.failed_valves, valve_id])
    now = timezone.now()
    order.isolation = isolation
    order.network_version = isolation["network"]["version"]
    order.valves_to_close = planned_valves(isolation)
    order.failed_valves = isolation["failed_valves"]
    _start_isolating(order, now)
    _log_step(order, actor, "valve_failed", now, valve)
    order.save()
    record_audit(
        actor,
        "repair_order.valve_failed",
        order,
        f"{order.number} {valve['code']}",
        {"valve": valve_id, "valves_to_close": [v["code"] for v in order.valves_to_close]},
    )
    return _published(order)


@transaction.atomic
def advance_repair_order(actor: User | None, number: str, step: str) -> RepairOrder:
    """已隔离 → 已修复 → 已恢复供应, each from the state before it (409 naming the current state otherwise).

    "isolated" needs every valve of the plan reported closed. "restored" ends the outage (the maps stop drawing
    its pipes and customers) and writes the repair into the network's history: the burst pipe's repair and each
    valve that would not close (the maintenance warnings read them)."""
    if step not in CREW_STEPS:
        raise InputError("step", f"unknown step {step!r}; one of: {', '.join(CREW_STEPS)}")
    needs, becomes, stamp = CREW_STEPS[step]
    order = _locked_order(number)
    _refuse_unless(order, (needs,), f"'{step}'")
    if step == "isolated":
        still_open = [v["code"] for v in order.valves_to_close if v["id"] not in order.closed_valves]
        if still_open:
            raise Refusal(
                f"repair order {order.number} is {order.status}: valves still to close: {', '.join(still_open)}",
                current=order.status,
                valves=still_open,
            )
    now = timezone.now()
    order.status = becomes
    setattr(order, stamp, now)
    _log_step(order, actor, step, now)
    order.save(update_fields=["status", stamp, "crew_log"])
    if step == "restored":
        today = timezone.localdate(now)
        RepairRecord.objects.create(
            pipe=order.burst_pipe, kind=RepairRecord.Kind.BURST, repaired_on=today, note=order.number
        )
        RepairRecord.objects.bulk_create(
            RepairRecord(valve_id=valve_id, kind=RepairRecord.Kind.VALVE_SEIZED, repaired_on=today, note=order.number)
            for valve_id in order.failed_valves
        )
    record_audit(actor, f"repair_order.{step}", order, order.number, {"status": becomes})
    return _published(order)


def on_incident_opened(opened: IncidentOpened) -> None:
    """A gas-leak or water-main incident (hooks.incident_opened) opens the repair order of the nearest pipe."""
    if opened.utility in (Utility.GAS, Utility.WATER):
        burst_for_incident(opened.incident_id, opened.point, opened.utility, exercise=opened.exercise)


@transaction.atomic
def burst_for_incident(
    incident_id: int, point, utility: str, *, actor: User | None = None, exercise: bool = False
) -> RepairOrder | None:
    """A gas-leak or water-main incident in dispatch → the repair order of the nearest pipe of that utility.

    `point` is a WGS84 GEOS Point. None when the utility has no network or no pipe lies within
    INCIDENT_TOLERANCE_M of the point (a caller's location can be a street away from the main). An
    incident gets one repair order: asking again returns the one already made.
    """
    if utility not in (Utility.GAS, Utility.WATER):
        raise ValueError(f"bursts come from gas or water incidents, not {utility!r}")
    with connection.cursor() as cursor:  # two calls for one incident at once: the second waits, then finds it
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext('pipelines.incident'), %s)", [incident_id % 2**31])
    existing = (
        RepairOrder.objects.filter(incident_id=incident_id, network__utility=utility)
        .exclude(status=RepairOrder.Status.CANCELLED)
        .first()
    )
    if existing is not None:
        return existing
    networks = list(Network.objects.filter(utility=utility).order_by("code"))
    nearest = None
    for network in networks:
        try:
            burst = selectors.locate_burst(network, point=point, tolerance_m=INCIDENT_TOLERANCE_M)
        except selectors.PipelineInputError:
            continue
        if nearest is None or burst.distance_m < nearest.distance_m:
            nearest = burst
    if nearest is None:
        return None
    return create_repair_order(actor, nearest, incident_id=incident_id, exercise=exercise)


def pipeline_snapshot(viewer, bbox) -> list[dict]:
    """The "pipeline" topic's current state for a new console: repair orders still open, with their plans."""
    orders = RepairOrder.objects.select_related("network", "burst_pipe").exclude(
        status__in=selectors.FINISHED_ORDER_STATUSES
    )
    if bbox is not None:
        orders = orders.filter(burst_point__bboverlaps=Polygon.from_bbox(bbox))
    return [repair_order_feature(order) for order in orders.order_by("-created_at")[:500]]


# -- network imports: an upload (API) or a local file (import_gis, import_inp) through the same function ------


def _check_new_network(code: str, utility: str) -> None:
    if not code or not slug_re.fullmatch(code) or len(code) > 32:
        raise selectors.PipelineInputError("code", "a network code of letters, digits, - and _ (at most 32)")
    if utility not in Utility.values:
        raise selectors.PipelineInputError("utility", f"one of {', '.join(Utility.values)}")
    if Network.objects.filter(code=code).exists():
        raise selectors.PipelineInputError("code", f"network {code!r} already exists")


def import_network(
    actor: User | None, file: File, options: gis_import.ImportOptions, *, progress=None
) -> tuple[Network, dict]:
    """A network from a GIS file, its topology built and checked first, then written and audited in one
    transaction: (the network, its validation report); `progress(done, total)` as gis_import.write_network."""
    _check_new_network(options.code, options.utility)
    if not 0 < options.tolerance_m <= 10:
        raise selectors.PipelineInputError("tolerance_m", "a snap tolerance in metres, above 0 and at most 10")
    with importing.receive(file, gis_import.FORMATS) as received, transaction.atomic():
        network, report = gis_import.write_network(received, options, progress=progress)
        bump_network_version(network.pk)
        record_audit(actor, "network.import", network, f"{network.code} from {file.name}", report["counts"])
    return network, report


def import_survey(
    actor: User | None, files: list[File], options: survey_import.SurveyOptions, *, progress=None
) -> tuple[Network, dict]:
    """A network from survey tables (管线探测成果表: a point and a line table, in one workbook or two files),
    checked first, then written and audited in one transaction: (the network, its report)."""
    _check_new_network(options.code, options.utility)
    if not 1 <= len(files) <= 2:
        raise selectors.PipelineInputError("file", "give the point table and the line table: one workbook or two files")
    with ExitStack() as stack:
        received = [stack.enter_context(importing.receive(f, importing.TABLE_FORMATS)) for f in files]
        survey = survey_import.build(received, options)
    with transaction.atomic():
        network, report = survey_import.write_network(survey, options, progress=progress)
        bump_network_version(network.pk)
        names = ", ".join(f.name for f in files)
        record_audit(actor, "network.import", network, f"{network.code} from survey {names}", report["counts"])
    return network, report


def import_epanet(
    actor: User | None,
    file: File,
    *,
    code: str,
    name: str,
    utility: str,
    owner: Organisation,
    georef: importers.Georef,
    valves: tuple[str, int, int] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Network:
    """A network from an EPANET model, written and audited in one transaction; `valves` (strategic or random,
    n, seed) adds the isolation valves WNTR generates; `progress(done, total)` as importers.import_model."""
    _check_new_network(code, utility)
    with importing.receive(file, (importers.EpanetHandler.name,)) as received:
        model = received.handler.read(received)
    layer = importers.generated_valve_layer(model, *valves) if valves else None
    with transaction.atomic():
        network = importers.import_model(
            model,
            code=code,
            name=name,
            utility=utility,
            owner=owner,
            georef=georef,
            valve_layer=layer,
            progress=progress,
        )
        bump_network_version(network.pk)
        counts = {
            "nodes": model.num_nodes,
            "links": model.num_links,
            "generated_valves": 0 if layer is None else len(layer),
        }
        record_audit(actor, "network.import", network, f"{network.code} from {file.name}", counts)
    return network
