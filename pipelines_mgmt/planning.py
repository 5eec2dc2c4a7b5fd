"""Read queries of the planning analyses (管线规划分析): the network on the map, GB 50289 clearances, cover depth,
connectivity between two points, the longitudinal profile of a pipe run, and replacement warnings.

Distances are measured in the city's projected CRS (core.selectors.metric_srid) inside PostGIS; the
rule table is data (clearance.py), joined in the query as an array parameter, never spliced into SQL.
"""

import json
from collections import Counter
from datetime import date

import numpy as np
import pyproj
import shapely
from django.contrib.gis.db.models.functions import AsGeoJSON
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _
from scipy import sparse
from scipy.sparse import csgraph

from core.selectors import metric_srid

from . import clearance, maintenance
from .models import Network, Node, Pipe, RepairRecord, Valve
from .selectors import PipelineInputError, locate_burst

# Degrees that surely cover a distance in metres up to latitude 60° (1° of longitude ≥ 55 km there).
METRES_PER_DEGREE_AT_LEAST = 55_000.0
MAX_VIOLATIONS = 2000
JUNCTION_ZONE_M = 8.0  # the horizontal check looks at runs, leaving out this much at each end of a pipe
PROFILE_STEP_M = 10.0
PROFILE_MAX_SAMPLES = 400
DEM_RASTER = "dem"


def _feature(geometry_json: str, properties: dict, feature_id=None) -> dict:
    feature = {"type": "Feature", "geometry": json.loads(geometry_json), "properties": properties}
    if feature_id is not None:
        feature["id"] = feature_id
    return feature


def network_features(network: Network) -> dict:
    """The whole network for the map: pipes (lines), valves and sources (points), as one FeatureCollection."""
    pipes = (
        Pipe.objects.filter(network=network)
        .annotate(gj=AsGeoJSON("geom", precision=7))
        .values_list("id", "code", "diameter_mm", "material", "install_year", "pressure_class", "link_type", "gj")
    )
    features = [
        _feature(
            gj,
            {
                "kind": "pipe",
                "pipe_id": pk,
                "code": code,
                "utility": network.utility,
                "network": network.code,
                "diameter_mm": diameter,
                "material": material,
                "install_year": year,
                "pressure_class": pressure,
                "link_type": link_type,
            },
            f"p{pk}",
        )
        for pk, code, diameter, material, year, pressure, link_type, gj in pipes
    ]
    valves = (
        Valve.objects.filter(pipe__network=network)
        .annotate(gj=AsGeoJSON("geom", precision=7))
        .values_list("id", "code", "normal_state", "operability", "pipe_id", "gj")
    )
    features += [
        _feature(
            gj,
            {
                "kind": "valve",
                "valve_id": pk,
                "code": code,
                "utility": network.utility,
                "network": network.code,
                "normal_state": state,
                "operability": operability,
                "pipe_id": pipe,
            },
            f"v{pk}",
        )
        for pk, code, state, operability, pipe, gj in valves
    ]
    sources = (
        Node.objects.filter(network=network, kind=Node.Kind.SOURCE)
        .annotate(gj=AsGeoJSON("geom", precision=7))
        .values_list("id", "code", "name", "source_kind", "gj")
    )
    features += [
        _feature(
            gj,
            {
                "kind": "source",
                "node_id": pk,
                "code": code,
                "name": name,
                "source_kind": source_kind,
                "utility": network.utility,
                "network": network.code,
            },
            f"s{pk}",
        )
        for pk, code, name, source_kind, gj in sources
    ]
    return {"type": "FeatureCollection", "network": network.code, "version": network.version, "features": features}


# ----------------------------------------------------------------------------------------------- clearances


def networks_by_code(codes) -> list[Network]:
    if not codes:
        return list(Network.objects.order_by("code"))
    found = list(Network.objects.filter(code__in=codes).order_by("code"))
    unknown = sorted(set(codes) - {network.code for network in found})
    if unknown:
        raise PipelineInputError("networks", f"unknown network(s): {', '.join(unknown)}")
    return found


