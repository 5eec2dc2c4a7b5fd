"""The OpenStreetMap road import as a background job (core/jobs.py runs it, shows its progress, rolls it back);
GisConfig.ready() registers it."""

from collections.abc import Mapping
from pathlib import Path

from django.utils.translation import gettext_lazy as _

from core import jobs
from core.errors import InputError


def _bounding_box(text: str) -> list[float] | None:
    if not text:
        return None
    try:
        box = [float(v) for v in str(text).split(",")]
    except ValueError:
        box = []
    if len(box) != 4 or box[0] >= box[2] or box[1] >= box[3]:
        raise InputError("bbox", "four numbers: west,south,east,north (WGS84)")
    return box


def _check_options(fields: Mapping) -> dict:
    return {
        "replace": jobs.checked(fields, "replace"),
        "bbox": _bounding_box(fields.get("bbox", "")),
    }


def _import(path: Path, options: dict, progress, user) -> dict:
    from . import services  # here, not at the top: registering the kind (every process's start) stays light

    return services.import_osm_roads(
        path,
        replace=options["replace"],
        bounding_box=options["bbox"],
        progress=progress,
    )


OSM_ROADS = jobs.ImportKind(
    name="osm_roads",
    label=_("OpenStreetMap roads"),
    suffixes=(".osm.pbf", ".pbf"),
    check_options=_check_options,
    work=_import,
    fields=(
        jobs.FormField("replace", _("Remove every existing road first"), type="checkbox"),
        jobs.FormField("bbox", _("Only roads inside"), hint=_("west,south,east,north (WGS84); empty: all")),
    ),
)
