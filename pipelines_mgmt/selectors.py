"""Read queries of the pipelines app: networks, where a burst is, its isolation plan, topology reports."""

import json
from dataclasses import dataclass

from django.contrib.gis.db.models.functions import AsGeoJSON, GeometryDistance, Transform
from django.contrib.gis.geos import GEOSGeometry, Polygon
from django.db import connection
from django.utils import timezone

from core.errors import InputError
from core.selectors import metric_srid
from gis.models import Address

from . import topology
from .graph import network_graph
from .models import Network, Node, Pipe, RepairOrder, ServiceConnection, Utility, Valve

DEFAULT_TOLERANCE_M = 50.0
NEAR_ADDRESS_DEGREES = 0.002  # about 200 m at Chinese latitudes


class PipelineInputError(InputError):
    """Bad input, named by `field`; the shared API error handler answers it with a 400 invalid_input."""


@dataclass(frozen=True)
class Burst:
    """A burst located on one pipe: `point` lies on the pipe, `distance_m` is how far the input point was."""

    network: Network
    pipe: Pipe
    point: GEOSGeometry
    distance_m: float | None


def networks():
    return Network.objects.select_related("owner").order_by("code")


def resolve_network(network=None, utility: str | None = None) -> Network:
    """A network by id or code; or the only network of a utility."""
    if network not in (None, ""):
        found = Network.objects.filter(pk=network) if isinstance(network, int) else Network.objects.filter(code=network)
        found = found.select_related("owner").first()
        if found is None:
            raise PipelineInputError("network", f"unknown network {network!r}")
        return found
    if not utility:
        raise PipelineInputError("network", "give 'network' (id or code) or 'utility'")
    if utility not in Utility.values:
        raise PipelineInputError("utility", f"unknown utility {utility!r}; use one of {', '.join(Utility.values)}")
    found = list(Network.objects.filter(utility=utility).select_related("owner")[:2])
    if len(found) != 1:
        what = "no network" if not found else "several networks"
        raise PipelineInputError("utility", f"{what} for utility {utility!r}; give 'network' (id or code)")
    return found[0]


