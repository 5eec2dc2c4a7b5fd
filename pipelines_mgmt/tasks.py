"""Pipe network imports as background jobs (core/jobs.py): an EPANET model, a GIS file or survey tables, through
the same service functions as the API and the commands; PipelinesConfig.ready() registers them."""

from collections.abc import Mapping
from pathlib import Path

from django.utils.translation import gettext_lazy as _

from core import jobs, uploads
from core.models import Organisation

from . import gis_import, services, survey_import
from .importers import Georef
from .models import Utility
from .selectors import PipelineInputError


def _number(fields: Mapping, name: str, default: float | None = None) -> float | None:
    text = str(fields.get(name) or "").strip()
    if not text:
        return default
    try:
        return float(text)
    except ValueError:
        raise PipelineInputError(name, "a number") from None


def _network_fields(fields: Mapping) -> dict:
    """What both imports need; the network's code and utility are checked again when the job writes it."""
    code = str(fields.get("code") or "").strip()
    if not code:
        raise PipelineInputError("code", "the code of the new network")
    utility = str(fields.get("utility") or Utility.WATER)
    if utility not in Utility.values:
        raise PipelineInputError("utility", f"one of {', '.join(Utility.values)}")
    owner = str(fields.get("owner") or "")
    if not Organisation.objects.filter(code=owner).exists():
        raise PipelineInputError("owner", "the code of the organisation that owns the network")
    return {"code": code, "name": str(fields.get("name") or code), "utility": utility, "owner": owner}


def _epsg_or_offsets(fields: Mapping, missing: str) -> tuple[int | None, float | None, float | None]:
    """The coordinates' CRS (`epsg`), or else `offset_x` and `offset_y` of a local grid: one of the two is needed."""
    epsg = str(fields.get("epsg") or "").upper().removeprefix("EPSG:")
    if epsg and not epsg.isdigit():
        raise PipelineInputError("epsg", "an EPSG code, e.g. 4547")
    offset_x, offset_y = _number(fields, "offset_x"), _number(fields, "offset_y")
    if not epsg and (offset_x is None or offset_y is None):
        raise PipelineInputError("epsg", missing)
    return (int(epsg) if epsg else None), offset_x, offset_y


def _mapping(fields: Mapping, *columns) -> dict:
    """The `mapping` field (our field → the file's column) as gis_import.parse_mapping reads it."""
    try:
        return gis_import.parse_mapping(fields.get("mapping"), *columns)
    except gis_import.GisImportError as error:
        raise PipelineInputError("mapping", str(error)) from None


NETWORK_FIELDS = (
    jobs.FormField("code", _("Network code"), hint=_("letters, digits, - and _")),
    jobs.FormField("name", _("Name")),
    jobs.FormField("utility", _("Utility"), type="select", choices=tuple(Utility.choices)),
    jobs.FormField("owner", _("Owner (organisation code)")),
)


def _epanet_options(fields: Mapping) -> dict:
    epsg, offset_x, offset_y = _epsg_or_offsets(
        fields, "the model's CRS, or offset_x and offset_y into the city's metric CRS"
    )
    scale = _number(fields, "scale", 1.0)
    if scale <= 0:
        raise PipelineInputError("scale", "metres per model unit, above 0")
    georef = {"epsg": epsg} if epsg is not None else {"offset_x": offset_x, "offset_y": offset_y, "scale": scale}
    return _network_fields(fields) | {"georef": georef}


def _import_epanet(path: Path, options: dict, progress, user) -> dict:
    with uploads.local_file(path) as file:
        network = services.import_epanet(
            user,
            file,
            code=options["code"],
            name=options["name"],
            utility=options["utility"],
            owner=Organisation.objects.get(code=options["owner"]),
            georef=Georef(**options["georef"]),
            progress=progress,
        )
    return {"network": network.code}


def _gis_options(fields: Mapping) -> dict:
    tolerance = _number(fields, "tolerance_m", 0.5)
    if not 0 < tolerance <= 10:
        raise PipelineInputError("tolerance_m", "a snap tolerance in metres, above 0 and at most 10")
    return _network_fields(fields) | {"tolerance_m": tolerance, "mapping": _mapping(fields)}


