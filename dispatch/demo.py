"""Demo-city layer of dispatch: police, fire, ambulance and traffic police stations and their units."""

from django.contrib.gis.geos import GEOSGeometry

from .models import Incident, IncidentType, ResponsePlanItem, Station, Vehicle
from .plans import load_code_table

AGENCY_ORG = {"110": "SZ-PSB-110", "119": "SZ-FIRE-119", "120": "SZ-EMS-120", "122": "SZ-TRAFFIC-122"}
# Units per station kind: (vehicle kind, call-sign letter, how many, crew).
STATION_UNITS = {
    Station.Kind.POLICE_STATION: [(Vehicle.Kind.POLICE_CAR, "P", 2, 2)],
    Station.Kind.FIRE_STATION: [(Vehicle.Kind.FIRE_ENGINE, "E", 2, 6), (Vehicle.Kind.LADDER, "L", 1, 3)],
    Station.Kind.HOSPITAL: [(Vehicle.Kind.AMBULANCE, "A", 2, 3)],
    Station.Kind.TRAFFIC_POST: [(Vehicle.Kind.TRAFFIC_MOTORCYCLE, "M", 2, 1), (Vehicle.Kind.TRAFFIC_CAR, "T", 1, 2)],
}
POLICE_PLATE_KINDS = {Vehicle.Kind.POLICE_CAR, Vehicle.Kind.TRAFFIC_MOTORCYCLE, Vehicle.Kind.TRAFFIC_CAR}
JT808_PHONE_BASE = 13_900_000_000  # demo terminal n has phone 139000000nn (SIM numbers of the terminals)


def demo_terminal(number: int) -> tuple[str, str]:
    """(JT/T 808 phone, OsmAnd device id) of demo unit ``number``: the simulator and tests derive them too."""
    return str(JT808_PHONE_BASE + number), f"SZ-OSMAND-{number:05d}"


def load_demo(city, context: dict) -> dict:
    orgs, areas = context["orgs"], context["areas"]
    load_code_table(IncidentType, ResponsePlanItem, set(Vehicle.Kind.values))  # restored after a test flush
    stations = Station.objects.bulk_create(
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
    units = []
    for station in stations:  # parked at the station, with no fix yet: the first real one moves them
        for kind, letter, count, crew in STATION_UNITS[station.kind]:
            for n in range(1, count + 1):
                number = len(units) + 1
                phone, osmand_id = demo_terminal(number)
                suffix = "警" if kind in POLICE_PLATE_KINDS else ""
                units.append(
                    Vehicle(
                        call_sign=f"{station.agency.agency}-{station.pk:03d}-{letter}{n}",
                        kind=kind,
                        agency=station.agency,
                        plate=f"粤B{number:05d}{suffix}",
                        station=station,
                        crew=crew,
                        jt808_phone=phone,
                        osmand_id=osmand_id,
                        last_position=station.geom,
                    )
                )
    Vehicle.objects.bulk_create(units)
    return {}


def clear_demo() -> None:
    Incident.objects.all().delete()
    Vehicle.objects.all().delete()
    Station.objects.all().delete()
