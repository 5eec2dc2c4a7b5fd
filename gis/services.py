"""State changes of the spatial data app: importing a file (preview, then commit), exporting a layer, and
loading a city's real streets from OpenStreetMap.

An upload is kept under VAR_DIR/imports/<preview id>/ until it is committed or expires; the commit reads it
again with the same options and writes the dataset and all its features in one transaction, so a failure
leaves nothing half-imported.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import geopandas as gpd
import shapely
from django.conf import settings
from django.contrib.gis.geos import GEOSGeometry, Point
from django.core.management.color import no_style
from django.db import DatabaseError, connection, transaction
from django.db.models import Max
from django.utils import timezone

from core.errors import InputError
from core.models import Role
from core.selectors import city_boundary
from core.services import record_audit

from . import importing, io, layers, ogcapi, osm, rasters, tiles
from .geocoding import PROVINCES, road_key, search_text
from .layers import Layer
from .models import Address, Dataset, DatasetFeature, ImportPreview, Road, TurnRestriction

IMPORT_ROLES = (Role.PLANNER, Role.ADMIN)
DEFAULT_READ_ROLES = [Role.PLANNER, Role.OPERATOR, Role.LEADER, Role.ADMIN]
PREVIEW_HOURS = 24
SAMPLE_FEATURES = 10
AREA_MARGIN_DEG = 0.5  # ~50 km around the city: farther features are almost always a wrong CRS
MAX_EXPORT_FEATURES = 500_000
OSM_BATCH = 2000  # roads per INSERT (and per progress step) of an OSM import
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,46}$")


def _imports_dir() -> Path:
    return Path(settings.VAR_DIR) / "imports"


def city_area() -> tuple[float, float, float, float] | None:
    """Where imported features may lie: the city's extent plus a margin; None before a city is set up."""
    city = city_boundary()
    if city is None:
        return None
    west, south, east, north = city.geom.extent
    m = AREA_MARGIN_DEG
    return west - m, south - m, east + m, north + m


def _options(fmt, crs, layer, columns) -> dict:
    return {"format": fmt, "crs": crs or None, "layer": layer or None, "columns": columns or {}}


def _read(received: importing.Received, options: dict) -> io.ReadResult:
    return io.read(
        received,
        crs=options["crs"],
        layer=options["layer"],
        columns=options["columns"],
        area=city_area(),
    )


def _feature(row, geometry) -> dict:
    props = {k: io.json_value(v) for k, v in row.items()}
    return {"type": "Feature", "geometry": json.loads(shapely.to_geojson(geometry)), "properties": props}


def preview_import(user, upload, *, fmt=None, crs=None, layer=None, columns=None) -> ImportPreview:
    """Store a file (an upload, or import_layer's local file), read and check it, and return a preview (counts,
    report, sample features)."""
    if not user.has_role(*IMPORT_ROLES):
        raise PermissionError("importing layers needs the planner or administrator role")
    handler = importing.choose(upload.name, upload.size, importing.VECTOR_FORMATS, fmt)
    _forget_old_previews()
    preview_id = uuid.uuid4()
    folder = _imports_dir() / str(preview_id)
    folder.mkdir(parents=True)
    try:
        options = _options(handler.name, crs, layer, columns)
        with importing.opened(importing.store(upload, folder), upload.name, handler) as received:
            result = _read(received, options)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    sample = [
        _feature(row, geom)
        for (_, row), geom in zip(
            result.frame.drop(columns="geometry").head(SAMPLE_FEATURES).iterrows(),
            result.frame.geometry.head(SAMPLE_FEATURES),
            strict=True,
        )
    ]
    report = {
        **result.report,
        "geometry_type": result.geometry_type,
        "fields": result.fields,
        "bbox": list(result.frame.total_bounds) if len(result.frame) else None,
        "sample": sample,
    }
    return ImportPreview.objects.create(
        id=preview_id, created_by=user, file_name=upload.name[:255], options=options, report=report
    )


