"""The demo city's spatial layer leaves the tables ready for ordinary inserts."""

import pytest
from django.contrib.gis.geos import LineString, Point

from core.models import AdminArea
from gis.models import Address, Road

pytestmark = pytest.mark.django_db


def test_roads_and_addresses_can_be_added_after_the_demo_city_with_its_explicit_ids():
    assert Road.objects.exists() and Address.objects.exists()
    road = Road.objects.create(
        name="新路", road_class="local", speed_kmh=30, lanes=2, geom=LineString((114.0, 22.5), (114.001, 22.5))
    )
    address = Address.objects.create(
        road_name="新路", number=1, label="新路1号", district=AdminArea.objects.filter(level="district").first(),
        geom=Point(114.0005, 22.5),
    )  # fmt: skip
    assert road.pk > Road.objects.exclude(pk=road.pk).order_by("-pk").first().pk
    assert address.pk > Address.objects.exclude(pk=address.pk).order_by("-pk").first().pk
