"""The one way files come in: an upload or a server path passes one gate, then its type's handler reads it.

The gate, before a file is parsed: the size limit (settings.CITYOPS_IMPORT_MAX_BYTES), a handler for the type
the name (or the user's format) claims among those the importing target accepts, the first bytes matching
that type (a renamed executable or HTML page never reaches GDAL), and a zip unpacked with its sizes and names
checked (zip bombs, path traversal). Every refusal is an InputError naming the field; no message shows the
server's folders.

Handlers form a registry, one per file type, each declaring what it accepts (suffixes, first bytes) and how to
read it. The vector handlers give one normalised result (read_vector): a GeoDataFrame in WGS84 with the file's
own columns, indexed by row number in the file from 1. The user's `crs` wins over the file's, since files from
Chinese map services often claim WGS84 but hold GCJ-02. Domain importers map that result to their models; a
domain app may register a handler of its own from its AppConfig.ready() (pipelines_mgmt: EPANET .inp).

Besides the vector formats: tables (CSV, Excel .xlsx) read as sheets of text cells for importers that find
their own header row (pipeline survey tables), DXF drawings read by GDAL with each CAD layer as a layer, and
GeoTIFF, which only passes the gate here (gis.rasters reads it). Coordinates that fall outside where their
CRS is defined are refused (check_area_of_use): that is how a file declaring one CRS and holding another shows.
"""

from __future__ import annotations

import csv
import io
import re
import tempfile
import zipfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import prcoords
import pyogrio
import shapely
from django.core.files import File
from pyproj import CRS, Transformer

from core.errors import InputError, without_paths
from core.geo import OFFSET_CRS, SUPPORTED_CRS_TEXT, parse_crs
from core.uploads import max_bytes

HEAD_BYTES = 4096  # what the type checks look at
MAX_FEATURES = 200_000
MAX_UNZIPPED_BYTES = 512 * 1024 * 1024
MAX_ZIP_RATIO = 200  # deflate rarely beats ~10:1 on real vector data; a bomb is 1000:1 and more
MAX_ZIP_ENTRIES = 64
WKT_COLUMNS = ("wkt", "geometry", "geom", "the_geom", "shape")
LON_COLUMNS = ("lon", "lng", "long", "longitude", "x", "经度")
LAT_COLUMNS = ("lat", "latitude", "y", "纬度")
AREA_OF_USE_MARGIN_DEG = 1.0  # survey zones are used a little past their nominal edges
_DXF_BOOKKEEPING = {"SubClasses", "Linetype", "EntityHandle", "RawCodeValues", "PaperSpace"}
_KML_BOOKKEEPING = {"id", "tessellate", "extrude", "visibility", "drawOrder", "icon", "altitudeMode", "begin", "end"}


@dataclass(frozen=True)
class Received:
    """A file through the gate: `path` is what its handler reads (a zip's unpacked .shp or folder), `name` the
    file's own name for messages."""

    path: Path
    name: str
    handler: Handler


@dataclass(frozen=True)
class VectorRead:
    frame: gpd.GeoDataFrame  # WGS84; index = row number in the file, from 1; the file's own columns
    source_crs: str
    assumed_crs: bool  # neither the file nor the user said: the format's own CRS was taken


# -------------------------------------------------------------------------------------------------- handlers


class Handler:
    """A file type: the suffixes and first bytes it accepts, and what is read from a stored file."""

    name = ""
    label = ""
    suffixes: tuple[str, ...] = ()

    def accepts(self, head: bytes) -> bool:
        raise NotImplementedError

    def unpack(self, path: Path, scratch: Path) -> Path:
        """What the handler reads: the stored file itself, unless it is an archive."""
        return path

    def unreadable(self, received: Received, reason: str) -> InputError:
        return InputError("file", f"{received.name} is not a readable {self.label}: {without_paths(reason)[:200]}")


def _text(head: bytes) -> bytes | None:
    """The start of a text file without its BOM and leading blanks; None for binary content."""
    if b"\x00" in head:
        return None
    return head.lstrip(b"\xef\xbb\xbf \t\r\n")


