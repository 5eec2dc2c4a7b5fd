"""The Django admin's map widget in a real browser: OpenLayers and the base map come from CityOps itself."""

from pathlib import Path

import pytest
from django.conf import settings

from core.models import AdminArea

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_admin_area_map_draws_the_city_with_nothing_from_the_internet(page, demo_city, asgi_server):
    area = AdminArea.objects.filter(level="community").order_by("code").first()
    page.goto(f"{asgi_server}/admin/login/?next=/admin/core/adminarea/{area.pk}/change/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", settings.CITYOPS_DEMO_PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"**/admin/core/adminarea/{area.pk}/change/")
    # The widget's base layer is the street boundaries from /api/core/areas/; the edited area is drawn on top.
    page.wait_for_function(
        "() => window.geodjango_geom && geodjango_geom.map.getLayers().item(0).getSource().getFeatures().length > 0",
        timeout=30_000,
    )
    streets = page.evaluate("geodjango_geom.map.getLayers().item(0).getSource().getFeatures().length")
    assert streets == AdminArea.objects.filter(level="street").count()
    assert page.evaluate("geodjango_geom.featureOverlay.getSource().getFeatures().length") == 1
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "admin-map.png")
    assert not page.errors
