"""Import of a pipe network from GIS files (zipped Shapefile, GeoPackage, GeoJSON, DXF) and export to GeoPackage.

The file comes through gis.importing (size, type and zip checks, layers in WGS84); GIS files hold lines, not a
graph: the topology is built from the geometry (topology.build_from_lines: snap, split at tees and valves) and
checked before anything is written. A file whose lines do not form one connected network, or with any
topology error, is refused with the validation report; services.import_network writes an accepted one in one
transaction. Attributes are read through a mapping (our field → the file's column), so a utility's own column
names (管径, 材质, …) work without editing the file. A DXF drawing's CAD layers are its layers, so the pipes of
one utility are picked by their layer's name (e.g. JS for 给水), the name kept in the column `Layer`.
"""

import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from django.contrib.gis.geos import LineString, Point

from core.models import Organisation
from core.selectors import metric_srid
from gis import importing

from . import topology
from .models import Network, Node, Pipe, Utility, Valve

BATCH = 2000
FORMATS = ("shp", "gpkg", "geojson", "dxf")  # gis.importing handlers; the first named in a refusal
# Our field → the column names looked for when the mapping does not name one (first found wins).
DEFAULT_COLUMNS = {
    "code": ("code", "id", "编号", "管线编号"),
    "diameter_mm": ("diameter_mm", "diameter", "dn", "管径"),
    "material": ("material", "材质"),
    "install_year": ("install_year", "year", "埋设年代", "年代"),
    "depth_start_m": ("depth_start_m", "起点埋深"),
    "depth_end_m": ("depth_end_m", "终点埋深"),
    "pressure_class": ("pressure_class", "压力级制"),
    "kind": ("kind", "type", "类型"),
    "name": ("name", "名称"),
    "normal_state": ("normal_state", "状态"),
    "operability": ("operability",),
}
MATERIAL_WORDS = {
    "球墨铸铁": Pipe.Material.DUCTILE_IRON,
    "灰口铸铁": Pipe.Material.CAST_IRON,
    "铸铁": Pipe.Material.CAST_IRON,
    "钢": Pipe.Material.STEEL,
    "钢管": Pipe.Material.STEEL,
    "PE": Pipe.Material.PE,
    "聚乙烯": Pipe.Material.PE,
    "PVC": Pipe.Material.PVC,
    "混凝土": Pipe.Material.CONCRETE,
    "钢筋混凝土": Pipe.Material.CONCRETE,
    "砼": Pipe.Material.CONCRETE,
    "钢筋砼": Pipe.Material.CONCRETE,
    "HDPE": Pipe.Material.PE,
    "UPVC": Pipe.Material.PVC,
    "PVC-U": Pipe.Material.PVC,
}
SOURCE_WORDS = {"source", "水源", "水厂", "门站", "调压站", "reservoir", "tank"}
VALVE_WORDS = {"valve", "阀门", "阀"}


class GisImportError(ValueError):
    """The file cannot be imported; `report` holds the validation report when the topology was the problem."""

    def __init__(self, message: str, report: dict | None = None):
        super().__init__(message)
        self.report = report


@dataclass(frozen=True)
class ImportOptions:
    code: str
    name: str
    utility: str
    owner: Organisation
    tolerance_m: float = 0.5
    mapping: dict = field(default_factory=dict)
    pipe_layer: str | None = None
    point_layer: str | None = None
    crs: str | None = None  # the file's CRS when it says none or a wrong one (wgs84, gcj02, EPSG:n …)