class VectorHandler(Handler):
    """A file GDAL reads as layers of features."""

    default_crs: str | None = None  # the format's CRS by definition, for a file that says none
    missing_crs = "the file declares no CRS"

    def layers(self, received: Received) -> list[tuple[str, str]]:
        """[(layer name, geometry type)] as GDAL lists them."""
        try:
            found = pyogrio.list_layers(received.path)
        except Exception as exc:  # pyogrio raises DataSourceError & co. for anything GDAL cannot open
            raise self.unreadable(received, str(exc)) from None
        return [(str(name), str(kind or "")) for name, kind in found]

    def read(self, received: Received, layer: str | None, columns: dict) -> gpd.GeoDataFrame:
        """The features of `layer` (else the first) in the file's own CRS."""
        available = [name for name, _ in self.layers(received)]
        if not available:
            raise InputError("file", f"{received.name} holds no layer")
        if layer and layer not in available:
            raise InputError("layer", f"no layer {layer!r}; layers: {', '.join(available)}")
        frames = [self._read_layer(received, name) for name in ([layer] if layer else self.default_layers(available))]
        if len(frames) == 1:
            return frames[0]
        return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=frames[0].crs)

    def default_layers(self, available: list[str]) -> list[str]:
        return available[:1]

    def _read_layer(self, received: Received, layer: str) -> gpd.GeoDataFrame:
        try:
            return pyogrio.read_dataframe(received.path, layer=layer, max_features=MAX_FEATURES + 1, encoding=None)
        except Exception as exc:
            raise self.unreadable(received, f"layer {layer!r}: {exc}") from None


class GeoJsonHandler(VectorHandler):
    name, label, suffixes = "geojson", "GeoJSON", (".geojson", ".json")
    default_crs = "wgs84"  # RFC 7946

    def accepts(self, head):
        text = _text(head)
        return text is not None and text.startswith(b"{")


class GeoPackageHandler(VectorHandler):
    name, label, suffixes = "gpkg", "GeoPackage", (".gpkg",)

    def accepts(self, head):
        return head.startswith(b"SQLite format 3\x00")


class ShapefileHandler(VectorHandler):
    """A zip of one or more shapefiles (each a layer named by its file)."""

    name, label, suffixes = "shp", "zipped shapefile", (".zip",)
    missing_crs = "the shapefile has no .prj file"

    def accepts(self, head):
        return head.startswith(b"PK\x03\x04")

    def unpack(self, path, scratch):
        """Extract the shapefiles after checking sizes and names; the .shp, or the folder when there are several."""
        with _open_zip(path, "zip archive") as archive:
            entries = _checked_entries(archive)
            shps = [info.filename[:-4] for info in entries if info.filename.lower().endswith(".shp")]
            stems = {stem: Path(stem).name for stem in shps}  # in the zip → in the scratch folder
            if not stems:
                raise InputError("file", "the zip holds no .shp file")
            if len(set(stems.values())) < len(stems):
                raise InputError("file", "the zip holds two shapefiles of the same name")
            written = 0
            for info in entries:
                stem = next((s for s in stems if info.filename.startswith(s + ".")), None)
                if stem is None:
                    continue
                target = scratch / (stems[stem] + info.filename[len(stem) :].lower())
                with archive.open(info) as source, open(target, "wb") as out:
                    while chunk := source.read(1 << 20):
                        written += len(chunk)
                        if written > MAX_UNZIPPED_BYTES:  # sizes in the directory can lie
                            raise InputError("file", "the zip unpacks to more than it declares")
                        out.write(chunk)
        return scratch / f"{next(iter(stems.values()))}.shp" if len(stems) == 1 else scratch


def _open_zip(path: Path, what: str) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise InputError("file", f"the file is not a readable {what}") from None


