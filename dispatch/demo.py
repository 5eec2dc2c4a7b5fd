"""Demo-city layer of dispatch: police, fire, ambulance and traffic police stations and their units."""

from django.contrib.gis.db.models.functions import GeometryDistance
from django.contrib.gis.geos import GEOSGeometry
from django.utils import timezone

from core.models import AdminArea, User
from gis.models import Address

from . import avl, services, tracks
from .models import Assignment, Incident, IncidentType, ResponsePlanItem, Station, Vehicle, VehicleGroup
from .plans import load_code_table
from .selectors import CITY_WIDE

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
    _patrol_groups()
    return {}


PATROL_GROUPS = {"110": "巡逻组", "119": "消防车组", "120": "救护车组", "122": "交警巡逻组"}


def _patrol_groups() -> None:
    """Each agency keeps a group of all its units: the target of its group texts (组呼)."""
    for vehicle_agency in {u.agency for u in Vehicle.objects.select_related("agency")}:
        group = VehicleGroup.objects.create(
            name=f"{vehicle_agency.agency}{PATROL_GROUPS.get(vehicle_agency.agency, '车组')}",
            organisation=vehicle_agency,
            description="演示：本机构全部车辆",
        )
        group.vehicles.set(Vehicle.objects.filter(agency=vehicle_agency))


def clear_demo() -> None:
    Incident.objects.all().delete()
    VehicleGroup.objects.all().delete()
    Vehicle.objects.all().delete()
    Station.objects.all().delete()


def load_live(context: dict) -> dict:
    """What is going on right now, so every console opens on a working day: a 119 gas leak that opened a
    repair order (its units en route), an injury accident with an ambulance en route and traffic police on
    scene, a theft call still waiting for a unit, and an SOS alarm. All through the services a call taker uses.
    """
    calltaker = User.objects.get(username="calltaker")
    districts = list(AdminArea.objects.filter(level=AdminArea.Level.DISTRICT).order_by("code"))
    live = {}
    leak_point = context.get("gas_leak_point")
    if leak_point is not None:
        leak = _call(calltaker, "119-GAS-LEAK", leak_point, "13912340001", "小区楼下闻到浓烈燃气味，怀疑燃气管道泄漏")
        _send(calltaker, leak, [Vehicle.Kind.FIRE_ENGINE, Vehicle.Kind.POLICE_CAR], Assignment.Status.EN_ROUTE)
        live["gas_leak_incident"] = leak
    crash_point = districts[1 % len(districts)].geom.point_on_surface
    crash = _call(calltaker, "122-ACCIDENT-INJURY", crash_point, "13912340002", "两车相撞，一名司机腿部受伤")
    _send(calltaker, crash, [Vehicle.Kind.AMBULANCE], Assignment.Status.EN_ROUTE)
    _send(calltaker, crash, [Vehicle.Kind.TRAFFIC_CAR], Assignment.Status.ON_SCENE)
    _call(calltaker, "110-THEFT", districts[2 % len(districts)].geom.point_on_surface, "13912340003", "电动车被盗")
    _sos(districts[-1].geom.point_on_surface)
    return live


def _call(calltaker, type_code: str, point, caller: str, description: str) -> Incident:
    address = Address.objects.order_by(GeometryDistance("geom", point)).values_list("label", flat=True).first()
    return services.create_incident(
        calltaker,
        incident_type=IncidentType.objects.get(code=type_code),
        point=point,
        caller_number=caller,
        description=description,
        address=address or "",
        confirm_new=True,
    )


def _nearest_available(kind: str, point) -> Vehicle:
    units = Vehicle.objects.filter(kind=kind, status=Vehicle.Status.AVAILABLE)
    return units.order_by(GeometryDistance("last_position", point)).first()


def _send(calltaker, incident: Incident, kinds: list[str], status: str) -> None:
    units = [_nearest_available(kind, incident.geom) for kind in kinds]
    services.dispatch_units(calltaker, CITY_WIDE, incident, [unit.pk for unit in units])
    for assignment in incident.assignments.filter(vehicle__in=units):
        for step in services.ASSIGNMENT_ORDER[1 : services.ASSIGNMENT_ORDER.index(status) + 1]:
            services.set_assignment_status(calltaker, assignment, step)


def _sos(near) -> None:
    """A patrol car's crew presses the emergency button: a JT/T 808 fix with the SOS bit, through the ingest's path."""
    unit = _nearest_available(Vehicle.Kind.POLICE_CAR, near)
    fix = tracks.Fix(
        terminal=unit.jt808_phone,
        vehicle_id=unit.pk,
        fix_time=timezone.now(),
        latitude=unit.last_position.y,
        longitude=unit.last_position.x,
        alarm=avl.SOS_ALARM_BIT,
    )
    tracks.ingest_fixes([fix], lambda stored: None)  # no live console to feed while the city loads
