"""Import of hydraulic models (EPANET .inp, read by WNTR) into a pipe network, all or nothing.

The file comes through gis.importing like every import; EpanetHandler is the .inp type, registered from
PipelinesConfig.ready(), and services.import_epanet writes the model in one transaction.

EPANET coordinates are in whatever plane the modeller drew in, so they are georeferenced on the way in:
either they are in a known CRS (`epsg`), or they are model units placed into the deployment's metric CRS
by an offset and a scale. Every link becomes a Pipe row (pumps and control valves with their link type),
as WNTR's own segment analysis does, so the stored network gives the same valve segments as WNTR's.
EPANET control valves also get an isolation Valve row at their start node; a WNTR valve layer (given,
or generated with `generate_valve_layer`) becomes Valve rows on (link, node).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyproj
import shapely
from django.contrib.gis.geos import LineString, Point
from pyproj.exceptions import CRSError

from core.errors import without_paths
from core.models import Organisation
from core.selectors import metric_srid
from gis import importing

from .models import Network, Node, Pipe, Utility, Valve
from .selectors import PipelineInputError

if TYPE_CHECKING:
    import wntr

BATCH = 2000
VALVE_SETBACK_M = 1.0


class InpImportError(PipelineInputError):
    """The file cannot be imported; the message says why, and nothing was written."""

    def __init__(self, detail: str):
        super().__init__("file", detail)


@dataclass(frozen=True)
class Georef:
    """How model coordinates reach WGS84: a CRS of the model, or offset + scale into the metric CRS.

    Everything in between happens in the metric CRS, so lengths and valve setbacks are in metres.
    """

    epsg: int | None = None
    offset_x: float = 0.0
    offset_y: float = 0.0
    scale: float = 1.0

    @cached_property
    def _from_model(self) -> pyproj.Transformer | None:
        if self.epsg is None:
            return None
        try:
            return pyproj.Transformer.from_crs(self.epsg, metric_srid(), always_xy=True)
        except CRSError as exc:
            raise InpImportError(f"unknown CRS EPSG:{self.epsg}") from exc

    def to_metric(self, xy: np.ndarray) -> np.ndarray:
        if self._from_model is None:
            return np.column_stack((self.offset_x + self.scale * xy[:, 0], self.offset_y + self.scale * xy[:, 1]))
        return np.column_stack(self._from_model.transform(xy[:, 0], xy[:, 1]))


class EpanetHandler(importing.Handler):
    """EPANET .inp: text whose first line that is not a comment opens a [SECTION]."""

    name, label, suffixes = "inp", "EPANET model", (".inp",)

    def accepts(self, head: bytes) -> bool:
        return b"\x00" not in head and re.match(rb"(?:\xef\xbb\xbf)?(?:\s*;[^\n]*\n)*\s*\[", head) is not None

    def read(self, received: importing.Received) -> wntr.network.WaterNetworkModel:
        """The model as WNTR reads it, its errors turned into one message that names the line."""
        import wntr  # 2.5 s to import: only when a model is read, not in every process that registers the type

        try:
            model = wntr.network.WaterNetworkModel(str(received.path))
        except Exception as exc:  # WNTR raises many kinds; the innermost EPANET error names the line
            reasons = [str(exc)]
            cause = exc.__cause__ or exc.__context__
            while cause is not None and len(reasons) < 3:
                reasons.append(str(cause))
                cause = cause.__cause__ or cause.__context__
            reason = without_paths(": ".join(reasons[:2]))
            raise InpImportError(f"{received.name} is not a valid EPANET file: {reason}") from exc
        missing = sorted(set(model.node_name_list) - _nodes_with_coordinates(received.path))
        if missing:
            shown = ", ".join(missing[:5]) + (", …" if len(missing) > 5 else "")
            raise InpImportError(
                f"{len(missing)} node(s) have no [COORDINATES] in {received.name}, so cannot be placed: {shown}"
            )
        return model


def generated_valve_layer(model: wntr.network.WaterNetworkModel, kind: str, n: int, seed: int):
    """Isolation valves WNTR places on a model (the .inp format has none): `strategic` N-n, or `random` n."""
    from wntr.network.layer import generate_valve_layer

    return generate_valve_layer(model, kind, n, seed=seed)


def _nodes_with_coordinates(path: Path) -> set[str]:
    """Node names listed in the [COORDINATES] section (WNTR silently puts unlisted nodes at 0,0)."""
    names, inside = set(), False
    for line in path.read_text(errors="replace").splitlines():
        text = line.split(";", 1)[0].strip()
        if text.startswith("["):
            inside = re.match(r"\[COORDINATES\]", text, re.IGNORECASE) is not None
        elif inside and text:
            names.add(text.split()[0])
    return names


def import_model(
    model: wntr.network.WaterNetworkModel,
    *,
    code: str,
    name: str,
    utility: str = Utility.WATER,
    owner: Organisation,
    georef: Georef,
    valve_layer=None,
    progress: Callable[[int, int], None] | None = None,
) -> Network:
    """Write a WNTR model as a new network (the caller's transaction); `valve_layer` is a DataFrame (link, node).

    `progress(done, total)` counts the nodes, links and valves written, every BATCH of them."""
    names = list(model.node_name_list)
    valve_count = model.num_valves + (0 if valve_layer is None else len(valve_layer))
    total = len(names) + model.num_links + valve_count

    def report(done: int) -> None:
        if progress is not None:
            progress(done, total)

    report(0)
    to_wgs84 = pyproj.Transformer.from_crs(metric_srid(), 4326, always_xy=True)
    model_xy = np.array([model.get_node(n).coordinates for n in names], dtype=float).reshape(-1, 2)
    metric_xy = georef.to_metric(model_xy)
    node_xy = dict(zip(names, metric_xy, strict=True))
    lon, lat = _lonlat(to_wgs84, metric_xy)
    network = Network.objects.create(code=code, name=name, utility=utility, owner=owner)
    nodes = Node.objects.bulk_create(
        (_node(network, model.get_node(n), x, y) for n, x, y in zip(names, lon, lat, strict=True)), batch_size=BATCH
    )
    node_by_name = dict(zip(names, nodes, strict=True))
    report(len(names))

    pipes, lines = [], {}
    for count, (link_name, link) in enumerate(model.links(), start=1):
        xy = np.array(
            [node_xy[link.start_node_name], *georef.to_metric(np.array(link.vertices, dtype=float).reshape(-1, 2)),
             node_xy[link.end_node_name]]
        )  # fmt: skip
        lines[link_name] = shapely.LineString(xy)
        pipes.append(_pipe(network, link, node_by_name, _lonlat(to_wgs84, xy), lines[link_name].length))
        if count % BATCH == 0:
            report(len(names) + count)
    pipes = Pipe.objects.bulk_create(pipes, batch_size=BATCH)
    pipe_by_name = {pipe.code: pipe for pipe in pipes}
    report(len(names) + model.num_links)

    valves = [
        _valve(f"CV-{name}", pipe_by_name[name], node_by_name[link.start_node_name], lines[name], True, to_wgs84)
        | {"normal_state": _normal_state(link), "operability": Valve.Operability.UNKNOWN}
        for name, link in model.valves()
    ]
    if valve_layer is not None:
        for index, link_name, node_name in zip(
            valve_layer.index.tolist(), valve_layer["link"].tolist(), valve_layer["node"].tolist(), strict=True
        ):
            link = model.get_link(link_name)
            at_start = link.start_node_name == node_name
            valves.append(
                _valve(
                    f"V-{index}", pipe_by_name[link_name], node_by_name[node_name], lines[link_name], at_start, to_wgs84
                )
                | {"operability": Valve.Operability.WORKING}
            )
    Valve.objects.bulk_create((Valve(**fields) for fields in valves), batch_size=BATCH)
    report(total)
    return network


def _lonlat(to_wgs84: pyproj.Transformer, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lon, lat = to_wgs84.transform(xy[:, 0], xy[:, 1])
    lon, lat = np.asarray(lon), np.asarray(lat)
    if not (np.isfinite(lon).all() and np.isfinite(lat).all()) or (np.abs(lon) > 180).any() or (np.abs(lat) > 90).any():
        raise InpImportError("the georeference puts some nodes outside longitude -180..180 / latitude -90..90")
    return lon, lat


def _node(network: Network, node, lon: float, lat: float) -> Node:
    source_kind = {"Reservoir": Node.SourceKind.RESERVOIR, "Tank": Node.SourceKind.TANK}.get(node.node_type, "")
    elevation = node.base_head if node.node_type == "Reservoir" else node.elevation
    return Node(
        network=network,
        code=node.name,
        kind=Node.Kind.SOURCE if source_kind else Node.Kind.JUNCTION,
        source_kind=source_kind,
        elevation_m=float(elevation),
        geom=Point(float(lon), float(lat), srid=4326),
    )


def _pipe(network: Network, link, node_by_name: dict, lonlat, drawn_length: float) -> Pipe:
    link_type = {"Pipe": Pipe.LinkType.PIPE, "Pump": Pipe.LinkType.PUMP}.get(
        link.link_type, Pipe.LinkType.CONTROL_VALVE
    )
    diameter = getattr(link, "diameter", None)
    return Pipe(
        network=network,
        code=link.name,
        link_type=link_type,
        start_node=node_by_name[link.start_node_name],
        end_node=node_by_name[link.end_node_name],
        diameter_mm=round(diameter * 1000, 1) if diameter else None,
        owner=network.owner,
        # The model's length is the real one; the drawing of a hydraulic model is often schematic.
        length_m=float(getattr(link, "length", None) or drawn_length),
        geom=LineString(list(zip(*lonlat, strict=True)), srid=4326),
    )


def _normal_state(link) -> str:
    closed = str(link.initial_status).lower() == "closed"
    return Valve.NormalState.CLOSED if closed else Valve.NormalState.OPEN


def _valve(code: str, pipe: Pipe, node: Node, line: shapely.LineString, at_start: bool, to_wgs84) -> dict:
    setback = min(VALVE_SETBACK_M, line.length / 3)
    point = line.interpolate(setback if at_start else line.length - setback)
    lon, lat = to_wgs84.transform(point.x, point.y)
    return {
        "code": code,
        "pipe": pipe,
        "node": node,
        "diameter_mm": pipe.diameter_mm,
        "geom": Point(float(lon), float(lat), srid=4326),
    }