def locate_burst(network: Network, *, pipe_id: int | None = None, point=None, tolerance_m=DEFAULT_TOLERANCE_M) -> Burst:
    """The burst pipe: the given pipe, or the pipe nearest to `point` (WGS84) within `tolerance_m` metres."""
    if pipe_id is not None:
        pipe = Pipe.objects.filter(pk=pipe_id, network=network).first()
        if pipe is None:
            raise PipelineInputError("pipe", f"pipe {pipe_id} is not in network {network.code}")
        return Burst(network, pipe, pipe.geom.interpolate_normalized(0.5), None)
    srid = metric_srid()
    # Index-assisted nearest candidates in degrees, then the exact metric distance among them.
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH p AS (SELECT ST_GeomFromEWKB(%(point)s) AS g),
            near AS (
                SELECT pipe.id, pipe.geom FROM pipelines_mgmt_pipe pipe, p
                WHERE pipe.network_id = %(network)s ORDER BY pipe.geom <-> p.g LIMIT 16
            )
            SELECT near.id,
                   ST_Distance(ST_Transform(near.geom, %(srid)s), ST_Transform(p.g, %(srid)s)) AS distance,
                   ST_AsEWKB(ST_Transform(
                       ST_ClosestPoint(ST_Transform(near.geom, %(srid)s), ST_Transform(p.g, %(srid)s)), 4326))
            FROM near, p ORDER BY distance, near.id LIMIT 1
            """,
            {"point": bytes(point.ewkb), "network": network.pk, "srid": srid},
        )
        row = cursor.fetchone()
    if row is None:
        raise PipelineInputError("network", f"network {network.code} has no pipes")
    pipe_pk, distance, on_pipe = row
    pipe = Pipe.objects.get(pk=pipe_pk)
    if distance > tolerance_m:
        raise PipelineInputError(
            "point",
            f"no pipe of network {network.code} within {tolerance_m:g} m of the point; "
            f"the nearest, {pipe.code}, is {distance:.0f} m away",
        )
    return Burst(network, pipe, GEOSGeometry(memoryview(bytes(on_pipe))), float(distance))


def _geojson(text: str) -> dict:
    return json.loads(text)


def _pipe_features(pipe_ids) -> dict:
    rows = (
        Pipe.objects.filter(pk__in=list(pipe_ids))
        .annotate(gj=AsGeoJSON("geom", precision=7))
        .order_by("id")
        .values("id", "code", "diameter_mm", "material", "length_m", "gj")
    )
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": row["id"],
                "geometry": _geojson(row["gj"]),
                "properties": {
                    "code": row["code"],
                    "diameter_mm": row["diameter_mm"],
                    "material": row["material"],
                    "length_m": round(row["length_m"], 1),
                },
            }
            for row in rows
        ],
    }


def _valves(valve_ids) -> dict[int, dict]:
    rows = (
        Valve.objects.filter(pk__in=list(valve_ids))
        .annotate(gj=AsGeoJSON("geom", precision=7))
        .values("id", "code", "pipe_id", "node_id", "operability", "normal_state", "diameter_mm", "gj")
    )
    return {
        row["id"]: {
            "id": row["id"],
            "code": row["code"],
            "pipe": row["pipe_id"],
            "node": row["node_id"],
            "operability": row["operability"],
            "normal_state": row["normal_state"],
            "diameter_mm": row["diameter_mm"],
            "geometry": _geojson(row["gj"]),
        }
        for row in rows
    }


def _customers(isolated_pipes, outage_pipes) -> list[dict]:
    """Customers on the shut-in pipes and on the secondary outage: sensitive ones first."""
    cause = dict.fromkeys(outage_pipes, "outage") | dict.fromkeys(isolated_pipes, "isolated")
    rows = (
        ServiceConnection.objects.filter(pipe_id__in=list(cause))
        .annotate(gj=AsGeoJSON("geom", precision=7))
        .values(
            "id",
            "customer_name",
            "customer_type",
            "sensitive",
            "meter_id",
            "pipe_id",
            "address_text",
            "address__label",
            "gj",
        )
    )
    items = [
        {
            "id": row["id"],
            "name": row["customer_name"],
            "type": row["customer_type"],
            "sensitive": row["sensitive"],
            "meter_id": row["meter_id"],
            "address": row["address__label"] or row["address_text"],
            "pipe": row["pipe_id"],
            "cause": cause[row["pipe_id"]],
            "geometry": _geojson(row["gj"]),
        }
        for row in rows
    ]
    items.sort(key=lambda c: (not c["sensitive"], c["cause"] != "isolated", c["name"], c["id"]))
    return items


def nearest_address(point) -> str | None:
    """The label of the closest address within ~200 m, to tell the crew where to go."""
    return (
        Address.objects.filter(geom__dwithin=(point, NEAR_ADDRESS_DEGREES))
        .order_by(GeometryDistance("geom", point))
        .values_list("label", flat=True)
        .first()
    )


def isolation_result(burst: Burst, failed_valves=()) -> dict:
    """The isolation plan of a burst as JSON: valves in closing order, shut-in area, outage, customers.

    `failed_valves` are valve ids the crew reported as not closing: the area extends past them.
    """
    warm = network_graph(burst.network.pk)
    graph = warm.isolation
    network_valves = set(
        Valve.objects.filter(pipe__network=burst.network, pk__in=list(failed_valves)).values_list("pk", flat=True)
    )
    for valve_id in failed_valves:
        if valve_id not in network_valves:
            raise PipelineInputError("failed_valves", f"valve {valve_id} is not in network {burst.network.code}")
    try:
        plan = graph.isolate_burst(burst.pipe.pk, failed_valves)
    except KeyError as missing:  # a row committed after the graph was read: the next request rebuilds
        raise PipelineInputError("network", f"the network changed while planning ({missing}); try again") from None
    steps = graph.closing_order(plan)
    valves = _valves([*plan.valves_to_close, *plan.closed_boundary_valves])
    unverified = set(plan.unverified_valves)
    to_close = [
        valves[step.valve_id]
        | {
            "order": order,
            "far_side": step.far_side.value,
            "distance_m": round(step.distance, 1),
            "unverified": step.valve_id in unverified,
        }
        for order, step in enumerate(steps, start=1)
    ]
    customers = _customers(plan.isolated_pipe_ids, plan.outage_pipe_ids)
    pipe = burst.pipe
    network = burst.network
    return {
        "network": {
            "id": network.pk,
            "code": network.code,
            "name": network.name,
            "utility": network.utility,
            "version": warm.version,
        },
        "burst": {
            "pipe": {
                "id": pipe.pk,
                "code": pipe.code,
                "diameter_mm": pipe.diameter_mm,
                "material": pipe.material,
                "install_year": pipe.install_year,
                "length_m": round(pipe.length_m, 1),
            },
            "point": _geojson(burst.point.geojson),
            "nearest_address": nearest_address(burst.point),
            "distance_m": None if burst.distance_m is None else round(burst.distance_m, 1),
        },
        "valves_to_close": to_close,
        "closed_boundary_valves": [valves[v] for v in plan.closed_boundary_valves],
        "failed_valves": sorted(set(failed_valves)),
        "extended_past_valves": list(plan.extended_past_valves),
        "isolated": {
            "length_m": round(plan.isolated_length, 1),
            "pipe_count": len(plan.isolated_pipe_ids),
            "node_count": len(plan.isolated_node_ids),
            "pipes": _pipe_features(plan.isolated_pipe_ids),
        },
        "outage": {
            "length_m": round(plan.outage_length, 1),
            "pipe_count": len(plan.outage_pipe_ids),
            "node_count": len(plan.outage_node_ids),
            "pipes": _pipe_features(plan.outage_pipe_ids),
        },
        "total_length_m": round(plan.total_length, 1),
        "customers": {
            "count": len(customers),
            "sensitive_count": sum(c["sensitive"] for c in customers),
            "isolated_count": sum(c["cause"] == "isolated" for c in customers),
            "outage_count": sum(c["cause"] == "outage" for c in customers),
            "items": customers,
        },
    }


# Supply is back or the order was cancelled: the outage is over and the order is off the crews' lists.
FINISHED_ORDER_STATUSES = (RepairOrder.Status.RESTORED, RepairOrder.Status.CANCELLED)


def repair_order(number: str) -> RepairOrder | None:
    return repair_orders_for(None).filter(number=number).first()


def repair_orders_for(org_ids: frozenset[int] | None):
    """The repair orders a user may work on: a utility's crew (org_ids: its organisation and those below) the
    orders on networks they own; None: every order (the command centre's roles)."""
    rows = RepairOrder.objects.select_related("network", "burst_pipe", "created_by")
    return rows if org_ids is None else rows.filter(network__owner_id__in=sorted(org_ids))


def repair_order_list(org_ids: frozenset[int] | None, *, finished: bool) -> list[dict]:
    """A crew's list: its orders still under way (or also the finished ones), newest first."""
    rows = repair_orders_for(org_ids)
    if not finished:
        rows = rows.exclude(status__in=FINISHED_ORDER_STATUSES)
    return [
        {
            "number": order.number,
            "status": order.status,
            "status_label": str(RepairOrder.Status(order.status).label),
            "network": order.network.code,
            "utility": order.network.utility,
            "address": order.isolation["burst"]["nearest_address"],
            "customer_count": order.isolation["customers"]["count"],
            "valve_count": len(order.valves_to_close),
            "closed_valve_count": len(set(order.closed_valves) & {v["id"] for v in order.valves_to_close}),
            "incident_id": order.incident_id,
            "created_at": timezone.localtime(order.created_at).isoformat(),
        }
        for order in rows.order_by("-created_at")[:200]
    ]


def repair_record(order: RepairOrder) -> dict:
    """抢修记录: who did what when (the crew log), the valves closed and those that would not, and how long it took
    from the first valve to supply restored."""
    codes = {v["id"]: v["code"] for v in order.valves_to_close}
    codes |= {entry["valve"]: entry["code"] for entry in order.crew_log if "valve" in entry}
    started, finished = order.isolating_at, order.restored_at
    return {
        "isolating_at": iso_or_none(order.isolating_at),
        "isolated_at": iso_or_none(order.isolated_at),
        "repaired_at": iso_or_none(order.repaired_at),
        "restored_at": iso_or_none(finished),
        "duration_s": round((finished - started).total_seconds()) if finished and started else None,
        "crew": sorted({entry["by"] for entry in order.crew_log if entry["by"]}),
        "valves_closed": [codes.get(v, str(v)) for v in order.closed_valves],
        "valves_failed": [codes.get(v, str(v)) for v in order.failed_valves],
        "log": order.crew_log,
    }


def iso_or_none(at) -> str | None:
    return timezone.localtime(at).isoformat() if at else None


def outage_ended(order: RepairOrder) -> bool:
    """Supply is back (or the order was cancelled): its pipes and customers are no longer cut off."""
    return order.status in FINISHED_ORDER_STATUSES


def pipes_near(network: Network, bbox: tuple[float, float, float, float]):
    """(code, geometry) of the network's pipes meeting a WGS84 bbox: the background of a burst map."""
    return Pipe.objects.filter(network=network, geom__bboverlaps=Polygon.from_bbox(bbox)).only("code", "geom")


def topology_report(network: Network, tolerance_m: float = 1.0) -> dict:
    """The topology check of a network with every defect located in WGS84 (GeoJSON point)."""
    srid = metric_srid()
    nodes = [
        topology.TopoNode(pk, g.x, g.y, kind)
        for pk, kind, g in Node.objects.filter(network=network)
        .annotate(m=Transform("geom", srid))
        .values_list("id", "kind", "m")
    ]
    pipes = [
        topology.TopoPipe(pk, start, end, g.coords)
        for pk, start, end, g in Pipe.objects.filter(network=network)
        .annotate(m=Transform("geom", srid))
        .values_list("id", "start_node_id", "end_node_id", "m")
    ]
    valves = [
        topology.TopoValve(pk, pipe, node, g.x, g.y, state == Valve.NormalState.CLOSED)
        for pk, pipe, node, state, g in Valve.objects.filter(pipe__network=network)
        .annotate(m=Transform("geom", srid))
        .values_list("id", "pipe_id", "node_id", "normal_state", "m")
    ]
    report = topology.check_topology(nodes, pipes, valves, tolerance=tolerance_m)
    return {
        "network": network.code,
        "tolerance_m": tolerance_m,
        "ok": report.ok,
        "counts": report.counts,
        "node_count": len(nodes),
        "pipe_count": len(pipes),
        "valve_count": len(valves),
        "defects": topology.defects_json(report.defects, srid, with_ids=True),
    }


def _collection(features: list[dict]) -> dict:
    return {"type": "FeatureCollection", "features": features}


def repair_order_pipes(order: RepairOrder) -> list[dict]:
    """The order's pipes as features with their `cause`: shut in by the isolation, or without supply."""
    return [
        {**pipe, "properties": {**pipe["properties"], "cause": cause}}
        for cause in ("isolated", "outage")
        for pipe in order.isolation[cause]["pipes"]["features"]
    ]


def repair_order_map(order: RepairOrder) -> dict:
    """A repair order as a map draws it: the burst, its pipes by cause, its valves with the crew's progress
    and the customers cut off (none once the outage has ended), and the repair record. The one shape every map
    of an isolation reads (api.RepairOrderMapSerializer)."""
    isolation = order.isolation
    closed = set(order.closed_valves)
    valves = [
        {
            "type": "Feature",
            "id": valve["id"],
            "geometry": valve["geometry"],
            "properties": {
                "code": valve["code"],
                "order": valve["order"],
                "far_side": valve["far_side"],
                "unverified": valve["unverified"],
                "closed": valve["id"] in closed,
            },
        }
        for valve in order.valves_to_close
    ]
    customers = [
        {
            "type": "Feature",
            "id": customer["id"],
            "geometry": customer["geometry"],
            "properties": {key: customer[key] for key in ("name", "type", "sensitive", "cause", "address")},
        }
        for customer in ([] if outage_ended(order) else isolation["customers"]["items"])
    ]
    return {
        "number": order.number,
        "status": order.status,
        "status_label": str(RepairOrder.Status(order.status).label),
        "utility": order.network.utility,
        "network": order.network.code,
        "burst_point": json.loads(order.burst_point.geojson),
        "address": isolation["burst"]["nearest_address"],
        "customer_count": isolation["customers"]["count"],
        "sensitive_customer_count": isolation["customers"]["sensitive_count"],
        "valve_count": len(valves),
        "closed_valve_count": sum(v["properties"]["closed"] for v in valves),
        "pipes": _collection([] if outage_ended(order) else repair_order_pipes(order)),
        "valves": _collection(valves),
        "customers": _collection(customers),
        "outage_ended": outage_ended(order),
        "record": repair_record(order),
    }


def repair_orders_for_incident(incident_id: int) -> list[RepairOrder]:
    return list(RepairOrder.objects.select_related("network").filter(incident_id=incident_id).order_by("created_at"))