def read_layers(received: importing.Received, options: ImportOptions):
    """The line layer and the point layer (valves and sources, or None) of a file, in the metric CRS."""
    layers = received.handler.layers(received)
    # A GeoJSON file with lines and points is one layer of geometry type "Unknown": read it as both.
    mixed = [name for name, kind in layers if "LineString" not in kind and "Point" not in kind]
    line_layers = [name for name, kind in layers if "LineString" in kind] + mixed
    point_layers = [name for name, kind in layers if "Point" in kind]
    pipe_layer = options.pipe_layer or (line_layers[0] if line_layers else None)
    if pipe_layer is None:
        names = ", ".join(n for n, _ in layers) or "none"
        raise GisImportError(f"{received.name} has no line layer; layers: {names}")
    point_layer = options.point_layer or (point_layers[0] if point_layers else None)
    lines = _metric_layer(received, pipe_layer, options.crs)
    points = _metric_layer(received, point_layer, options.crs) if point_layer else None
    if points is None and (lines.geom_type == "Point").any():  # GeoJSON: one mixed layer
        points = lines[lines.geom_type == "Point"]
    elif points is not None:  # a DXF layer holds lines and labels alike
        points = points[points.geom_type == "Point"]
    lines = lines[lines.geom_type.isin(["LineString", "MultiLineString"])]
    if lines.empty:
        raise GisImportError(f"{received.name}: the layer {pipe_layer!r} holds no lines")
    return lines, points


def _metric_layer(received: importing.Received, layer: str, crs: str | None) -> gpd.GeoDataFrame:
    frame = importing.read_vector(received, layer=layer, crs=crs).frame
    frame = frame[~frame.geometry.isna() & ~frame.geometry.is_empty]
    return frame.to_crs(metric_srid())


def _column(frame: pd.DataFrame, target: str, mapping: dict) -> str | None:
    if target in mapping:
        if mapping[target] not in frame.columns:
            raise GisImportError(f"mapping: the file has no column {mapping[target]!r} (for {target})")
        return mapping[target]
    lower = {str(column).lower(): column for column in frame.columns}
    return next((lower[c.lower()] for c in DEFAULT_COLUMNS.get(target, ()) if c.lower() in lower), None)


def _records(frame: pd.DataFrame, targets, mapping: dict) -> list[dict]:
    columns = {target: _column(frame, target, mapping) for target in targets}
    rows = []
    for _, row in frame.iterrows():
        rows.append({t: (None if c is None or pd.isna(row[c]) else row[c]) for t, c in columns.items()})
    return rows


def _number(value, what: str, row: int) -> float | None:
    if value is None or value == "":
        return None
    try:
        return float(str(value).strip().upper().removeprefix("DN"))
    except ValueError:
        raise GisImportError(f"row {row}: {what} {value!r} is not a number") from None


def material_of(value) -> str:
    if value is None:
        return ""
    text = str(value).strip()
    if text in Pipe.Material.values:
        return text
    return MATERIAL_WORDS.get(text, MATERIAL_WORDS.get(text.upper(), Pipe.Material.OTHER))


def build(received: importing.Received, options: ImportOptions) -> topology.BuiltNetwork:
    """Read a file and build its network (no database writes); raises GisImportError with the report."""
    lines, points = read_layers(received, options)
    line_rows = _records(lines, ("code", "diameter_mm", "material", "install_year", "depth_start_m", "depth_end_m",
                                 "pressure_class"), options.mapping)  # fmt: skip
    parts = []
    for row, geometry, attrs in zip(lines.index, lines.geometry, line_rows, strict=True):  # row in the file
        for line in (
            shapely.get_parts(shapely.line_merge(geometry)) if geometry.geom_type != "LineString" else [geometry]
        ):
            if line.length > 0:
                parts.append((line, attrs | {"row": row}))
    valves, sources = [], []
    if points is not None and not points.empty:
        point_rows = _records(points, ("code", "kind", "name", "normal_state", "operability", "diameter_mm"),
                              options.mapping)  # fmt: skip
        for row, geometry, attrs in zip(points.index, points.geometry, point_rows, strict=True):
            kind = str(attrs["kind"] or "valve").strip().lower()
            if kind in SOURCE_WORDS:
                sources.append((geometry, attrs | {"row": row}))
            elif kind in VALVE_WORDS:
                valves.append((geometry, attrs | {"row": row}))
    built = topology.build_from_lines(parts, valves, sources, tolerance=options.tolerance_m)
    isolated = built.report.counts.get(topology.DefectKind.ISOLATED_COMPONENT.value, 0)
    if not built.report.ok or isolated:
        problems = ", ".join(f"{count} {kind}" for kind, count in built.report.counts.items() if count)
        raise GisImportError(
            f"the lines do not form one valid network ({problems}); nothing was imported", report_json(built)
        )
    return built


