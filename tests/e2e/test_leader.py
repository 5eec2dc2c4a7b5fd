"""Leaders' decision maps in a real browser: the dashboard (layers, periods, 3D), the situation map with
drawing and live updates, and an exported map report opened from disk with the network cut off."""

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from playwright.sync_api import expect

from .test_wall import MAP_IDLE

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
MAP_READY = "document.body?.dataset.mapReady === '1'"

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def layer_ready(page, layer: str, period: str):
    page.wait_for_function(f"document.body?.dataset.layerReady === '{layer}:{period}'", timeout=60_000)


def rendered(page, layer: str) -> list[dict]:
    return page.evaluate(
        "(layer) => window.cityopsMap.queryRenderedFeatures({layers: [layer]}).map(f => f.properties)", layer
    )


def shoot(page, name: str):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"leader-{name}.png")


def test_dashboard_switches_layers_and_periods_and_tilts_into_3d(page, demo_city, asgi_server, login):
    with ThreadPoolExecutor(1) as pool:  # a few incidents today, for the density map
        x, y = pool.submit(_a_point_in_the_district).result()
        for dx in (0.0, 0.002, 0.004):
            pool.submit(_incident_with_cordon, (x + dx, y)).result()
    login(page, asgi_server, "leader")
    page.goto(f"{asgi_server}/leader/")
    page.wait_for_function(MAP_READY, timeout=90_000)
    layer_ready(page, "cases", "month")
    headlines = page.locator("#headlines .headline")
    expect(headlines).to_have_count(9)  # five case indicators, four agencies' response times
    expect(page.locator('#headlines [data-key="reports"] h3')).to_have_text("上报数")
    assert {p["code"] for p in rendered(page, "thematic-fill")} >= {"440304", "440303"}
    expect(page.locator("#map-legend h3")).to_have_text("立案数")
    page.wait_for_function("document.getElementById('trend-note').dataset.mae !== undefined")
    shoot(page, "cases-month")

    page.click("#period-picker [data-period=year]")
    layer_ready(page, "cases", "year")
    page.select_option("#case-metric", "closure_rate")
    layer_ready(page, "cases", "year")
    expect(page.locator("#map-legend h3")).to_have_text("结案率")

    page.check("input[name=layer][value=incidents]")
    layer_ready(page, "incidents", "year")
    count = "async () => (await window.cityopsMap.getSource('incidents').getData()).features.length"
    assert page.evaluate(count) >= 3
    assert page.evaluate("window.cityopsMap.getLayoutProperty('incident-heat', 'visibility')") == "visible"
    assert page.evaluate("window.cityopsMap.getLayoutProperty('thematic-fill', 'visibility')") == "none"
    shoot(page, "incidents-year")

    page.click("#period-picker [data-period=week]")
    page.check("input[name=layer][value=response]")
    layer_ready(page, "response", "week")
    page.check("input[name=layer][value=bursts]")
    layer_ready(page, "bursts", "week")

    page.click("#period-picker [data-period=custom]")
    page.fill("#period-from", "2026-01-01")
    page.fill("#period-to", "2026-03-31")
    page.click("#period-apply")
    page.check("input[name=layer][value=cases]")
    layer_ready(page, "cases", "custom")

    page.check("#population-toggle")
    layer_ready(page, "cases", "custom")
    page.check("#view-3d")
    page.wait_for_function("window.cityopsMap.getPitch() > 50", timeout=10_000)
    page.wait_for_function("!window.cityopsMap.isMoving()")
    page.evaluate(MAP_IDLE)
    assert rendered(page, "thematic-extrusion"), "the districts stand up as extrusions"
    assert any("/tiles/raster/population/" in url for url in page.requests)
    shoot(page, "cases-3d")

    # A period of ten years is refused with a clear message, the page keeps working.
    page.fill("#period-from", "2016-01-01")
    page.fill("#period-to", "2025-12-31")
    page.click("#period-apply")
    expect(page.locator("#map-message")).to_contain_text("366")
    # The refused period's 400 answers are the only console errors.
    assert all("400" in error for error in page.errors), page.errors


def test_district_leader_sees_only_the_district(page, demo_city, asgi_server, login):
    login(page, asgi_server, "districtleader")
    page.goto(f"{asgi_server}/leader/")
    page.wait_for_function(MAP_READY, timeout=90_000)
    layer_ready(page, "cases", "month")
    assert page.locator("#area option").all_inner_texts() == ["福田区"]
    assert {p["code"] for p in rendered(page, "thematic-fill")} == {"440304"}
    assert page.errors == []