def _pipe_types(networks: list[Network]) -> dict[int, tuple[frozenset, dict]]:
    utility = {network.pk: network.utility for network in networks}
    rows = Pipe.objects.filter(network__in=networks).values_list(
        "id", "network_id", "code", "diameter_mm", "pressure_class", "depth_start_m", "depth_end_m"
    )
    return {
        pk: (
            clearance.pipe_types(utility[network_id], diameter, pressure),
            {
                "code": code,
                "network_id": network_id,
                "utility": utility[network_id],
                "diameter_mm": diameter,
                "depth": (depth_start, depth_end),
            },
        )
        for pk, network_id, code, diameter, pressure, depth_start, depth_end in rows
    }


def _violation(kind: str, rule, measured, location_json: str, a: dict, b: dict | None, a_id, b_id) -> dict:
    status = "review" if measured is None else rule.severity
    properties = {
        "check": kind,
        "status": status,
        "required_m": rule.min_m,
        "measured_m": None if measured is None else round(measured, 2),
        "clause": rule.clause,
        "confidence": rule.confidence,
        "rule": f"{rule.type_a} ↔ {rule.type_b}",
        "pipe_a": {"id": a_id, "code": a["code"], "utility": a["utility"]},
    }
    if b is not None:
        properties["pipe_b"] = {"id": b_id, "code": b["code"], "utility": b["utility"]}
    return _feature(location_json, properties)


def horizontal_violations(networks: list[Network]) -> list[dict]:
    """Parallel pipes of different networks closer (outer wall to outer wall) than table 4.1.9 allows.

    Crossing pairs are left to the vertical check, and so are the last JUNCTION_ZONE_M at each end of a pipe,
    where lines of every utility necessarily converge at a road junction. PostGIS finds the pairs within
    reach of the widest rule that can apply (spatial index in degrees, distance in metres); each pair is then
    held against its own rule.
    """
    book = clearance.RuleBook.of("horizontal")
    types = _pipe_types(networks)
    present = {name for names, _ in types.values() for name in names}
    widest = max((m for a, b, m in book.pairs() if a in present and b in present), default=0.0)
    if not widest:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH pairs AS (
                SELECT a.id AS a_id, b.id AS b_id,
                       ST_Transform(a.geom, %(srid)s) AS ga, ST_Transform(b.geom, %(srid)s) AS gb,
                       coalesce(a.diameter_mm, 0) + coalesce(b.diameter_mm, 0) AS diameters
                FROM pipelines_mgmt_pipe a
                JOIN pipelines_mgmt_pipe b
                  ON a.network_id < b.network_id AND ST_DWithin(a.geom, b.geom, %(reach_deg)s)
                WHERE a.network_id = ANY(%(networks)s) AND b.network_id = ANY(%(networks)s)
                  AND NOT ST_Intersects(a.geom, b.geom)
            ),
            runs AS (
                SELECT a_id, b_id, diameters,
                       ST_LineSubstring(ga, least(0.45, %(end_zone)s / ST_Length(ga)),
                                        greatest(0.55, 1 - %(end_zone)s / ST_Length(ga))) AS ga,
                       ST_LineSubstring(gb, least(0.45, %(end_zone)s / ST_Length(gb)),
                                        greatest(0.55, 1 - %(end_zone)s / ST_Length(gb))) AS gb
                FROM pairs WHERE ST_Length(ga) > 0 AND ST_Length(gb) > 0
            ),
            measured AS (
                SELECT a_id, b_id, ga, gb, ST_Distance(ga, gb) - diameters / 2000.0 AS clear FROM runs
            )
            SELECT a_id, b_id, clear,
                   ST_AsGeoJSON(ST_Transform(ST_LineInterpolatePoint(ST_ShortestLine(ga, gb), 0.5), 4326), 7)
            FROM measured WHERE clear < %(widest)s ORDER BY clear, a_id, b_id
            """,
            {
                "srid": metric_srid(),
                "reach_deg": (widest + 2.0) / METRES_PER_DEGREE_AT_LEAST,  # plus two large outer radii
                "networks": [network.pk for network in networks],
                "end_zone": JUNCTION_ZONE_M,
                "widest": widest,
            },
        )
        rows = cursor.fetchall()
    found = []
    for a_id, b_id, clear, location in rows:
        (types_a, a), (types_b, b) = types[a_id], types[b_id]
        rule = book.required(types_a, types_b)
        if rule is not None and clear < rule.min_m:
            found.append(_violation("horizontal", rule, clear, location, a, b, a_id, b_id))
    return found[:MAX_VIOLATIONS]


def vertical_violations(networks: list[Network]) -> list[dict]:
    """Crossings of pipes of different networks with less vertical clearance than table 4.1.14 requires.

    The crown depth at the crossing is interpolated between the pipe's end depths. A crossing where a depth
    is unknown cannot be checked: it is reported with status "review" (fail closed).
    """
    book = clearance.RuleBook.of("vertical")
    types = _pipe_types(networks)
    if not types:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH crossings AS (
                SELECT a.id AS a_id, b.id AS b_id, a.geom AS ga, b.geom AS gb,
                       ST_PointOnSurface(ST_Intersection(a.geom, b.geom)) AS at
                FROM pipelines_mgmt_pipe a
                JOIN pipelines_mgmt_pipe b ON a.network_id < b.network_id AND ST_Intersects(a.geom, b.geom)
                WHERE a.network_id = ANY(%(networks)s) AND b.network_id = ANY(%(networks)s)
            )
            SELECT a_id, b_id, ST_LineLocatePoint(ga, at), ST_LineLocatePoint(gb, at), ST_AsGeoJSON(at, 7)
            FROM crossings ORDER BY a_id, b_id
            """,
            {"networks": [network.pk for network in networks]},
        )
        rows = cursor.fetchall()
    found = []
    for a_id, b_id, fraction_a, fraction_b, location in rows:
        (types_a, a), (types_b, b) = types[a_id], types[b_id]
        rule = book.required(types_a, types_b)
        if rule is None:
            continue
        depth_a, depth_b = _depth_at(a["depth"], fraction_a), _depth_at(b["depth"], fraction_b)
        if depth_a is None or depth_b is None:
            found.append(_violation("vertical", rule, None, location, a, b, a_id, b_id))
            continue
        clear = clearance.vertical_clearance(depth_a, a["diameter_mm"], depth_b, b["diameter_mm"])
        if clear < rule.min_m:
            found.append(_violation("vertical", rule, clear, location, a, b, a_id, b_id))
    found.sort(key=lambda f: (f["properties"]["measured_m"] is not None, f["properties"]["measured_m"] or 0))
    return found[:MAX_VIOLATIONS]