def _forget_old_previews() -> None:
    """Uploads nobody committed within PREVIEW_HOURS are removed (rows and files)."""
    stale = ImportPreview.objects.filter(created_at__lt=timezone.now() - timedelta(hours=PREVIEW_HOURS))
    for preview_id in stale.values_list("pk", flat=True):
        shutil.rmtree(_imports_dir() / str(preview_id), ignore_errors=True)
    stale.delete()


def commit_import(user, preview: ImportPreview, *, slug: str, title: str, read_roles=None) -> Dataset:
    """Publish a previewed upload as a dataset layer `ds-<slug>`, all features or none."""
    if preview.created_by_id != user.pk:
        raise PermissionError("only the user who uploaded a file may commit it")
    if preview.committed_id:
        raise InputError("preview", "this upload has already been committed")
    if preview.created_at < timezone.now() - timedelta(hours=PREVIEW_HOURS):
        raise InputError("preview", f"the preview is older than {PREVIEW_HOURS} h; upload the file again")
    if not _SLUG.match(slug or ""):
        raise InputError("slug", "use 1-47 lower-case letters, digits and hyphens, starting with a letter or digit")
    if Dataset.objects.filter(slug=slug).exists():
        raise InputError("slug", f"a dataset {slug!r} exists already")
    if not (title or "").strip():
        raise InputError("title", "give the dataset a title")
    roles = list(read_roles) if read_roles else list(DEFAULT_READ_ROLES)
    unknown = sorted(set(roles) - set(Role.values))
    if unknown:
        raise InputError("read_roles", f"unknown roles {unknown}")
    folder = _imports_dir() / str(preview.pk)
    path = next(folder.glob("upload*"), None)
    if path is None:
        raise InputError("preview", "the uploaded file is gone; upload it again")
    with importing.opened(path, preview.file_name, importing.handler(preview.options["format"])) as received:
        result = _read(received, preview.options)
    if result.frame.empty:
        raise InputError("file", "no feature can be imported; see the report")
    with transaction.atomic():
        dataset = Dataset.objects.create(
            slug=slug,
            title=title.strip()[:128],
            geometry_type=result.geometry_type,
            fields=result.fields,
            read_roles=roles,
            source_name=preview.file_name,
            source_format=preview.options["format"],
            source_crs=result.source_crs,
            report={k: v for k, v in result.report.items() if k != "sample"},
            created_by=user,
        )
        names = list(result.frame.columns.drop("geometry"))
        DatasetFeature.objects.bulk_create(
            (
                DatasetFeature(
                    dataset=dataset,
                    properties={name: io.json_value(value) for name, value in zip(names, values, strict=True)},
                    geom=GEOSGeometry(memoryview(shapely.to_wkb(geom)), srid=4326),
                )
                for *values, geom in result.frame[[*names, "geometry"]].itertuples(index=False, name=None)
            ),
            batch_size=2000,
        )
        preview.committed = dataset
        preview.save(update_fields=["committed"])
        record_audit(
            user,
            "dataset.import",
            dataset,
            f"{layers.DATASET_PREFIX}{slug} from {preview.file_name}",
            {"features": len(result.frame), "format": dataset.source_format},
        )
        tiles.data_changed(DatasetFeature)
    shutil.rmtree(folder, ignore_errors=True)
    return dataset


def delete_dataset(user, dataset: Dataset) -> None:
    if not user.has_role(*IMPORT_ROLES):
        raise PermissionError("deleting layers needs the planner or administrator role")
    with transaction.atomic():
        DatasetFeature.objects.filter(dataset=dataset).delete()
        dataset.delete()
        tiles.data_changed(DatasetFeature)


