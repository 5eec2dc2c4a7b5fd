"""Demo-city layer of the spatial data app: roads and addresses."""

from django.contrib.gis.geos import GEOSGeometry

from .models import Address, Road

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
    return {}


def clear_demo() -> None:
    Address.objects.all().delete()
    Road.objects.all().delete()