def _depth_at(depths: tuple, fraction: float) -> float | None:
    start, end = depths
    if start is None or end is None:
        return start if end is None else end
    return start + (end - start) * fraction


def cover_violations(networks: list[Network], lane: str = "under_motor_lane") -> list[dict]:
    """Pipes whose crown is shallower than table 4.1.1 allows under this kind of lane, at their shallowest end."""
    if lane not in clearance.LANES:
        raise PipelineInputError("lane", f"unknown lane {lane!r}; use one of {', '.join(clearance.LANES)}")
    book = clearance.RuleBook.of("cover")
    utility = {network.pk: network.utility for network in networks}
    found = []
    rows = (
        Pipe.objects.filter(network__in=networks, link_type=Pipe.LinkType.PIPE)
        .annotate(gj=AsGeoJSON("geom", precision=7))
        .values_list("id", "code", "network_id", "diameter_mm", "pressure_class", "depth_start_m", "depth_end_m", "gj")
    )
    for pk, code, network_id, diameter, pressure, depth_start, depth_end, gj in rows:
        rule = book.required(clearance.pipe_types(utility[network_id], diameter, pressure), [lane])
        if rule is None:
            continue
        coordinates = json.loads(gj)["coordinates"]
        pipe = {"code": code, "utility": utility[network_id]}
        known = [(d, xy) for d, xy in ((depth_start, coordinates[0]), (depth_end, coordinates[-1])) if d is not None]
        if not known:
            point = json.dumps({"type": "Point", "coordinates": coordinates[len(coordinates) // 2]})
            found.append(_violation("cover", rule, None, point, pipe, None, pk, None))
            continue
        depth, xy = min(known, key=lambda item: item[0])
        if depth < rule.min_m:
            point = json.dumps({"type": "Point", "coordinates": xy})
            found.append(_violation("cover", rule, depth, point, pipe, None, pk, None))
    found.sort(key=lambda f: (f["properties"]["measured_m"] is not None, f["properties"]["measured_m"] or 0))
    return found[:MAX_VIOLATIONS]


def clearance_report(network_codes=(), lane: str = "under_motor_lane") -> dict:
    """Every GB 50289 violation (horizontal, vertical, cover) among the given networks (default: all)."""
    networks = networks_by_code(network_codes)
    features = horizontal_violations(networks) + vertical_violations(networks) + cover_violations(networks, lane)
    counts = Counter((f["properties"]["check"], f["properties"]["status"]) for f in features)
    return {
        "type": "FeatureCollection",
        "networks": [network.code for network in networks],
        "lane": lane,
        "counts": {f"{check}_{status}": count for (check, status), count in sorted(counts.items())},
        "features": features,
    }


# --------------------------------------------------------------------------------------------- connectivity


def connectivity(network: Network, point_a, point_b, tolerance_m: float) -> dict:
    """Whether two points on a network are joined by pipes, and the shortest run between them.

    Two answers: `physically` (any pipe, whatever the valves) and `in_service` (normally-closed valves
    taken as closed, the network as it is operated). The run returned is the in-service one when it
    exists, otherwise the physical one.
    """
    try:
        first = locate_burst(network, point=point_a, tolerance_m=tolerance_m)
    except PipelineInputError as error:
        raise PipelineInputError("start", error.detail) from None
    try:
        second = locate_burst(network, point=point_b, tolerance_m=tolerance_m)
    except PipelineInputError as error:
        raise PipelineInputError("end", error.detail) from None
    rows = list(Pipe.objects.filter(network=network).values_list("id", "start_node_id", "end_node_id", "length_m"))
    closed = set(
        Valve.objects.filter(pipe__network=network, normal_state=Valve.NormalState.CLOSED).values_list(
            "pipe_id", "node_id"
        )
    )
    in_service = _pipe_path(rows, first.pipe.pk, second.pipe.pk, closed)
    physical = in_service if in_service is not None else _pipe_path(rows, first.pipe.pk, second.pipe.pk, set())
    path = physical or []
    length = sum(row[3] for row in rows if row[0] in set(path))
    return {
        "network": network.code,
        "start": {"pipe": first.pipe.pk, "code": first.pipe.code, "distance_m": round(first.distance_m, 1)},
        "end": {"pipe": second.pipe.pk, "code": second.pipe.code, "distance_m": round(second.distance_m, 1)},
        "physically": physical is not None,
        "in_service": in_service is not None,
        "pipes": path,
        "length_m": round(length, 1),
        "run": _run_features(path),
    }


def _pipe_path(rows, first_pipe, last_pipe, closed_ends: set) -> list | None:
    """Shortest sequence of pipe ids from one pipe to another; a (pipe, node) in `closed_ends` is impassable.

    Vertices are pipe ends and nodes; walking a pipe costs its length, so the path is the shortest run.
    """
    if first_pipe == last_pipe:
        return [first_pipe]
    node_index: dict = {}
    for _pk, start, end, _length in rows:
        node_index.setdefault(start, len(node_index))
        node_index.setdefault(end, len(node_index))
    n_nodes, n_pipes = len(node_index), len(rows)
    pipe_index = {row[0]: k for k, row in enumerate(rows)}
    sources, targets, weights = [], [], []
    for k, (pk, start, end, length) in enumerate(rows):
        # Each pipe body is a vertex between its two nodes; half its length on each side.
        for node in (start, end):
            if (pk, node) not in closed_ends:
                sources.append(n_nodes + k)
                targets.append(node_index[node])
                weights.append(max(length / 2, 1e-6))
    size = n_nodes + n_pipes
    graph = sparse.coo_matrix((weights, (sources, targets)), shape=(size, size)).tocsr()
    start_vertex, end_vertex = n_nodes + pipe_index[first_pipe], n_nodes + pipe_index[last_pipe]
    _, predecessors = csgraph.dijkstra(graph, directed=False, indices=start_vertex, return_predecessors=True)
    if predecessors[end_vertex] < 0:
        return None
    path, vertex = [], end_vertex
    while vertex >= 0:
        if vertex >= n_nodes:
            path.append(rows[vertex - n_nodes][0])
        vertex = predecessors[vertex]
    return path[::-1]


def _run_features(pipe_ids: list) -> dict:
    rows = {
        pk: (code, gj)
        for pk, code, gj in Pipe.objects.filter(pk__in=pipe_ids)
        .annotate(gj=AsGeoJSON("geom", precision=7))
        .values_list("id", "code", "gj")
    }
    return {
        "type": "FeatureCollection",
        "features": [
            _feature(rows[pk][1], {"pipe_id": pk, "code": rows[pk][0], "order": k}, pk)
            for k, pk in enumerate(pipe_ids, start=1)
        ],
    }


# ------------------------------------------------------------------------------------------------- profile


def _dem_profile(line_wgs84: shapely.LineString, step_m: float):
    """Ground elevations along the run from the "dem" raster of the gis app, or None when there is none."""
    try:
        from gis import rasters  # added by the gis app; the profile works without it, from node elevations
    except ImportError:
        return None
    try:
        samples = rasters.profile(DEM_RASTER, line_wgs84, step_m)
    except (LookupError, FileNotFoundError, ValueError):  # not generated here, or the run is off the raster
        return None
    valid = [(distance, value) for distance, value in samples if value is not None]
    return valid if len(valid) >= 2 else None


def profile(network: Network, pipe_ids: list[int], step_m: float = PROFILE_STEP_M) -> dict:
    """纵剖面 of a pipe run: ground elevation (from the DEM) against the pipe's crown and invert elevations.

    The pipes must form a chain, each sharing a node with the next (as `connectivity` returns them). Crown
    elevation = ground - crown depth, the depth interpolated along each pipe between its end depths.
    Without a DEM the ground comes from the nodes' elevations, and `ground_source` says so.
    """
    if not pipe_ids:
        raise PipelineInputError("pipes", "give the pipe ids of the run, in order")
    rows = {
        row[0]: row
        for row in Pipe.objects.filter(network=network, pk__in=pipe_ids).values_list(
            "id", "code", "start_node_id", "end_node_id", "depth_start_m", "depth_end_m", "diameter_mm", "geom"
        )
    }
    missing = [pk for pk in pipe_ids if pk not in rows]
    if missing:
        raise PipelineInputError("pipes", f"pipe(s) {missing[:5]} are not in network {network.code}")
    elevation = dict(
        Node.objects.filter(network=network, pk__in={n for r in rows.values() for n in r[2:4]}).values_list(
            "id", "elevation_m"
        )
    )
    to_metric = pyproj.Transformer.from_crs(4326, metric_srid(), always_xy=True)
    parts, at_node = [], None
    for k, pk in enumerate(pipe_ids):
        _, code, start, end, depth_start, depth_end, diameter, geom = rows[pk]
        coords = np.array(geom.coords, dtype=float)
        if at_node is None:  # orient the first pipe towards the second
            nxt = rows[pipe_ids[1]] if len(pipe_ids) > 1 else None
            reverse = nxt is not None and start in (nxt[2], nxt[3]) and end not in (nxt[2], nxt[3])
        elif at_node in (start, end):
            reverse = at_node == end
        else:
            raise PipelineInputError("pipes", f"pipe {code} does not continue the run at position {k + 1}")
        if reverse:
            coords = coords[::-1]
            start, end, depth_start, depth_end = end, start, depth_end, depth_start
        at_node = end
        metric = np.column_stack(to_metric.transform(coords[:, 0], coords[:, 1]))
        parts.append((pk, code, start, end, depth_start, depth_end, diameter, coords, metric))

    lengths = [float(shapely.LineString(part[8]).length) for part in parts]
    total = float(sum(lengths))
    step = max(step_m, total / PROFILE_MAX_SAMPLES)
    run_lonlat = np.concatenate([part[7] if k == 0 else part[7][1:] for k, part in enumerate(parts)])
    dem = _dem_profile(shapely.LineString(run_lonlat), step)
    ground_source = "dem" if dem else "node_elevation"

    samples, pipes, offset = [], [], 0.0
    for part, length in zip(parts, lengths, strict=True):
        pk, code, start, end, depth_start, depth_end, diameter, _, metric = part
        count = max(2, int(length // step) + 1)
        for fraction in np.linspace(0.0, 1.0, count):
            distance = offset + fraction * length
            if dem:
                ground = float(np.interp(distance, [d for d, _ in dem], [v for _, v in dem]))
            else:
                low, high = elevation.get(start), elevation.get(end)
                ground = None if low is None or high is None else low + (high - low) * fraction
            depth = (
                None if depth_start is None or depth_end is None else depth_start + (depth_end - depth_start) * fraction
            )
            crown = None if ground is None or depth is None else ground - depth
            samples.append(
                {
                    "distance_m": round(distance, 2),
                    "ground_m": None if ground is None else round(ground, 2),
                    "crown_m": None if crown is None else round(crown, 2),
                    "invert_m": None if crown is None else round(crown - (diameter or 0) / 1000, 2),
                    "depth_m": None if depth is None else round(depth, 2),
                    "pipe": pk,
                }
            )
        pipes.append({"id": pk, "code": code, "from_m": round(offset, 2), "to_m": round(offset + length, 2),
                      "diameter_mm": diameter})  # fmt: skip
        offset += length
    return {
        "network": network.code,
        "length_m": round(total, 1),
        "ground_source": ground_source,
        "pipes": pipes,
        "samples": samples,
    }


# ---------------------------------------------------------------------------------------- replacement warnings

REASON_TEXT = {
    "over_life": lambda f: _("age %(age)s years, beyond the %(life)s-year service life") % f,
    "near_life": lambda f: _("age %(age)s years, near the %(life)s-year service life") % f,
    "repeated_repairs": lambda f: _("%(count)s repairs in the last %(years)s years") % f,
    "recent_repair": lambda f: _("repaired in the last %(years)s years") % f,
    "gas_cast_iron": lambda f: _("grey cast iron carrying gas"),
    "inoperable": lambda f: _("inoperable: does not close"),
    "never_exercised": lambda f: _("never exercised, %(age)s years old") % f,
}


def maintenance_warnings(networks: list[Network], today: date | None = None) -> dict:
    """管件更换预警: pipes and valves to replace or inspect, the most urgent first, each with its reasons."""
    today = today or timezone.localdate()
    since = today.replace(year=today.year - maintenance.RECENT_YEARS)
    recent = RepairRecord.objects.filter(repaired_on__gte=since)
    pipe_repairs = Counter(recent.exclude(pipe=None).values_list("pipe_id", flat=True))
    valve_repairs = Counter(recent.exclude(valve=None).values_list("valve_id", flat=True))
    utility = {network.pk: network.utility for network in networks}
    code = {network.pk: network.code for network in networks}
    items = []
    pipes = (
        Pipe.objects.filter(network__in=networks, link_type=Pipe.LinkType.PIPE)
        .annotate(gj=AsGeoJSON("geom", precision=7))
        .values_list("id", "code", "network_id", "material", "install_year", "diameter_mm", "gj")
    )
    for pk, pipe_code, network_id, material, year, diameter, gj in pipes:
        warning = maintenance.pipe_warning(utility[network_id], material, year, pipe_repairs[pk], today.year)
        if warning:
            items.append((warning, gj, {"kind": "pipe", "id": pk, "code": pipe_code, "network": code[network_id],
                                        "utility": utility[network_id], "material": material, "install_year": year,
                                        "diameter_mm": diameter, "repairs": pipe_repairs[pk]}))  # fmt: skip
    valves = (
        Valve.objects.filter(pipe__network__in=networks)
        .annotate(gj=AsGeoJSON("geom", precision=7))
        .values_list("id", "code", "pipe__network_id", "operability", "install_year", "diameter_mm", "gj")
    )
    for pk, valve_code, network_id, operability, year, diameter, gj in valves:
        warning = maintenance.valve_warning(operability, year, valve_repairs[pk], today.year)
        if warning:
            items.append((warning, gj, {"kind": "valve", "id": pk, "code": valve_code, "network": code[network_id],
                                        "utility": utility[network_id], "operability": operability,
                                        "install_year": year, "diameter_mm": diameter,
                                        "repairs": valve_repairs[pk]}))  # fmt: skip
    items.sort(key=lambda item: (item[0].rank, item[2]["code"]))
    features = [
        _feature(
            gj,
            properties
            | {
                "level": warning.level,
                "score": warning.score,
                "reasons": [REASON_TEXT[reason](figures) for reason, figures in warning.reasons],
            },
            f"{properties['kind'][0]}{properties['id']}",
        )
        for warning, gj, properties in items
    ]
    levels = Counter(f["properties"]["level"] for f in features)
    return {
        "type": "FeatureCollection",
        "date": today.isoformat(),
        "counts": {"replace": levels["replace"], "inspect": levels["inspect"]},
        "features": features,
    }