def export_layer(layer: Layer, params, user, fmt: str, directory: Path) -> Path:
    """Write a layer — or the result of an OGC API query on it (bbox, CQL2 filter, …) — as `fmt` into `directory`."""
    if fmt not in io.FORMATS:
        raise InputError("format", f"unsupported format {fmt!r}; use one of {', '.join(io.FORMATS)}")
    if "crs" in params:  # an items parameter query() leaves to its caller: the file is written in WGS84
        raise InputError("crs", "unknown query parameter 'crs': exports are in WGS84 (EPSG:4326)")
    qs = ogcapi.query(layer, params, user)
    names = list(layer.properties)
    paths = [layer.properties[name].path for name in names]
    try:
        with transaction.atomic():
            rows = list(qs.values_list(layer.geometry_field, *paths)[: MAX_EXPORT_FEATURES + 1])
    except (DatabaseError, ValueError, TypeError) as exc:
        raise InputError("filter", f"the query could not be run: {str(exc).splitlines()[0][:200]}") from None
    if len(rows) > MAX_EXPORT_FEATURES:
        raise InputError("filter", f"more than {MAX_EXPORT_FEATURES} features; narrow the query")
    geometries = [shapely.from_wkb(bytes(row[0].wkb)) if row[0] else None for row in rows]
    columns = {name: [row[i + 1] for row in rows] for i, name in enumerate(names)}
    frame = gpd.GeoDataFrame(columns, geometry=geometries, crs="EPSG:4326")
    for name, prop in layer.properties.items():
        if prop.type == layers.DATETIME:
            frame[name] = [value.isoformat() if value else None for value in frame[name]]
    return io.write(frame, fmt, directory, layer.id.replace("-", "_"))