def _incident_with_cordon(point: tuple[float, float]) -> int:
    from django.contrib.gis.geos import Point
    from django.db import connection

    from core.models import User
    from dispatch import services as dispatch_services
    from dispatch.models import IncidentType

    try:
        incident = dispatch_services.create_incident(
            User.objects.get(username="calltaker"),
            incident_type=IncidentType.objects.get(code="119-FIRE-BUILDING"),
            point=Point(*point, srid=4326),
            address="测试大道1号",
            confirm_new=True,
        )
        return incident.pk
    finally:
        connection.close()


def _draw_from_elsewhere(incident_id: int, point: tuple[float, float]) -> None:
    from django.db import connection

    from core.models import User
    from dispatch.models import Incident
    from leader import services

    try:
        services.add_annotation(
            User.objects.get(username="admin"),
            Incident.objects.get(pk=incident_id),
            symbol="water_source",
            geometry={"type": "Point", "coordinates": [point[0] + 0.0008, point[1] + 0.0004]},
            label="消防栓",
        )
    finally:
        connection.close()


def _a_point_in_the_district() -> tuple[float, float]:
    from django.db import connection

    from core.models import AdminArea
    from gis.models import Address

    try:
        district = AdminArea.objects.get(code="440304")
        geom = Address.objects.filter(geom__within=district.geom).order_by("pk").first().geom
        return geom.x, geom.y
    finally:
        connection.close()


def test_situation_map_draws_symbols_and_follows_live_updates(page, demo_city, asgi_server, login):
    with ThreadPoolExecutor(1) as pool:
        point = pool.submit(_a_point_in_the_district).result()
        incident_id = pool.submit(_incident_with_cordon, point).result()
    login(page, asgi_server, "leader")
    page.goto(f"{asgi_server}/leader/incidents/{incident_id}/")
    page.wait_for_function(MAP_READY, timeout=90_000)
    expect(page.locator("#fact-type")).to_have_text("建筑火灾")
    expect(page.locator("#timeline li")).not_to_have_count(0)

    # Draw a hazard area: three clicks around the incident, then finish.
    page.click("#symbol-tools [data-symbol=hazard_area]")
    page.fill("#draw-label", "燃气扩散区")
    box = page.locator("#map").bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    for dx, dy in ((-80, -60), (90, -50), (20, 90)):
        page.mouse.click(cx + dx, cy + dy)
    page.click("#draw-finish")
    expect(page.locator('#annotation-list li[data-symbol="hazard_area"]')).to_contain_text("燃气扩散区")
    expect(page.locator("#fact-population")).to_contain_text("人")

    # Someone else draws a water source: it arrives over /ws/ops/ without a reload.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(_draw_from_elsewhere, incident_id, point).result()
    expect(page.locator('#annotation-list li[data-symbol="water_source"]')).to_contain_text("消防栓", timeout=20_000)
    page.evaluate(MAP_IDLE)
    assert {p["symbol"] for p in rendered(page, "symbol-points")} == {"water_source"}
    assert {p["symbol"] for p in rendered(page, "area-fill")} == {"hazard_area"}
    shoot(page, "situation")
    assert page.errors == []


def test_exported_report_renders_offline_with_every_outside_request_blocked(
    browser, page, demo_city, asgi_server, login, tmp_path
):
    login(page, asgi_server, "leader")
    report = page.request.get(f"{asgi_server}/api/leader/reports/cases.html?period=year&metric=count")
    assert report.ok
    saved = tmp_path / "report.html"
    saved.write_bytes(report.body())

    context = browser.new_context(locale="zh-CN", viewport={"width": 1600, "height": 1000}, offline=True)
    attempted = []

    def only_the_file(route):
        attempted.append(route.request.url)
        if route.request.url.startswith("file://"):
            route.continue_()
        else:
            route.abort()

    context.route("**/*", only_the_file)
    offline = context.new_page()
    errors = []
    offline.on("pageerror", lambda error: errors.append(str(error)))
    offline.goto(saved.as_uri())
    offline.wait_for_selector(".leaflet-overlay-pane path", timeout=30_000)
    expect(offline.locator("#report-legend")).to_be_visible()
    expect(offline.locator("#report-legend")).to_contain_text("图例")
    expect(offline.locator("#report-title h1")).to_have_text("立案数")
    expect(offline.locator(".leaflet-control-layers")).to_be_visible()
    # Districts (basemap + thematic) and main roads are drawn as vector paths.
    assert offline.locator(".leaflet-overlay-pane path").count() > 10
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    offline.screenshot(path=SCREENSHOTS / "leader-report-offline.png")
    context.close()
    assert [url for url in attempted if not url.startswith("file://")] == []
    assert errors == []