def report_json(built: topology.BuiltNetwork) -> dict:
    return {
        "ok": built.report.ok,
        "counts": built.report.counts,
        "node_count": len(built.node_xy),
        "pipe_count": len(built.pipes),
        "valve_count": len(built.valves),
        "split_count": built.split_count,
        "defects": topology.defects_json(built.report.defects, metric_srid(), with_ids=False),
    }


def write_network(
    received: importing.Received, options: ImportOptions, *, progress: Callable[[int, int], None] | None = None
) -> tuple[Network, dict]:
    """Build, check and write a network from a GIS file: (the network, its report); the caller's transaction.

    `progress(done, total)` hears of each step: reading and checking, then the nodes, pipes and valves written."""
    total = 4

    def step(done: int) -> None:
        if progress is not None:
            progress(done, total)

    step(0)
    built = build(received, options)
    step(1)
    to_wgs84 = pyproj.Transformer.from_crs(metric_srid(), 4326, always_xy=True)
    network = Network.objects.create(code=options.code, name=options.name, utility=options.utility, owner=options.owner)
    xy = np.array(built.node_xy, dtype=float)
    lon, lat = to_wgs84.transform(xy[:, 0], xy[:, 1])
    source_kind = Node.SourceKind.GAS_GATE if options.utility == Utility.GAS else Node.SourceKind.TREATMENT_PLANT
    nodes = Node.objects.bulk_create(
        (
            Node(
                network=network,
                code=str((attrs or {}).get("code") or f"N-{i + 1:06d}"),
                kind=kind,
                source_kind=source_kind if kind == Node.Kind.SOURCE else "",
                name=str((attrs or {}).get("name") or ""),
                geom=Point(float(x), float(y), srid=4326),
            )
            for i, (kind, attrs, x, y) in enumerate(zip(built.node_kind, built.node_attrs, lon, lat, strict=True))
        ),
        batch_size=BATCH,
    )
    step(2)
    used_codes: set[str] = set()
    pipes = []
    for k, (start, end, coords, attrs) in enumerate(built.pipes):
        row = attrs["row"]
        code = str(attrs.get("code") or f"P-{row}")
        code = code if code not in used_codes else f"{code}-{k + 1}"  # a line split at a tee: one code per piece
        used_codes.add(code)
        line_xy = np.array(coords, dtype=float)
        line_lon, line_lat = to_wgs84.transform(line_xy[:, 0], line_xy[:, 1])
        year = _number(attrs.get("install_year"), "install_year", row)
        pipes.append(
            Pipe(
                network=network,
                code=code[:64],
                start_node=nodes[start],
                end_node=nodes[end],
                diameter_mm=_number(attrs.get("diameter_mm"), "diameter_mm", row),
                material=material_of(attrs.get("material")),
                depth_start_m=_number(attrs.get("depth_start_m"), "depth_start_m", row),
                depth_end_m=_number(attrs.get("depth_end_m"), "depth_end_m", row),
                pressure_class=str(attrs.get("pressure_class") or "")
                if str(attrs.get("pressure_class") or "") in Pipe.PressureClass.values
                else "",
                install_year=int(year) if year else None,
                owner=options.owner,
                length_m=round(float(shapely.LineString(coords).length), 2),
                geom=LineString(list(zip(line_lon, line_lat, strict=True)), srid=4326),
            )
        )
    pipes = Pipe.objects.bulk_create(pipes, batch_size=BATCH)
    step(3)
    valves = []
    for v, (pipe, node, x, y, attrs) in enumerate(built.valves):
        valve_lon, valve_lat = to_wgs84.transform(x, y)
        state = str(attrs.get("normal_state") or Valve.NormalState.OPEN)
        operability = str(attrs.get("operability") or Valve.Operability.UNKNOWN)
        valves.append(
            Valve(
                code=str(attrs.get("code") or f"V-{v + 1:06d}")[:64],
                pipe=pipes[pipe],
                node=nodes[node],
                normal_state=state if state in Valve.NormalState.values else Valve.NormalState.OPEN,
                operability=operability if operability in Valve.Operability.values else Valve.Operability.UNKNOWN,
                diameter_mm=_number(attrs.get("diameter_mm"), "diameter_mm", attrs["row"]) or pipes[pipe].diameter_mm,
                geom=Point(float(valve_lon), float(valve_lat), srid=4326),
            )
        )
    Valve.objects.bulk_create(valves, batch_size=BATCH)
    step(4)
    return network, report_json(built)