def _import_gis(path: Path, options: dict, progress, user) -> dict:
    owner = Organisation.objects.get(code=options["owner"])
    with uploads.local_file(path) as file:
        network, report = services.import_network(
            user,
            file,
            gis_import.ImportOptions(**(options | {"owner": owner})),
            progress=progress,
        )
    return {"network": network.code, "report": report}


def _survey_options(fields: Mapping) -> dict:
    network = _network_fields(fields)
    epsg, offset_x, offset_y = _epsg_or_offsets(
        fields, "the CGCS2000 zone of X/Y, or offset_x and offset_y of a local grid"
    )
    depth_to = str(fields.get("depth_to") or "")
    if depth_to not in ("", "crown", "invert"):
        raise PipelineInputError("depth_to", "crown or invert")
    mapping = _mapping(fields, survey_import.POINT_COLUMNS | survey_import.LINE_COLUMNS)
    return network | {
        "epsg": epsg,
        "offset_x": offset_x or 0.0,
        "offset_y": offset_y or 0.0,
        "x_is_north": not jobs.checked(fields, "x_east"),
        "depth_to": depth_to or None,
        "sources": [s.strip() for s in str(fields.get("sources") or "").split(",") if s.strip()],
        "mapping": mapping,
    }


def _import_survey(path: Path, options: dict, progress, user) -> dict:
    survey = survey_import.SurveyOptions(
        code=options["code"],
        name=options["name"],
        utility=options["utility"],
        owner=Organisation.objects.get(code=options["owner"]),
        georef=survey_import.survey_georef(
            options["epsg"], options["offset_x"], options["offset_y"], x_is_north=options["x_is_north"]
        ),
        x_is_north=options["x_is_north"],
        depth_to=options["depth_to"],
        mapping=options["mapping"],
        sources=tuple(options["sources"]),
    )
    with uploads.local_file(path) as file:
        network, report = services.import_survey(user, [file], survey, progress=progress)
    return {"network": network.code, "report": report}


EPANET = jobs.ImportKind(
    name="epanet",
    label=_("EPANET water model"),
    suffixes=(".inp",),
    check_options=_epanet_options,
    work=_import_epanet,
    fields=(
        *NETWORK_FIELDS,
        jobs.FormField("epsg", _("CRS of the model (EPSG)"), hint=_("e.g. 4547; or give the offsets below")),
        jobs.FormField("offset_x", _("Origin x in the city's metric CRS"), type="number"),
        jobs.FormField("offset_y", _("Origin y in the city's metric CRS"), type="number"),
        jobs.FormField("scale", _("Metres per model unit"), type="number", hint="1"),
    ),
)
GIS_NETWORK = jobs.ImportKind(
    name="pipe_network",
    label=_("Pipe network from a GIS file"),
    suffixes=(".zip", ".gpkg", ".geojson", ".json"),
    check_options=_gis_options,
    work=_import_gis,
    fields=(
        *NETWORK_FIELDS,
        jobs.FormField("tolerance_m", _("Snap tolerance (m)"), type="number", hint="0.5"),
        jobs.FormField("mapping", _("Field mapping"), hint=_("diameter_mm=管径,material=材质")),
    ),
)
SURVEY = jobs.ImportKind(
    name="survey",
    label=_("Pipe network from survey tables (管线探测成果表)"),
    suffixes=(".xlsx", ".csv"),
    check_options=_survey_options,
    work=_import_survey,
    fields=(
        *NETWORK_FIELDS,
        jobs.FormField(
            "epsg", _("CRS of X/Y (EPSG)"), hint=_("a CGCS2000 zone, e.g. 4547; or give a local grid's offsets below")
        ),
        jobs.FormField("offset_x", _("Local grid: offset added to X"), type="number"),
        jobs.FormField("offset_y", _("Local grid: offset added to Y"), type="number"),
        jobs.FormField("x_east", _("X is the easting (surveys write X = northing)"), type="checkbox"),
        jobs.FormField(
            "depth_to",
            _("A bare 埋深 is measured to"),
            type="select",
            choices=(
                ("", _("by utility: invert for drainage, crown otherwise")),
                ("crown", _("the pipe's crown")),
                ("invert", _("the pipe's invert")),
            ),
        ),
        jobs.FormField("sources", _("Supply points"), hint=_("point numbers where supply enters, comma separated")),
        jobs.FormField("mapping", _("Column mapping"), hint=_("point=点编号,depth=埋深(m)")),
    ),
)
