import pytest
from django.contrib.gis.geos import Point

from core.models import AdminArea, User
from dispatch import services as dispatch_services
from dispatch.models import IncidentType, Vehicle
from dispatch.selectors import CITY_WIDE


@pytest.fixture
def ambulance_job(demo_city, db):
    """An injury accident between a unit and the city centre, that unit dispatched to it: (incident, assignment)."""

    def make(unit: Vehicle):
        calltaker = User.objects.get(username="calltaker")
        at, centre = unit.last_position, AdminArea.objects.get(level="city").geom.point_on_surface
        incident = dispatch_services.create_incident(
            calltaker,
            incident_type=IncidentType.objects.get(code="122-ACCIDENT-INJURY"),
            point=Point(at.x + (centre.x - at.x) * 0.4, at.y + (centre.y - at.y) * 0.4, srid=4326),
            description="两车相撞，一人受伤",
            address="测试路1号",
            confirm_new=True,
        )
        dispatch_services.dispatch_units(calltaker, CITY_WIDE, incident, [unit.pk])
        return incident, incident.assignments.get(vehicle=unit)

    return make


@pytest.fixture
def ambulance():
    return Vehicle.objects.filter(kind=Vehicle.Kind.AMBULANCE, agency__code="SZ-EMS-120").order_by("pk").first()