def export_geopackage(network: Network) -> bytes:
    """The network as a GeoPackage: layers `pipes` (lines) and `points` (valves and sources), WGS84.

    The layout is the one `write_network` reads, so an exported network imports back unchanged.
    """
    pipes = list(
        Pipe.objects.filter(network=network)
        .order_by("id")
        .values_list("code", "diameter_mm", "material", "install_year", "depth_start_m", "depth_end_m",
                     "pressure_class", "link_type", "geom")
    )  # fmt: skip
    columns = ["code", "diameter_mm", "material", "install_year", "depth_start_m", "depth_end_m", "pressure_class",
               "link_type"]  # fmt: skip
    pipe_frame = gpd.GeoDataFrame(
        [row[:-1] for row in pipes],
        columns=columns,
        geometry=[shapely.from_wkb(bytes(row[-1].wkb)) for row in pipes],
        crs=4326,
    )
    valves = list(
        Valve.objects.filter(pipe__network=network)
        .order_by("id")
        .values_list("code", "normal_state", "operability", "diameter_mm", "geom")
    )
    sources = list(
        Node.objects.filter(network=network, kind=Node.Kind.SOURCE).order_by("id").values_list("code", "name", "geom")
    )
    point_rows = [(code, "valve", "", state, op, d) for code, state, op, d, _ in valves] + [
        (code, "source", name, None, None, None) for code, name, _ in sources
    ]
    point_frame = gpd.GeoDataFrame(
        point_rows,
        columns=["code", "kind", "name", "normal_state", "operability", "diameter_mm"],
        geometry=[shapely.from_wkb(bytes(row[-1].wkb)) for row in [*valves, *sources]],
        crs=4326,
    )
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / f"{network.code}.gpkg"
        pipe_frame.to_file(target, layer="pipes", driver="GPKG", engine="pyogrio")
        if not point_frame.empty:
            point_frame.to_file(target, layer="points", driver="GPKG", engine="pyogrio")
        return target.read_bytes()


def parse_mapping(text: str | None, fields=DEFAULT_COLUMNS) -> dict:
    """A mapping given as JSON ({"diameter_mm": "管径"}) or as pairs (diameter_mm=管径,material=材质), of `fields`."""
    if not text:
        return {}
    text = text.strip()
    if text.startswith("{"):
        try:
            mapping = json.loads(text)
        except json.JSONDecodeError as exc:
            raise GisImportError(f"mapping is not valid JSON: {exc}") from None
    else:
        try:
            mapping = dict(pair.split("=", 1) for pair in text.split(",") if pair.strip())
        except ValueError:
            raise GisImportError("mapping: write field=column pairs separated by commas") from None
    unknown = sorted(set(mapping) - set(fields))
    if unknown:
        raise GisImportError(f"mapping: unknown field(s) {', '.join(unknown)}; use {', '.join(fields)}")
    return {str(k).strip(): str(v).strip() for k, v in mapping.items()}
