"""Emergency resources in a real browser: the toggleable resource and hazard layers (with the hazard circles) on the
command wall and on the leader's situation map, and the resources page's search from an incident, whose ranked
answer (by road drive time) is listed and drawn — at wall, laptop and tablet size, screenshots in var/screenshots."""

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from playwright.sync_api import expect

from .test_wall import MAP_IDLE, MAP_READY, sign_in

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
SIZES = {"wall": (2560, 1440), "laptop": (1366, 768), "tablet": (1024, 768)}
GROUP_LAYERS = {"teams": "res-teams-point", "depots": "res-depots-point", "shelters": "res-shelters-point",
                "hazards": "res-hazards-point"}  # fmt: skip

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def rendered(page, layer: str) -> int:
    return page.evaluate("(layer) => window.cityopsMap.queryRenderedFeatures({layers: [layer]}).length", layer)


def shoot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"resources-{name}.png")


def _incident() -> int:
    """A 119 incident at a demo address, through dispatch's own service (a thread of its own: Playwright's loop
    runs on the main one)."""
    from django.db import connection

    from core.models import User
    from dispatch import services as dispatch_services
    from dispatch.models import IncidentType
    from gis.models import Address

    try:
        address = Address.objects.order_by("pk")[Address.objects.count() // 2]
        incident = dispatch_services.create_incident(
            User.objects.get(username="calltaker"),
            incident_type=IncidentType.objects.get(code="119-FIRE-BUILDING"),
            point=address.geom,
            address=address.label,
            confirm_new=True,
        )
        return incident.pk
    finally:
        connection.close()


def check_layers_toggle(page) -> None:
    """Every group is drawn; switching one off hides it (and the hazard circles with the hazards), on shows it."""
    page.evaluate("() => window.cityopsMap.jumpTo({zoom: 12.5})")
    page.evaluate(MAP_IDLE)
    for group, layer in GROUP_LAYERS.items():
        assert rendered(page, layer) > 0, group
    assert rendered(page, "res-hazard-zones-fill") > 0
    hazards = page.locator('#resource-overlay input[data-group="hazards"]')
    hazards.uncheck()
    page.evaluate(MAP_IDLE)
    assert rendered(page, "res-hazards-point") == 0 and rendered(page, "res-hazard-zones-fill") == 0
    hazards.check()
    page.evaluate(MAP_IDLE)
    assert rendered(page, "res-hazard-zones-fill") > 0


def test_wall_shows_resources_and_hazard_circles_in_chinese(workstations, demo_city, asgi_server):
    page = workstations(*SIZES["wall"])
    sign_in(page, asgi_server, "operator", "/wall/")
    page.wait_for_function(MAP_READY, timeout=60_000)
    overlay = page.locator("#resource-overlay")
    expect(overlay).to_be_visible(timeout=30_000)
    expect(overlay).to_contain_text("救援队伍")
    expect(overlay).to_contain_text("危险源及影响范围")
    expect(overlay.locator(".count").first).not_to_have_text("")
    check_layers_toggle(page)
    shoot(page, "wall")
    assert page.errors == []


def test_situation_map_shows_resources_around_the_incident(workstations, demo_city, asgi_server):
    with ThreadPoolExecutor(1) as pool:
        incident_id = pool.submit(_incident).result()
    page = workstations(*SIZES["laptop"])
    sign_in(page, asgi_server, "leader", f"/leader/incidents/{incident_id}/")
    page.wait_for_function(MAP_READY, timeout=90_000)
    expect(page.locator("#resource-overlay")).to_be_visible()
    expect(page.locator("#resource-overlay")).to_contain_text("物资储备库")
    check_layers_toggle(page)
    shoot(page, "situation")
    assert page.errors == []


@pytest.mark.parametrize("size", list(SIZES))
def test_resources_page_finds_the_nearest_depots_by_drive_time(workstations, demo_city, asgi_server, size):
    with ThreadPoolExecutor(1) as pool:
        incident_id = pool.submit(_incident).result()
    page = workstations(*SIZES[size])
    sign_in(page, asgi_server, "operator", f"/resources/?incident={incident_id}")
    page.wait_for_function(MAP_READY, timeout=90_000)
    expect(page.locator("#search-near")).to_have_value(str(incident_id))
    page.select_option("#search-kind", "depot")
    page.select_option("#search-item", "sandbags")
    page.click("#search-run")
    results = page.locator("#search-results li")
    expect(results).to_have_count(3, timeout=30_000)
    expect(results.first).to_contain_text("行车")
    expect(results.first.locator(".method")).to_have_text("道路")
    answer = page.request.get(
        f"{asgi_server}/api/resources/search/?near={incident_id}&kind=depot&item=sandbags&limit=3"
    ).json()
    assert [r["name"] for r in answer["results"]] == results.locator(".name").all_inner_texts()
    page.evaluate(MAP_IDLE)
    assert rendered(page, "search-results-ring") == 3
    shoot(page, f"page-{size}")

    # Hazard sources within 1.5 km of the same incident, by distance.
    page.select_option("#search-kind", "hazard")
    page.fill("#search-radius", "1500")
    page.click("#search-run")
    expect(page.locator("#search-results li").first).to_be_visible(timeout=30_000)
    expect(page.locator("#search-results li").first.locator(".method")).to_have_text("直线距离")
    assert page.errors == []
