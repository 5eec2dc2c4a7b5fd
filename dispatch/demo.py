"""Demo-city layer of dispatch: police, fire, ambulance and traffic police stations."""

from django.contrib.gis.geos import GEOSGeometry

from .models import Station

AGENCY_ORG = {"110": "SZ-PSB-110", "119": "SZ-FIRE-119", "120": "SZ-EMS-120", "122": "SZ-TRAFFIC-122"}


def load_demo(city, context: dict) -> dict:
    orgs, areas = context["orgs"], context["areas"]
    Station.objects.bulk_create(
        Station(
            id=s.station_id,
            name=s.name,
            kind=s.kind,
            agency=orgs[AGENCY_ORG[s.agency]],
            address=s.address,
            district=areas[s.district_code],
            geom=GEOSGeometry(memoryview(s.point.wkb), srid=4326),
        )
        for s in city.stations
    )
    return {}


def clear_demo() -> None:
    Station.objects.all().delete()