def export_to_temp(layer: Layer, params, user, fmt: str) -> tuple[Path, Path]:
    """(file, its temporary folder); the caller removes the folder when the response is sent."""
    folder = Path(tempfile.mkdtemp(prefix="cityops-export-"))
    try:
        return export_layer(layer, params, user, fmt, folder), folder
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def import_osm_roads(
    path: Path,
    *,
    replace: bool = False,
    bounding_box: list[float] | None = None,
    country: str = "CN",
    progress: Callable[[int, int], None] | None = None,
) -> dict:
    """Load the roads emergency vehicles may use and the turn restrictions of an OSM PBF file into the road layer
    (used for routing and the base map); the report counts them and says how well the network hangs together.

    `replace` removes every road first (e.g. the demo city's); otherwise roads of the same OSM ways are replaced,
    so importing an updated extract twice does not duplicate them. `country` gives the default speeds of untagged
    roads. `progress(done, total)` follows reading the ways (first half) and writing them (second half). One
    transaction: a failure leaves the roads as they were."""
    steps = 0

    def reading(done: int, total: int) -> None:
        nonlocal steps
        steps = total
        if progress is not None:
            progress(done, 2 * total)

    try:
        network = osm.read_network(path, country=country, bounding_box=bounding_box, progress=reading)
    except osm.OsmFileError as exc:
        raise InputError("file", str(exc)) from None
    roads = network.roads
    if not roads:
        raise InputError("file", "the file holds no road that vehicles may use")
    with transaction.atomic():
        if replace:
            removed = Road.objects.all().delete()[1].get(Road._meta.label, 0)
        else:
            removed = Road.objects.filter(osm_way_id__in={r.way_id for r in roads}).delete()[1].get(Road._meta.label, 0)
        next_id = (Road.objects.aggregate(top=Max("id"))["top"] or 0) + 1
        for start in range(0, len(roads), OSM_BATCH):
            batch = roads[start : start + OSM_BATCH]
            Road.objects.bulk_create(
                Road(
                    id=next_id + start + i,
                    name=r.name,
                    road_class=r.road_class,
                    highway=r.highway,
                    speed_kmh=r.speed_kmh,
                    speed_backward_kmh=r.speed_backward_kmh,
                    oneway=r.oneway,
                    emergency_only=r.emergency_only,
                    lanes=r.lanes,
                    geom=GEOSGeometry(memoryview(shapely.to_wkb(r.geometry)), srid=4326),
                    osm_way_id=r.way_id,
                )
                for i, r in enumerate(batch)
            )
            if progress is not None:
                progress(steps + steps * (start + len(batch)) // len(roads), 2 * steps)
        TurnRestriction.objects.bulk_create(
            (
                TurnRestriction(
                    kind=t.kind,
                    from_road_id=next_id + t.from_road,
                    to_road_id=next_id + t.to_road,
                    via=Point(*t.via, srid=4326),
                    osm_relation_id=t.relation_id,
                )
                for t in network.restrictions
            ),
            batch_size=OSM_BATCH,
        )
        with connection.cursor() as cursor:  # explicit ids: move the id sequence past them
            for sql in connection.ops.sequence_reset_sql(no_style(), [Road]):
                cursor.execute(sql)
        tiles.data_changed(Road)
    return {
        "segments": len(roads),
        "ways": len({r.way_id for r in roads}),
        "removed": removed,
        "classes": dict(Counter(r.road_class for r in roads)),
        "emergency_only": sum(r.emergency_only for r in roads),
        "turn_restrictions": len(network.restrictions),
        "skipped": dict(network.skipped),
        "connectivity": osm.connectivity(roads),
    }


def import_raster(
    actor, file, name: str, *, crs: str | None = None, progress: Callable[[int, int], None] | None = None
):
    """A city's DEM, population grid or imagery from a GeoTIFF through the gate: checked by what it declares,
    stored as a COG in place of the old one, audited; its info (rasters.info)."""
    rasters.spec(name)
    with importing.receive(file, importing.RASTER_FORMATS) as received:
        result = rasters.import_geotiff(name, received, crs=crs, progress=progress)
    record_audit(
        actor,
        "raster.import",
        None,
        f"{name} from {file.name}",
        {"crs": result["crs"], "size": [result["width"], result["height"]]},
    )
    return result


_FILL_AREAS_SQL = """
UPDATE geo_address a SET community_id = c.id, street_id = c.parent_id
FROM core_adminarea c
WHERE c.level = 'community' AND ST_Intersects(c.geom, a.geom) AND (%(all)s OR a.id = ANY(%(ids)s));
UPDATE geo_address a SET street_id = s.id
FROM core_adminarea s
WHERE a.street_id IS NULL AND s.level = 'street' AND ST_Intersects(s.geom, a.geom) AND (%(all)s OR a.id = ANY(%(ids)s));
UPDATE geo_address a SET city = coalesce(p.name, ''), province = coalesce(%(provinces)s::jsonb ->> left(d.code, 2), '')
FROM core_adminarea d LEFT JOIN core_adminarea p ON p.id = d.parent_id AND p.level = 'city'
WHERE d.id = a.district_id AND (%(all)s OR a.id = ANY(%(ids)s));
UPDATE geo_address a SET road_key = k.key, search_text = k.search_text
FROM unnest(%(roads)s::text[], %(keys)s::text[], %(search_texts)s::text[]) AS k(road, key, search_text)
WHERE a.road_name = k.road AND (%(all)s OR a.id = ANY(%(ids)s));
REFRESH MATERIALIZED VIEW geo_address_road;
"""


def fill_address_elements(ids: list[int] | None = None) -> None:
    """Derive the address elements of the given addresses (all when None) from where they lie and what they say:
    community and sub-district from the admin areas at the point, city and province from the district's code
    (GB/T 2260), the search key and text from the road name; and the roads the geocoder searches
    (geo_address_road, migration 0007). Run after addresses are loaded or moved."""
    rows = Address.objects.all() if ids is None else Address.objects.filter(pk__in=ids)
    roads = sorted(set(rows.values_list("road_name", flat=True)))
    with connection.cursor() as cursor:
        cursor.execute(
            _FILL_AREAS_SQL,
            {
                "all": ids is None,
                "ids": ids or [],
                "provinces": json.dumps(PROVINCES),
                "roads": roads,
                "keys": [road_key(road) for road in roads],
                "search_texts": [search_text(road) for road in roads],
            },
        )
