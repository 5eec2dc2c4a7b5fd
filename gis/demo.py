"""Demo-city layer of the spatial data app: roads, addresses, water and green areas, the DEM and population rasters."""

from django.contrib.gis.geos import GEOSGeometry
from django.core.management.color import no_style
from django.db import connection, transaction

from data import terrain

from . import rasters, services, tiles
from .models import Address, Landcover, Road

BATCH = 2000


def load_demo(city, context: dict) -> dict:
    Road.objects.bulk_create(
        (
            Road(
                id=r.road_id,
                name=r.name,
                road_class=r.road_class,
                speed_kmh=r.speed_kmh,
                oneway=r.oneway,
                lanes=r.lanes,
                geom=GEOSGeometry(memoryview(r.geometry.wkb), srid=4326),
            )
            for r in city.roads
        ),
        batch_size=BATCH,
    )
    areas = context["areas"]
    Address.objects.bulk_create(
        (
            Address(
                id=a.address_id,
                road_name=a.road_name,
                number=a.number,
                label=a.label,
                district=areas[a.district_code],
                geom=GEOSGeometry(memoryview(a.point.wkb), srid=4326),
            )
            for a in city.addresses
        ),
        batch_size=BATCH,
    )
    with connection.cursor() as cursor:  # explicit ids: move the id sequences past them for later inserts
        for sql in connection.ops.sequence_reset_sql(no_style(), [Road, Address]):
            cursor.execute(sql)
    services.fill_address_elements()
    landscape = terrain.build(city)
    Landcover.objects.bulk_create(
        Landcover(name=area.name, kind=area.kind, geom=GEOSGeometry(memoryview(area.geometry.wkb), srid=4326))
        for area in landscape.areas
    )
    for name, grid in (("dem", landscape.dem), ("population", landscape.population)):
        rasters.write(name, grid.array, grid.transform, grid.crs, grid.nodata)
    # Every app's demo rows are bulk-inserted without signals: retire every cached tile once all are committed.
    transaction.on_commit(lambda: tiles.bump(*tiles.all_tables()))
    return {}


def clear_demo() -> None:
    Landcover.objects.all().delete()
    Address.objects.all().delete()
    Road.objects.all().delete()
