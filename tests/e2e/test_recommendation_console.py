"""The dispatcher console's recommendation in a real browser: a unit that cannot reach the incident by road (parked
beside a road cut off from the city, and 150 m off it) is listed apart with the reason, its distance to the road
and the off-network flag, never ticked; the routable ones are ranked with theirs; the incident's distance to the
nearest road is shown."""

import pytest
from django.contrib.gis.geos import LineString, Point
from playwright.sync_api import expect

from core.models import User
from dispatch import services
from dispatch.models import IncidentType, Vehicle
from gis.models import Address, Road

from .test_dispatch_console import open_console

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_units_without_a_road_route_are_listed_apart_with_the_reason(page, asgi_server, demo_city):
    calltaker = User.objects.get(username="calltaker")
    site = Address.objects.order_by("id").first()
    incident = services.create_incident(
        calltaker, incident_type=IncidentType.objects.get(code="119-FIRE-BUILDING"), point=site.geom
    )
    lon, lat = site.geom.coords
    # A road 5 km east of the city, joined to nothing; an engine parked 155 m north of it.
    Road.objects.create(
        name="孤岛路", road_class="branch", speed_kmh=30, geom=LineString((lon + 0.05, lat), (lon + 0.052, lat))
    )
    stranded = Vehicle.objects.filter(kind=Vehicle.Kind.FIRE_ENGINE, status=Vehicle.Status.AVAILABLE).first()
    stranded.last_position = Point(lon + 0.051, lat + 0.0014, srid=4326)
    stranded.save(update_fields=["last_position"])

    open_console(page, asgi_server)
    page.click(f'#incident-list li[data-id="{incident.pk}"]')

    apart = page.locator(f'#unroutable li[data-vehicle="{stranded.pk}"]')
    expect(apart).to_be_visible(timeout=15_000)
    expect(page.locator("#unroutable-title")).to_be_visible()
    expect(apart).to_contain_text("无道路可达事发地")
    expect(apart.locator(".distance")).to_contain_text("距道路")
    expect(apart.locator(".off-network")).to_have_text("不在路网上")
    expect(apart.locator("input[type=checkbox]")).not_to_be_checked()
    expect(page.locator(f'#recommendations li[data-vehicle="{stranded.pk}"]')).to_have_count(0)

    ranked = page.locator("#recommendations li.recommended[data-kind='fire_engine']").first
    expect(ranked).to_be_visible()
    expect(ranked.locator("input[type=checkbox]")).to_be_checked()
    expect(ranked.locator(".distance")).to_contain_text("距道路")
    expect(page.locator("#incident-snap")).to_contain_text("事发地距最近道路")
    expect(page.locator("#incident-snap")).not_to_have_class("incident-snap warning")
