"""Import of pipeline survey result tables (管线探测成果表, CJJ 61 / CJJ/T 8) into a pipe network.

A survey delivers a point table (物探点号, X, Y, 地面高程, 特征 or 附属物) and a line table (起始点号, 终止点号,
起点/终点埋深, optional 起点/终点高程, 材质, 管径), as CSV or Excel; a point table with a 连接点号 column is its own
line table (each row with a connecting point is the segment from its point to that one). Tables come through
gis.importing's gate; each sheet is recognised by its header row, found below any title rows, with the column
names surveys use (units in brackets ignored) or the user's mapping.

Survey conventions kept here: X is the northing and Y the easting; coordinates are in a CGCS2000 zone (`epsg`)
or a local grid placed into the metric CRS by an offset (importers.Georef); 埋深 is to the pipe's inner bottom
for drainage and to its crown otherwise, unless the header says 管底 or 管顶. Pipes store crown depths
(clearance.py), so an invert depth loses the pipe's inner height (the wall thickness is not in the table).

Rows are numbered as the spreadsheet shows them (its first row is 1). A cell that cannot be read refuses the
file at once, naming its row and column. The network is then checked (survey rules, then topology.check_topology
on the graph) and refused whole, with the report, when any check finds an error.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyproj
from django.contrib.gis.geos import LineString, Point
from pyproj import CRS

from core.models import Organisation
from core.selectors import metric_srid
from gis import importing

from . import topology
from .gis_import import GisImportError, material_of
from .importers import Georef
from .models import Network, Node, Pipe, Utility, Valve
from .selectors import PipelineInputError

BATCH = 2000
HEADER_SEARCH_ROWS = 15
MIN_SEGMENT_M = 0.05  # CJJ 61 tooling flags shorter segments
ELEVATION_GAP_M = 0.05  # 地面高程 = 埋深 + 管线高程, read to the centimetre
SAME_POINT_M = 0.01
# Our field → header names as surveys write them (normalised: no blanks, no bracketed units, lower case).
POINT_COLUMNS = {
    "point": ("物探点号", "点号", "管线点号", "测点号", "图上点号", "point"),
    "connect": ("连接点号", "连接点", "connect"),
    "x": ("x", "x坐标", "纵坐标", "北坐标"),
    "y": ("y", "y坐标", "横坐标", "东坐标"),
    "ground": ("地面高程", "地面标高", "ground"),
    "depth": ("埋深", "管顶埋深", "管底埋深", "管内底埋深", "depth"),
    "elevation": ("管线高程", "管顶高程", "管底高程", "管内底高程", "elevation"),
    "feature": ("特征", "特征点", "feature"),
    "appurtenance": ("附属物", "appurtenance"),
    "material": ("材质", "管材", "material"),
    "diameter": ("管径", "规格", "断面", "管径或断面", "断面尺寸", "diameter"),
    "install_year": ("建设年代", "埋设年代", "年代", "install_year"),
}
LINE_COLUMNS = {
    "start": ("起始点号", "起点点号", "起点号", "起点", "start"),
    "end": ("终止点号", "终点点号", "终点号", "终点", "连接点号", "end"),
    "depth_start": ("起点埋深", "起点管顶埋深", "起点管底埋深", "起点管内底埋深", "depth_start"),
    "depth_end": ("终点埋深", "终点管顶埋深", "终点管底埋深", "终点管内底埋深", "depth_end"),
    "elevation_start": ("起点高程", "起点管顶高程", "起点管底高程", "起点管内底高程", "elevation_start"),
    "elevation_end": ("终点高程", "终点管顶高程", "终点管底高程", "终点管内底高程", "elevation_end"),
    "material": POINT_COLUMNS["material"],
    "diameter": POINT_COLUMNS["diameter"],
    "install_year": POINT_COLUMNS["install_year"],
}
# 特征/附属物 words → node kind, first match wins (an air valve does not isolate anything).
NODE_WORDS = (
    ("排气", Node.Kind.JUNCTION),
    ("消火栓", Node.Kind.HYDRANT),
    ("消防栓", Node.Kind.HYDRANT),
    ("水表", Node.Kind.METER),
    ("阀", Node.Kind.VALVE),
    ("三通", Node.Kind.TEE),
    ("四通", Node.Kind.TEE),
    ("水源", Node.Kind.SOURCE),
    ("水厂", Node.Kind.SOURCE),
    ("门站", Node.Kind.SOURCE),
    ("调压站", Node.Kind.SOURCE),
)
UNSUPPLIED = {Utility.DRAINAGE, Utility.POWER, Utility.TELECOM}  # fed by no source: no_source does not apply
_SECTION = re.compile(r"^(\d+(?:\.\d+)?)\s*[×xX*]\s*(\d+(?:\.\d+)?)$")
_DIAMETER = re.compile(r"^(?:DN|DE|D|Φ|φ|Ø)?\s*(\d+(?:\.\d+)?)$", re.IGNORECASE)


class SurveyDefect:
    DUPLICATE_POINT = "duplicate_point"
    UNKNOWN_POINT = "unknown_point"
    ZERO_LENGTH = "zero_length"
    DUPLICATE_SEGMENT = "duplicate_segment"
    DEPTH_INCONSISTENT = "depth_inconsistent"
    DEPTH_DIFFERS = "depth_differs"
    UNUSED_POINT = "unused_point"


SEVERITY = {
    SurveyDefect.DUPLICATE_POINT: "error",
    SurveyDefect.UNKNOWN_POINT: "error",
    SurveyDefect.ZERO_LENGTH: "error",
    SurveyDefect.DUPLICATE_SEGMENT: "error",
    SurveyDefect.DEPTH_INCONSISTENT: "error",
    SurveyDefect.DEPTH_DIFFERS: "warning",  # a drop manhole: pipes meet a chamber at different depths
    SurveyDefect.UNUSED_POINT: "warning",
}


@dataclass(frozen=True)
class SurveyOptions:
    code: str
    name: str
    utility: str
    owner: Organisation
    georef: Georef = field(default_factory=Georef)
    x_is_north: bool = True  # the survey convention; False for tables written in x = easting order
    depth_to: str | None = None  # "crown" or "invert" for a bare 埋深; default by utility
    mapping: dict = field(default_factory=dict)  # our field → the table's header
    tolerance_m: float = MIN_SEGMENT_M  # two point numbers closer than this are a near miss
    sources: tuple[str, ...] = ()  # point numbers where supply enters (the survey rarely reaches the plant)


@dataclass
class _Point:
    number: str
    row: int
    xy: tuple[float, float]  # the table's own X, Y
    ground: float | None
    kind: str
    label: str
    depth: float | None = None  # connecting-point form: the depth at this point, as the table states it
    elevation: float | None = None


@dataclass
class _Segment:
    row: int
    start: str
    end: str
    depth: list  # [start, end] as the table states them (crown or invert), None where missing
    elevation: list
    invert: bool
    diameter_mm: float | None
    height_m: float | None  # inner height: the diameter, or a rectangular section's height
    material: str
    install_year: int | None
    where: str  # "lines.csv" or "成果表.xlsx, sheet 管线段", for messages


@dataclass
class _Defect:
    kind: str
    message: str
    xy: tuple[float, float] | None = None  # metric
    point_rows: tuple = ()
    line_rows: tuple = ()
    severity: str = ""

    def __post_init__(self):
        self.severity = self.severity or SEVERITY[self.kind]


@dataclass(frozen=True)
class SurveyTables:
    points: list[_Point]
    segments: list[_Segment]
    one_table: bool  # lines from 连接点号: a point repeats on a row per connection


@dataclass
class SurveyNetwork:
    """The network read from the tables, checked, not yet written; coordinates in the metric CRS."""

    points: dict[str, _Point]
    node_xy: dict[str, tuple[float, float]]
    segments: list[_Segment]
    defects: list[_Defect]

    @property
    def ok(self) -> bool:
        return not any(defect.severity == "error" for defect in self.defects)


def survey_georef(epsg: int | None, offset_x: float = 0.0, offset_y: float = 0.0, *, x_is_north: bool = True) -> Georef:
    """The Georef of a survey's X/Y: its CGCS2000 zone, or a local grid's offset given in the table's X, Y order
    (Georef offsets are east, north; the survey's X is the northing unless `x_is_north` is False)."""
    return Georef(epsg, *((offset_y, offset_x) if x_is_north else (offset_x, offset_y)))


# ------------------------------------------------------------------------------------------------ reading


def _normalised(header) -> str:
    text = re.sub(r"[(（\[【].*?[)）\]】]", "", str(header))
    return re.sub(r"\s+", "", text).lower()


def _find_header(frame: pd.DataFrame, names: dict, mapping: dict, required: tuple) -> tuple[int, dict] | None:
    """(row index of the header, our field → column index), or None when no row has the `required` fields."""
    wanted = {key: (_normalised(mapping[key]),) if key in mapping else names[key] for key in names}
    for index in range(min(HEADER_SEARCH_ROWS, len(frame))):
        cells = [_normalised(cell) for cell in frame.iloc[index].tolist()]
        columns = {}
        for key, aliases in wanted.items():
            found = next((cells.index(alias) for alias in aliases if alias in cells), None)
            if found is not None:
                columns[key] = found
        if all(key in columns for key in required):
            return index, columns
    return None


class _Table:
    """One sheet below its header: cells by our field name, each read with its row and column in messages."""

    def __init__(self, frame: pd.DataFrame, header: int, columns: dict, where: str):
        self.frame, self.header, self.columns, self.where = frame, header, columns, where
        self.headers = {key: str(frame.iat[header, index]).strip() for key, index in columns.items()}
        self.invert = {key: _invert_header(self.headers[key]) for key in self.headers}

    def rows(self):
        values = self.frame.to_numpy(dtype=object)  # a row of a numpy array, not a pandas row per line
        for index in range(self.header + 1, len(values)):
            cells = values[index]
            if all(str(cell).strip() == "" for cell in cells):
                continue
            yield index + 1, {key: str(cells[i]).strip() for key, i in self.columns.items()}

    def refuse(self, row: int, key: str, detail: str) -> PipelineInputError:
        return PipelineInputError("file", f"{self.where}, row {row}, column {self.headers[key]}: {detail}")

    def number(self, row: int, cells: dict, key: str, *, required: bool = False) -> float | None:
        text = cells.get(key, "")
        if text == "":
            if required:
                raise self.refuse(row, key, "is empty")
            return None
        try:
            value = float(text)
        except ValueError:
            raise self.refuse(row, key, f"{text!r} is not a number") from None
        if not np.isfinite(value):
            raise self.refuse(row, key, f"{text!r} is not a number")
        return value

    def depth(self, row: int, cells: dict, key: str) -> float | None:
        value = self.number(row, cells, key)
        if value is not None and value < 0:
            raise self.refuse(row, key, f"a depth of {value} m is negative")
        return value

    def diameter(self, row: int, cells: dict) -> tuple[float | None, float | None]:
        """(diameter mm, inner height m): DN300, Φ300, de110, 300, or a section 宽×高 (no diameter)."""
        text = cells.get("diameter", "").replace(" ", "")
        if text == "":
            return None, None
        if match := _SECTION.match(text):
            return None, float(match.group(2)) / 1000
        if match := _DIAMETER.match(text):
            return float(match.group(1)), float(match.group(1)) / 1000
        raise self.refuse(row, "diameter", f"{text!r} is not a diameter (DN300, 300) or a section (800×600)")

    def year(self, row: int, cells: dict) -> int | None:
        value = self.number(row, cells, "install_year")
        if value is not None and not (1800 <= value <= 2100 and value == int(value)):
            raise self.refuse(row, "install_year", f"{value:g} is not a year")
        return None if value is None else int(value)


def _invert_header(header: str) -> bool | None:
    """True when a depth or elevation header names the inner bottom, False for the crown, None when silent."""
    if "底" in header:
        return True
    if "顶" in header:
        return False
    return None


def _node_kind(*words: str) -> str:
    for word in words:
        for marker, kind in NODE_WORDS:
            if word and marker in word:
                return kind
    return Node.Kind.JUNCTION


def read_tables(received: list[importing.Received], options: SurveyOptions) -> SurveyTables:
    """The point rows and line rows of every sheet of the files, each sheet told apart by its header."""
    default_invert = (options.depth_to or ("invert" if options.utility == Utility.DRAINAGE else "crown")) == "invert"
    point_tables, line_tables = [], []
    for file in received:
        sheets = file.handler.sheets(file)
        for sheet, frame in sheets.items():
            where = file.name if len(sheets) == 1 else f"{file.name}, sheet {sheet}"
            if found := _find_header(frame, LINE_COLUMNS, options.mapping, ("start", "end")):
                line_tables.append(_Table(frame, *found, where))
            elif found := _find_header(frame, POINT_COLUMNS, options.mapping, ("point", "x", "y")):
                point_tables.append(_Table(frame, *found, where))
    if len(point_tables) != 1:
        raise PipelineInputError(
            "file",
            "give one point table (物探点号, X, Y, …)" + (f"; found {len(point_tables)}" if point_tables else ""),
        )
    if len(line_tables) > 1:
        found = len(line_tables)
        raise PipelineInputError("file", f"give at most one line table (起始点号, 终止点号, …); found {found}")
    points = _points(point_tables[0])
    if line_tables:
        return SurveyTables(points, _segments(line_tables[0], default_invert), one_table=False)
    if "connect" in point_tables[0].columns:
        return SurveyTables(points, _connections(point_tables[0], points, default_invert), one_table=True)
    raise PipelineInputError("file", "no line table (起始点号, 终止点号) and no 连接点号 column in the point table")


def _points(table: _Table) -> list[_Point]:
    points, numbers = [], set()
    for row, cells in table.rows():
        number = cells["point"]
        if not number:
            raise table.refuse(row, "point", "the point has no number")
        x, y = table.number(row, cells, "x"), table.number(row, cells, "y")
        if (x is None or y is None) and not ("connect" in table.columns and number in numbers):
            raise table.refuse(row, "x" if x is None else "y", "is empty")
        numbers.add(number)
        kind = _node_kind(cells.get("appurtenance", ""), cells.get("feature", ""))
        label = cells.get("appurtenance") or cells.get("feature") or ""
        points.append(
            _Point(
                number, row, (x, y) if x is not None and y is not None else None, table.number(row, cells, "ground"),
                kind, label, table.depth(row, cells, "depth"), table.number(row, cells, "elevation"),
            )
        )  # fmt: skip
    return points


def _segments(table: _Table, default_invert: bool) -> list[_Segment]:
    segments = []
    for row, cells in table.rows():
        for key in ("start", "end"):
            if not cells[key]:
                raise table.refuse(row, key, "the point number is empty")
        invert = next((table.invert[k] for k in ("depth_start", "depth_end") if table.invert.get(k) is not None), None)
        diameter, height = table.diameter(row, cells)
        segments.append(
            _Segment(
                row, cells["start"], cells["end"],
                [table.depth(row, cells, "depth_start"), table.depth(row, cells, "depth_end")],
                [table.number(row, cells, "elevation_start"), table.number(row, cells, "elevation_end")],
                default_invert if invert is None else invert, diameter, height,
                material_of(cells.get("material") or None), table.year(row, cells), table.where,
            )
        )  # fmt: skip
        _check_elevation_reference(table, row, ("elevation_start", "elevation_end"), segments[-1].invert)
    return segments


def _connections(table: _Table, points: list[_Point], default_invert: bool) -> list[_Segment]:
    """Segments of a point table with 连接点号: from each row's point to its connecting point; the end's depth is
    the one stated on the connecting point's first row."""
    first = {}
    for point in points:
        first.setdefault(point.number, point)
    invert = table.invert.get("depth")
    segments = []
    for (row, cells), point in zip(table.rows(), points, strict=True):
        if not cells.get("connect"):
            continue
        end = first.get(cells["connect"])
        diameter, height = table.diameter(row, cells)
        segments.append(
            _Segment(
                row, point.number, cells["connect"],
                [point.depth, end.depth if end else None], [point.elevation, end.elevation if end else None],
                default_invert if invert is None else invert, diameter, height,
                material_of(cells.get("material") or None), table.year(row, cells), table.where,
            )
        )  # fmt: skip
        _check_elevation_reference(table, row, ("elevation",), segments[-1].invert)
    return segments


def _check_elevation_reference(table: _Table, row: int, keys: tuple, invert: bool) -> None:
    for key in keys:
        stated = table.invert.get(key)
        if stated is not None and stated != invert:
            raise table.refuse(row, key, "the elevation and the depth must refer to the same point of the pipe")


# ----------------------------------------------------------------------------------------------- checking


def check(tables: SurveyTables, options: SurveyOptions) -> SurveyNetwork:
    """Place the points, run the survey rules and the graph checks; nothing raises on a bad network."""
    defects: list[_Defect] = []
    by_number: dict[str, _Point] = {}
    for point in tables.points:
        if point.number in options.sources:
            point.kind = Node.Kind.SOURCE
        seen = by_number.get(point.number)
        if seen is None:
            by_number[point.number] = point
            continue
        same = point.ground in (None, seen.ground) and (
            point.xy is None or np.hypot(point.xy[0] - seen.xy[0], point.xy[1] - seen.xy[1]) <= SAME_POINT_M
        )
        if not (same and tables.one_table):
            defects.append(
                _Defect(
                    SurveyDefect.DUPLICATE_POINT,
                    f"point rows {seen.row} and {point.row}: point number {point.number} is used twice",
                    point_rows=(seen.row, point.row),
                )
            )
    node_xy = _placed(by_number, options)

    graph: list[_Segment] = []
    pairs: dict[frozenset, _Segment] = {}
    used: set[str] = set()
    for segment in tables.segments:
        missing = [n for n in (segment.start, segment.end) if n not in by_number]
        for number in missing:
            defects.append(
                _Defect(
                    SurveyDefect.UNKNOWN_POINT,
                    f"line row {segment.row}: point {number} is not in the point table",
                    node_xy.get(segment.start) or node_xy.get(segment.end),
                    line_rows=(segment.row,),
                )
            )
        if missing:
            continue
        used |= {segment.start, segment.end}
        a, b = node_xy[segment.start], node_xy[segment.end]
        if segment.start == segment.end or np.hypot(a[0] - b[0], a[1] - b[1]) < MIN_SEGMENT_M:
            defects.append(
                _Defect(
                    SurveyDefect.ZERO_LENGTH,
                    f"line row {segment.row}: {segment.start} to {segment.end} has no length",
                    a,
                    (by_number[segment.start].row, by_number[segment.end].row),
                    (segment.row,),
                )
            )
            continue
        key = frozenset((segment.start, segment.end))
        if key in pairs:
            defects.append(
                _Defect(
                    SurveyDefect.DUPLICATE_SEGMENT,
                    f"line rows {pairs[key].row} and {segment.row} both join {segment.start} and {segment.end}",
                    a,
                    line_rows=(pairs[key].row, segment.row),
                )
            )
            continue
        pairs[key] = segment
        graph.append(segment)
        defects += _depth_defects(segment, by_number, node_xy)
    defects += _depths_at_points(graph, by_number, node_xy)
    for number, point in by_number.items():
        if number not in used:
            defects.append(
                _Defect(
                    SurveyDefect.UNUSED_POINT,
                    f"point row {point.row}: no line uses point {number}",
                    node_xy[number],
                    (point.row,),
                )
            )
    defects += _graph_defects(by_number, node_xy, graph, used, options)
    return SurveyNetwork({n: p for n, p in by_number.items() if n in used}, node_xy, graph, defects)


def _placed(by_number: dict[str, _Point], options: SurveyOptions) -> dict[str, tuple[float, float]]:
    """Point number → metric x, y, after the survey's X/Y order, the georeference and the area-of-use check."""
    if not by_number:
        return {}
    table_xy = np.array([point.xy for point in by_number.values()], dtype=float)
    east_north = table_xy[:, ::-1] if options.x_is_north else table_xy
    metric = options.georef.to_metric(east_north)
    # Checked where the coordinates were written: the survey's zone, or the metric CRS a local grid is placed in.
    crs, written = (options.georef.epsg, east_north) if options.georef.epsg else (metric_srid(), metric)
    importing.check_area_of_use(
        CRS.from_epsg(crs),
        (*written.min(axis=0), *written.max(axis=0)),
        "file",
        "the surveyed points" + (" (X as northing, Y as easting)" if options.x_is_north else ""),
    )
    return {number: (float(x), float(y)) for number, (x, y) in zip(by_number, metric, strict=True)}


def _crown(segment: _Segment, value: float | None, *, elevation: bool) -> float | None:
    """A stated depth or elevation at an end of the segment, as the crown's."""
    if value is None or not segment.invert:
        return value
    if segment.height_m is None:
        return None
    return value + segment.height_m if elevation else value - segment.height_m


def _depth_defects(segment: _Segment, by_number: dict, node_xy: dict) -> list[_Defect]:
    found = []
    for end, number in enumerate((segment.start, segment.end)):
        point = by_number[number]
        depth = _crown(segment, segment.depth[end], elevation=False)
        elevation = _crown(segment, segment.elevation[end], elevation=True)
        rows = {"point_rows": (point.row,), "line_rows": (segment.row,)}
        if segment.depth[end] is not None and segment.invert and segment.height_m is None:
            message = f"line row {segment.row}: the depth at {number} is to the pipe's bottom, but there is no 管径"
            found.append(_Defect(SurveyDefect.DEPTH_INCONSISTENT, message, node_xy[number], **rows))
        elif depth is not None and depth < 0:
            message = (
                f"line row {segment.row}: at {number} the pipe's crown would be {-depth:.2f} m above ground "
                f"(depth {segment.depth[end]} m to the bottom of a {segment.height_m * 1000:.0f} mm pipe); "
                "is the depth to the crown?"
            )
            found.append(_Defect(SurveyDefect.DEPTH_INCONSISTENT, message, node_xy[number], **rows))
        elif None not in (depth, elevation, point.ground) and abs(point.ground - depth - elevation) > ELEVATION_GAP_M:
            message = (
                f"line row {segment.row}: at {number} the ground {point.ground:.2f} m less the depth "
                f"{segment.depth[end]:.2f} m is not the pipe elevation {segment.elevation[end]:.2f} m"
            )
            found.append(_Defect(SurveyDefect.DEPTH_INCONSISTENT, message, node_xy[number], **rows))
    return found


def _depths_at_points(segments: list[_Segment], by_number: dict, node_xy: dict) -> list[_Defect]:
    depths: dict[str, dict[float, int]] = defaultdict(dict)
    for segment in segments:
        for end, number in enumerate((segment.start, segment.end)):
            depth = _crown(segment, segment.depth[end], elevation=False)
            if depth is not None:
                depths[number].setdefault(round(depth, 2), segment.row)
    return [
        _Defect(
            SurveyDefect.DEPTH_DIFFERS,
            f"point {number}: the lines of rows {', '.join(map(str, rows.values()))} meet it at crown depths "
            f"{', '.join(f'{d:.2f}' for d in rows)} m",
            node_xy[number],
            (by_number[number].row,),
            tuple(rows.values()),
        )
        for number, rows in depths.items()
        if len(rows) > 1
    ]


def _code(segment: _Segment) -> str:
    return f"{segment.start}-{segment.end}"[:64]


def _graph_defects(by_number, node_xy, graph: list[_Segment], used: set, options: SurveyOptions) -> list[_Defect]:
    """topology.check_topology on the graph the point numbers make (near misses, components, sources)."""
    if not graph:
        return []
    nodes = [topology.TopoNode(n, *node_xy[n], by_number[n].kind) for n in by_number if n in used]
    pipes = [topology.TopoPipe(_code(s), s.start, s.end, [node_xy[s.start], node_xy[s.end]]) for s in graph]
    row_of_pipe = {_code(s): s.row for s in graph}
    report = topology.check_topology(nodes, pipes, _valves(graph, by_number, node_xy), tolerance=options.tolerance_m)
    found = []
    for defect in report.defects:
        if defect.kind == topology.DefectKind.NO_SOURCE and options.utility in UNSUPPLIED:
            continue
        found.append(
            _Defect(
                defect.kind.value,
                defect.message,
                (defect.x, defect.y),
                tuple(by_number[n].row for n in defect.nodes if n in by_number),
                tuple(row_of_pipe[p] for p in defect.pipes if p in row_of_pipe),
                defect.severity,
            )
        )
    return found


def _first_lines(segments: list[_Segment]) -> dict[str, int]:
    """Point number → index of the first line that meets it: the line a valve point's valve is on."""
    first: dict[str, int] = {}
    for index, segment in enumerate(segments):
        first.setdefault(segment.start, index)
        first.setdefault(segment.end, index)
    return first


def _valves(graph: list[_Segment], by_number, node_xy) -> list[topology.TopoValve]:
    first = _first_lines(graph)
    return [
        topology.TopoValve(number, _code(graph[first[number]]), number, *node_xy[number])
        for number, point in by_number.items()
        if point.kind == Node.Kind.VALVE and number in first
    ]


# ------------------------------------------------------------------------------------------------ writing


def report_json(survey: SurveyNetwork) -> dict:
    to_wgs84 = pyproj.Transformer.from_crs(metric_srid(), 4326, always_xy=True)
    defects = []
    for defect in survey.defects:
        location = None
        if defect.xy is not None:
            lon, lat = to_wgs84.transform(*defect.xy)
            location = {"type": "Point", "coordinates": [round(lon, 7), round(lat, 7)]}
        defects.append(
            {
                "kind": defect.kind,
                "severity": defect.severity,
                "message": defect.message,
                "point_rows": list(defect.point_rows),
                "line_rows": list(defect.line_rows),
                "location": location,
            }
        )
    counts: dict[str, int] = defaultdict(int)
    for defect in survey.defects:
        counts[defect.kind] += 1
    return {
        "ok": survey.ok,
        "counts": dict(counts),
        "node_count": len(survey.points),
        "pipe_count": len(survey.segments),
        "valve_count": sum(p.kind == Node.Kind.VALVE for p in survey.points.values()),
        "defects": defects,
    }


def build(received: list[importing.Received], options: SurveyOptions) -> SurveyNetwork:
    """Read and check the tables (no database writes); raises GisImportError with the report on an error."""
    survey = check(read_tables(received, options), options)
    if not survey.ok:
        errors = defaultdict(int)
        for defect in survey.defects:
            if defect.severity == "error":
                errors[defect.kind] += 1
        problems = ", ".join(f"{count} {kind}" for kind, count in errors.items())
        raise GisImportError(f"the survey does not make a valid network ({problems}); nothing was imported",
                             report_json(survey))  # fmt: skip
    return survey


def write_network(
    survey: SurveyNetwork, options: SurveyOptions, *, progress: Callable[[int, int], None] | None = None
) -> tuple[Network, dict]:
    """Write a checked survey as a new network (the caller's transaction): (the network, its report)."""
    to_wgs84 = pyproj.Transformer.from_crs(metric_srid(), 4326, always_xy=True)
    numbers = list(survey.points)
    xy = np.array([survey.node_xy[n] for n in numbers], dtype=float)
    lon, lat = to_wgs84.transform(xy[:, 0], xy[:, 1])
    lonlat = {n: (float(x), float(y)) for n, x, y in zip(numbers, lon, lat, strict=True)}
    valve_points = [n for n in numbers if survey.points[n].kind == Node.Kind.VALVE]
    total, done = len(numbers) + len(survey.segments) + len(valve_points), 0

    def advance(count: int) -> None:
        nonlocal done
        done += count
        if progress is not None:
            progress(done, total)

    advance(0)
    network = Network.objects.create(code=options.code, name=options.name, utility=options.utility, owner=options.owner)
    source_kind = Node.SourceKind.GAS_GATE if options.utility == Utility.GAS else Node.SourceKind.TREATMENT_PLANT
    nodes = {}
    for batch in _batches(numbers):
        created = Node.objects.bulk_create(
            Node(
                network=network,
                code=number[:64],
                kind=survey.points[number].kind,
                source_kind=source_kind if survey.points[number].kind == Node.Kind.SOURCE else "",
                name=survey.points[number].label[:128],
                elevation_m=survey.points[number].ground,
                geom=Point(*lonlat[number], srid=4326),
            )
            for number in batch
        )
        nodes.update(zip(batch, created, strict=True))
        advance(len(batch))
    pipes = []
    for batch in _batches(survey.segments):
        pipes += Pipe.objects.bulk_create(_pipe(network, s, nodes, lonlat, survey.node_xy) for s in batch)
        advance(len(batch))
    first = _first_lines(survey.segments)  # as checked (_valves)
    for batch in _batches(valve_points):
        Valve.objects.bulk_create(
            Valve(
                code=number[:64],
                pipe=pipes[first[number]],
                node=nodes[number],
                diameter_mm=pipes[first[number]].diameter_mm,
                geom=Point(*lonlat[number], srid=4326),
            )
            for number in batch
        )
        advance(len(batch))
    return network, report_json(survey)


def _batches(items: list) -> list[list]:
    return [items[i : i + BATCH] for i in range(0, len(items), BATCH)]


def _pipe(network: Network, segment: _Segment, nodes: dict, lonlat: dict, node_xy: dict) -> Pipe:
    depths = [_crown(segment, segment.depth[end], elevation=False) for end in (0, 1)]
    (x0, y0), (x1, y1) = node_xy[segment.start], node_xy[segment.end]
    return Pipe(
        network=network,
        code=_code(segment),
        start_node=nodes[segment.start],
        end_node=nodes[segment.end],
        diameter_mm=segment.diameter_mm,
        material=segment.material,
        depth_start_m=None if depths[0] is None else round(depths[0], 3),
        depth_end_m=None if depths[1] is None else round(depths[1], 3),
        install_year=segment.install_year,
        owner=network.owner,
        length_m=round(float(np.hypot(x1 - x0, y1 - y0)), 2),
        geom=LineString([lonlat[segment.start], lonlat[segment.end]], srid=4326),
    )
