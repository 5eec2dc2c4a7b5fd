"""The dispatcher console and the command wall together in a real browser, with the real GPS path.

A call taker creates a building fire in /dispatch/ by clicking the map; the wall (a second browser, no
reload) shows it live; the recommended units, pre-selected, go out with one click; the fleet simulator,
a separate process speaking JT/T 808 to a real ingest server, drives them there, and the arrival
geofence turns the fire engine "on scene" on the wall.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import expect

from .conftest import is_local
from .test_wall import city_point, sign_in

ROOT = Path(__file__).resolve().parents[2]
MAP_READY = "() => document.body?.dataset.mapReady === '1'"
FIRE_TYPE = "119-FIRE-BUILDING"
SCREENSHOTS = ROOT / "var" / "screenshots"

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def wall_page(browser, asgi_server, demo_city):
    """The operator's wall in its own browser context (another workstation), with the same outside-request check.

    After `demo_city`: a transactional test before this one flushed the accounts it signs in with.
    """
    context = browser.new_context(locale="zh-CN", viewport={"width": 1920, "height": 1080})
    page = context.new_page()
    page.requests, page.errors = [], []
    page.on("request", lambda request: page.requests.append(request.url))
    page.on("websocket", lambda ws: page.requests.append(ws.url))
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    sign_in(page, asgi_server, "operator", "/wall/")
    page.wait_for_function(MAP_READY, timeout=60_000)
    expect(page.locator("#live-pill")).to_have_attribute("data-state", "live", timeout=30_000)
    yield page
    context.close()
    external = [url for url in page.requests if not is_local(url)]
    assert not external, f"the wall reached outside the intranet: {external}"


def open_console(page, base_url: str):
    sign_in(page, base_url, "calltaker", "/dispatch/")
    page.wait_for_function(MAP_READY, timeout=60_000)
    expect(page.locator("#live-pill")).to_have_attribute("data-state", "live", timeout=30_000)


def click_map_at(page, lon: float, lat: float):
    """Clicks the console map where (lon, lat) is drawn, as a call taker placing the incident."""
    x, y = page.evaluate(
        "([lon, lat]) => { const p = window.cityopsMap.project([lon, lat]); return [p.x, p.y]; }", [lon, lat]
    )
    box = page.locator("#map").bounding_box()
    page.mouse.click(box["x"] + x, box["y"] + y)


@pytest.fixture
def fleet(gps_ingest, asgi_server):
    """The fleet simulator answering incidents over JT/T 808, started on demand; stopped at teardown."""
    started = []

    def start():
        db = settings.DATABASES["default"]
        env = {
            **os.environ,
            "DATABASE_URL": f"postgis://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
            "PYTHONPATH": f"{ROOT / 'platform'}:{ROOT}",
        }
        log = open(ROOT / "var" / "log" / "test-simulate-fleet.log", "ab")  # noqa: SIM115
        proc = subprocess.Popen(
            [
                sys.executable,
                "manage.py",
                "simulate_fleet",
                "--answer-incidents",
                "--jt808",
                gps_ingest.address,
                "--speedup",
                "20",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        started.append((proc, log))
        return proc

    yield start
    for proc, log in started:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


def test_fire_from_console_to_wall_dispatched_driven_and_on_scene(page, wall_page, demo_city, asgi_server, fleet):
    open_console(page, asgi_server)

    # Intake: caller, type (grouped by agency; its default priority follows), location by a map click.
    page.fill("#caller-number", "13612345678")
    page.select_option("#type-code", FIRE_TYPE)
    expect(page.locator("#priority")).to_have_value("1")
    lon, lat = city_point(page, asgi_server)
    click_map_at(page, lon, lat)
    expect(page.locator("#location-picked")).to_have_attribute("data-set", "1")
    page.fill("#address", "测试路 1 号 商场")
    page.fill("#description", "三楼冒烟，有人被困")
    page.click("#intake-submit")

    detail = page.locator("#detail-body")
    expect(detail).to_have_attribute("data-id", re.compile(r"^\d+$"), timeout=15_000)
    incident_id = detail.get_attribute("data-id")
    assert incident_id

    # The wall shows it live, no reload.
    on_wall = wall_page.locator(f'#incident-list li[data-id="{incident_id}"]')
    expect(on_wall).to_be_visible(timeout=15_000)
    expect(on_wall).to_contain_text("建筑火灾")

    # Recommendations with ETAs; the fastest fire engine is pre-selected; one click dispatches.
    engine = page.locator("#recommendations li.recommended[data-kind='fire_engine']").first
    expect(engine).to_be_visible(timeout=15_000)
    expect(engine.locator("input[type=checkbox]")).to_be_checked()
    expect(engine.locator(".eta")).to_contain_text(":")
    vehicle_id = engine.get_attribute("data-vehicle")
    page.click("#dispatch-button")

    assigned = page.locator(f'#assignments li[data-vehicle="{vehicle_id}"]')
    expect(assigned).to_have_attribute("data-status", "dispatched", timeout=15_000)
    expect(page.locator("#timeline li").first).to_be_visible()
    unit_on_wall = on_wall.locator(f'.unit[data-vehicle="{vehicle_id}"]')
    expect(unit_on_wall).to_be_visible(timeout=15_000)

    # The simulator drives it over the demo roads; AVL's arrival geofence sets "on scene".
    fleet()
    expect(unit_on_wall).to_have_attribute("data-status", "on_scene", timeout=90_000)
    expect(assigned).to_have_attribute("data-status", "on_scene", timeout=15_000)
    wall_page.wait_for_function(
        "id => window.cityopsWall.vehicles.get(id)?.properties.status === 'on_scene'",
        arg=int(vehicle_id),
        timeout=15_000,
    )
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    wall_page.screenshot(path=SCREENSHOTS / "wall-on-scene.png")
    page.screenshot(path=SCREENSHOTS / "dispatch-console.png")
    assert page.errors == []
    assert wall_page.errors == []


def test_console_shows_api_errors_next_to_the_field_and_offers_the_duplicate(page, demo_city, asgi_server):
    open_console(page, asgi_server)
    lon, lat = city_point(page, asgi_server)

    # Typed coordinates that are not numbers the server does not know: the error sits beside the location field.
    page.click(".location-modes [data-mode='coords']")
    page.fill("#coord-lon", str(lon))
    page.fill("#coord-lat", "north")
    page.click("#coord-apply")
    location_error = page.locator("[data-field='location'] .field-error")
    expect(location_error).to_be_visible()
    expect(location_error).not_to_be_empty()

    # Outside the city: refused by the API, shown next to the location.
    page.fill("#coord-lon", "116.4")
    page.fill("#coord-lat", "39.9")
    page.click("#coord-apply")
    expect(page.locator("#location-picked")).to_have_attribute("data-set", "1")
    page.select_option("#type-code", "110-THEFT")
    page.click("#intake-submit")
    expect(location_error).to_be_visible(timeout=10_000)
    expect(page.locator("#detail-body")).to_be_hidden()

    # A first call placed by address search over the demo addresses (and roads).
    address = page.request.get(f"{asgi_server}/ogcapi/collections/addresses/items?limit=1").json()["features"][0]
    lon, lat = address["geometry"]["coordinates"]
    page.click(".location-modes [data-mode='search']")
    page.fill("#address-search", address["properties"]["label"])
    page.locator("#search-results li[data-index]").first.click()
    expect(page.locator("#location-picked")).to_have_attribute("data-set", "1")
    expect(page.locator("#address")).to_have_value(address["properties"]["label"])
    page.select_option("#type-code", "110-THEFT")
    page.fill("#caller-number", "13700000001")
    page.click("#intake-submit")
    expect(page.locator("#detail-body")).to_have_attribute("data-id", re.compile(r"^\d+$"), timeout=15_000)
    first_id = page.locator("#detail-body").get_attribute("data-id")

    # The same type about 100 m away: the console asks whether it is the same incident.
    page.click(".location-modes [data-mode='coords']")
    page.fill("#coord-lon", str(lon + 0.001))
    page.fill("#coord-lat", str(lat))
    page.click("#coord-apply")
    page.select_option("#type-code", "110-THEFT")
    page.fill("#caller-number", "13700000002")
    page.click("#intake-submit")
    dialog = page.locator("#duplicate-dialog")
    expect(dialog).to_be_visible(timeout=15_000)
    page.locator(f'#duplicates button[data-same-as="{first_id}"]').click()
    expect(dialog).to_be_hidden()
    expect(page.locator("#detail-body")).to_have_attribute("data-id", first_id, timeout=15_000)
    expect(page.locator("#d-caller")).to_contain_text("2 次来电")
    expect(page.locator("#incident-list li[data-id]")).to_have_count(1)