def _checked_entries(archive: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    """The archive's files, refused when they are too many, would unpack too large or escape the folder."""
    entries = [info for info in archive.infolist() if not info.is_dir()]
    if len(entries) > MAX_ZIP_ENTRIES:
        raise InputError("file", f"the zip holds {len(entries)} files; at most {MAX_ZIP_ENTRIES}")
    total = sum(info.file_size for info in entries)
    packed = sum(info.compress_size for info in entries) or 1
    if total > MAX_UNZIPPED_BYTES:
        raise InputError("file", f"the zip would unpack to {total} bytes; at most {MAX_UNZIPPED_BYTES}")
    if total / packed > MAX_ZIP_RATIO:
        raise InputError("file", f"the zip is compressed {total / packed:.0f}:1, refused as a possible zip bomb")
    for info in entries:
        name = Path(info.filename)
        if name.is_absolute() or ".." in name.parts:
            raise InputError("file", f"unsafe path in the zip: {info.filename!r}")
    return entries


class CsvHandler(VectorHandler):
    """A table with a WKT column or longitude/latitude columns (`columns` names them when the defaults miss)."""

    name, label, suffixes = "csv", "CSV", (".csv",)
    default_crs = "wgs84"  # lon/lat by convention

    def accepts(self, head):
        return _text(head) is not None

    def layers(self, received):
        return [(Path(received.name).stem, "Unknown")]

    def _decoded(self, received: Received) -> str:
        content = received.path.read_bytes()
        for encoding in ("utf-8-sig", "gb18030"):  # Excel in China saves CSV as GBK
            try:
                return content.decode(encoding)
            except UnicodeDecodeError:
                continue
        raise InputError("file", "the CSV is neither UTF-8 nor GB18030 text")

    def sheets(self, received: Received) -> dict[str, pd.DataFrame]:
        """The table as one sheet of text cells, rows as long as they are (a title row above the header is short),
        no header taken: the caller finds its header row."""
        try:
            rows = list(csv.reader(io.StringIO(self._decoded(received), newline="")))
        except csv.Error as exc:
            raise self.unreadable(received, str(exc)) from None
        frame = pd.DataFrame(rows, dtype=str).fillna("")
        return {Path(received.name).stem: _within_row_limit(frame, received.name)}

    def read(self, received, layer, columns):
        try:
            frame = pd.read_csv(io.StringIO(self._decoded(received)), dtype_backend="numpy_nullable")
        except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            raise self.unreadable(received, str(exc)) from None
        lower = {str(name).strip().lower(): name for name in frame.columns}

        def pick(given: str | None, candidates) -> str | None:
            if given:
                if given not in frame.columns:
                    raise InputError(
                        "columns", f"no column {given!r} in the CSV; columns: {', '.join(map(str, frame.columns))}"
                    )
                return given
            return next((lower[c] for c in candidates if c in lower), None)

        wkt = pick(columns.get("wkt"), WKT_COLUMNS) if not (columns.get("lon") or columns.get("lat")) else None
        if wkt:
            text = frame[wkt].astype("string").fillna("").to_numpy(dtype=object)
            geometry = shapely.from_wkt(text, on_invalid="ignore")
            frame = frame.drop(columns=[wkt])
        else:
            lon, lat = pick(columns.get("lon"), LON_COLUMNS), pick(columns.get("lat"), LAT_COLUMNS)
            if not lon or not lat:
                raise InputError(
                    "columns",
                    "the CSV needs a WKT column (wkt, geometry) or longitude/latitude columns (lon, lat, 经度, 纬度)",
                )
            x = pd.to_numeric(frame[lon], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
            y = pd.to_numeric(frame[lat], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
            geometry = np.where(np.isnan(x) | np.isnan(y), None, shapely.points(np.nan_to_num(x), np.nan_to_num(y)))
            frame = frame.drop(columns=[lon, lat])
        return gpd.GeoDataFrame(frame, geometry=list(geometry), crs=None)


class KmlHandler(VectorHandler):
    """KML: every folder is a layer, and all of them are read unless one is named."""

    name, label, suffixes = "kml", "KML", (".kml",)
    default_crs = "wgs84"  # KML is WGS84 by definition

    def accepts(self, head):
        text = _text(head)
        return text is not None and text.startswith(b"<") and b"<kml" in text.lower()

    def default_layers(self, available):
        return available

    def read(self, received, layer, columns):
        frame = super().read(received, layer, columns)
        # LIBKML's bookkeeping fields, and columns no placemark fills; <name> is our `name`
        frame = frame.drop(columns=[c for c in frame.columns if c in _KML_BOOKKEEPING or frame[c].isna().all()])
        return frame.rename(columns={"Name": "name"})


class XlsxHandler(Handler):
    """An Excel workbook (.xlsx, a zip of XML checked like any zip): sheets of text cells, read by openpyxl."""

    name, label, suffixes = "xlsx", "Excel workbook", (".xlsx",)

    def accepts(self, head):
        return head.startswith(b"PK\x03\x04")

    def unpack(self, path, scratch):
        with _open_zip(path, "Excel workbook") as archive:
            entries = _checked_entries(archive)
        if not any(info.filename == "xl/workbook.xml" for info in entries):
            raise InputError("file", "the zip is not an Excel workbook (no xl/workbook.xml); save it as .xlsx")
        return path

    def sheets(self, received: Received) -> dict[str, pd.DataFrame]:
        """Every sheet as text cells, no header taken; formulas as the values Excel last saved."""
        try:
            frames = pd.read_excel(received.path, sheet_name=None, header=None, dtype=str, engine="openpyxl")
        except Exception as exc:  # openpyxl raises many kinds for a damaged workbook
            raise self.unreadable(received, str(exc)) from None
        return {str(name): _within_row_limit(frame.fillna(""), received.name) for name, frame in frames.items()}


def _within_row_limit(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    if len(frame) > MAX_FEATURES:
        raise InputError("file", f"{name} has more than {MAX_FEATURES} rows; split the file")
    return frame


class DxfHandler(VectorHandler):
    """An AutoCAD DXF drawing as GDAL reads it: every CAD layer is a layer here, its name kept in the column
    `Layer`; Z is dropped (drawings carry it as often by accident as on purpose)."""

    name, label, suffixes = "dxf", "DXF drawing", (".dxf",)
    missing_crs = "a DXF drawing declares no CRS"

    def accepts(self, head):
        if head.startswith(b"AutoCAD Binary DXF"):
            return True
        text = _text(head)
        return text is not None and re.match(rb"(?:999\r?\n[^\n]*\n\s*)*0\s*\r?\n\s*SECTION", text) is not None

    def _entities(self, received: Received) -> gpd.GeoDataFrame:
        frame = self._read_layer(received, "entities")
        on_paper = frame["PaperSpace"].eq(1) if "PaperSpace" in frame else False
        frame = frame[~frame.geometry.isna() & ~on_paper]  # the model only: a sheet's border and title block go
        return frame.set_geometry(shapely.force_2d(frame.geometry.values))

    def layers(self, received):
        frame = self._entities(received)
        kinds = frame.geometry.geom_type.str.removeprefix("Multi")
        return [(str(name), "+".join(sorted(set(group)))) for name, group in kinds.groupby(frame["Layer"], sort=False)]

    def read(self, received, layer, columns):
        frame = self._entities(received)
        if layer:
            if layer not in set(frame["Layer"]):
                layers = ", ".join(dict.fromkeys(frame["Layer"].astype(str)))
                raise InputError("layer", f"no layer {layer!r}; layers: {layers}")
            frame = frame[frame["Layer"] == layer]
        unused = [c for c in frame.columns if c in _DXF_BOOKKEEPING or (c != "Layer" and frame[c].isna().all())]
        return frame.drop(columns=unused).reset_index(drop=True)


class GeoTiffHandler(Handler):
    """A GeoTIFF (classic or BigTIFF, either byte order): only the gate; gis.rasters reads it."""

    name, label, suffixes = "tif", "GeoTIFF", (".tif", ".tiff")

    def accepts(self, head):
        return head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")


_HANDLERS: dict[str, Handler] = {}


def register(handler: Handler) -> Handler:
    """Make a file type importable (by its name in a target's `formats`)."""
    _HANDLERS[handler.name] = handler
    return handler


def handler(name: str) -> Handler:
    return _HANDLERS[name]


VECTOR_FORMATS = tuple(
    register(h).name for h in (GeoJsonHandler(), GeoPackageHandler(), ShapefileHandler(), CsvHandler(), KmlHandler())
)
TABLE_FORMATS = ("csv", register(XlsxHandler()).name)
DRAWING_FORMATS = (register(DxfHandler()).name,)
RASTER_FORMATS = (register(GeoTiffHandler()).name,)


# ------------------------------------------------------------------------------------------------------ gate


def choose(name: str, size: int, formats: Sequence[str], fmt: str | None = None) -> Handler:
    """Before a byte is read: the size limit, then the handler of the type `fmt` (or else the name) claims."""
    if size > max_bytes():
        raise InputError("file", f"the file is {size} bytes; at most {max_bytes()}")
    if fmt:
        if fmt not in formats:
            raise InputError("format", f"unsupported format {fmt!r}; use one of {', '.join(formats)}")
        return _HANDLERS[fmt]
    suffix = Path(name).suffix.lower()
    found = next((_HANDLERS[f] for f in formats if suffix in _HANDLERS[f].suffixes), None)
    if found is None:
        kinds = [f"{_HANDLERS[f].suffixes[0]} ({_HANDLERS[f].label})" for f in formats]
        choices = kinds[0] if len(kinds) == 1 else f"{', '.join(kinds[:-1])} or {kinds[-1]}"
        raise InputError("file", f"cannot tell the type of {name!r}; give a {choices} file")
    return found


def store(file: File, folder: Path) -> Path:
    """Write an upload (or an opened local file) into `folder`, chunk by chunk."""
    path = folder / ("upload" + Path(file.name).suffix.lower())
    with open(path, "wb") as out:
        for chunk in file.chunks():
            out.write(chunk)
    return path


@contextmanager
def opened(path: Path, name: str, chosen: Handler) -> Iterator[Received]:
    """A stored file whose first bytes must match its handler, unpacked into a scratch folder kept while in use."""
    with open(path, "rb") as stored:
        head = stored.read(HEAD_BYTES)
    if not head:
        raise InputError("file", "the file is empty")
    if not chosen.accepts(head):
        raise InputError("file", f"{name} does not hold what it claims (expected {chosen.label} content)")
    with tempfile.TemporaryDirectory(prefix="cityops-import-") as scratch:
        yield Received(chosen.unpack(path, Path(scratch)), name, chosen)


@contextmanager
def receive(file: File, formats: Sequence[str], *, fmt: str | None = None) -> Iterator[Received]:
    """The whole gate for a file read once: checked, stored in a temporary folder, opened."""
    chosen = choose(file.name, file.size, formats, fmt)
    with (
        tempfile.TemporaryDirectory(prefix="cityops-upload-") as folder,
        opened(store(file, Path(folder)), file.name, chosen) as received,
    ):
        yield received


# ---------------------------------------------------------------------------------------------------- reading


def read_vector(received: Received, *, layer: str | None = None, crs: str | None = None, columns=None) -> VectorRead:
    """A layer of a vector file in WGS84 (`crs`, wgs84, cgcs2000, gcj02, bd09 or EPSG:n, overrides the file's)."""
    given = parse_crs(crs) if crs else None
    frame = received.handler.read(received, layer, columns or {})
    if len(frame) > MAX_FEATURES:
        raise InputError("file", f"more than {MAX_FEATURES} features; split the file")
    frame.index = pd.RangeIndex(1, len(frame) + 1)
    if given:
        source_crs = given
    elif frame.crs is not None:
        epsg = frame.crs.to_epsg()
        source_crs = f"epsg:{epsg}" if epsg else frame.crs.to_string()
    elif received.handler.default_crs:
        source_crs = received.handler.default_crs
    else:
        raise InputError(
            "crs", f"{received.handler.missing_crs}; give its CRS ({SUPPORTED_CRS_TEXT}) instead of letting us guess"
        )
    geometry = _to_wgs84(frame.geometry, source_crs)
    wgs84 = gpd.GeoDataFrame(frame.drop(columns=frame.geometry.name), geometry=geometry, crs=4326)
    return VectorRead(wgs84, source_crs, assumed_crs=not given and frame.crs is None)


def check_area_of_use(crs: CRS, bounds: tuple[float, float, float, float], field: str, what: str) -> None:
    """Refuse coordinates outside where `crs` is defined (with a margin): a file that declares one CRS and holds
    another (a projected grid labelled WGS84, survey X and Y swapped, a local grid without its offset)."""
    west, south, east, north = bounds
    try:
        lon_lat = Transformer.from_crs(crs, 4326, always_xy=True).transform_bounds(west, south, east, north)
    except Exception:  # pyproj refuses coordinates it cannot project at all
        lon_lat = (np.inf,) * 4
    area = crs.area_of_use
    limits = (area.west, area.south, area.east, area.north) if area else (-180.0, -90.0, 180.0, 90.0)
    margin = AREA_OF_USE_MARGIN_DEG
    inside = all(map(np.isfinite, lon_lat)) and (
        limits[0] - margin <= lon_lat[0]
        and lon_lat[2] <= limits[2] + margin
        and limits[1] - margin <= lon_lat[1]
        and lon_lat[3] <= limits[3] + margin
    )
    if not inside:
        name = f"EPSG:{crs.to_epsg()}" if crs.to_epsg() else crs.name
        raise InputError(
            field,
            f"{what} ({west:.2f}, {south:.2f}) – ({east:.2f}, {north:.2f}) lie outside the area where {name} is "
            f"defined (longitude {limits[0]:.1f}..{limits[2]:.1f}, latitude {limits[1]:.1f}..{limits[3]:.1f}); "
            "give the CRS the coordinates are really in",
        )


def _to_wgs84(geometry: gpd.GeoSeries, source_crs: str) -> gpd.GeoSeries:
    if source_crs in OFFSET_CRS:
        return gpd.GeoSeries(
            [None if g is None else _offset_inverse(g, source_crs) for g in geometry], index=geometry.index, crs=4326
        )
    if source_crs in ("wgs84", "cgcs2000"):  # CGCS2000 equals WGS84 at city scale
        return gpd.GeoSeries(geometry.values, index=geometry.index, crs=4326)
    try:
        target = CRS.from_user_input(source_crs)
    except Exception:
        raise InputError("crs", f"unknown CRS {source_crs!r}") from None
    return gpd.GeoSeries(geometry.values, index=geometry.index, crs=target).to_crs(4326)


def _offset_inverse(geometry, crs: str):
    inverse = OFFSET_CRS[crs]

    def convert(xy):
        out = [inverse(prcoords.Coords(lat, lon), check_china=False) for lon, lat in xy]
        return np.array([(p.lon, p.lat) for p in out]).reshape(-1, 2)

    return shapely.transform(geometry, convert)
