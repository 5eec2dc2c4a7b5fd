"""The command wall in a real browser: it renders the city dark and full-screen, takes live incidents from
/ws/ops/, and after its socket drops it reconnects by itself and catches up with `since`."""

import json
from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import expect

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
MAP_READY = "() => document.body?.dataset.mapReady === '1'"
# 'idle' fires after a frame with nothing left to load; the repaint makes that frame happen even if the map is
# already idle (MapLibre's once() returns the map, so "once(...) || done()" never resolved on an idle map).
# The map drawn and settled: `idle`, or 10 s at most (an animated marker, such as a pulsing new incident left by an
# earlier test, repaints for ever and a map that keeps repainting is never idle).
MAP_IDLE = (
    "() => new Promise((done) => { window.cityopsMap.once('idle', done); setTimeout(done, 10000);"
    " window.cityopsMap.triggerRepaint(); })"
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def sign_in(page, base_url: str, username: str, path: str):
    """Through the real login form, straight on to `path` (not via the home map: quicker on a busy machine)."""
    page.goto(f"{base_url}/login/?next={path}")
    page.fill("#id_username", username)
    page.fill("#id_password", settings.CITYOPS_DEMO_PASSWORD)
    page.click("form.login-card button[type=submit]")
    page.wait_for_url(f"{base_url}{path}", wait_until="commit")


def open_wall(page, base_url: str, username: str = "operator"):
    sign_in(page, base_url, username, "/wall/")
    page.wait_for_function(MAP_READY, timeout=60_000)
    expect(page.locator("#live-pill")).to_have_attribute("data-state", "live", timeout=30_000)
    page.evaluate(MAP_IDLE)


def city_point(page, base_url: str) -> list[float]:
    """The road vertex nearest the middle of the demo city: inside it, and reachable over the network."""
    city = page.request.get(f"{base_url}/api/core/areas/?level=city").json()["features"][0]["geometry"]
    ring = (
        [xy for polygon in city["coordinates"] for xy in polygon[0]]
        if city["type"] == "MultiPolygon"
        else city["coordinates"][0]
    )
    mid = (
        (min(x for x, _ in ring) + max(x for x, _ in ring)) / 2,
        (min(y for _, y in ring) + max(y for _, y in ring)) / 2,
    )
    roads = page.request.get(f"{base_url}/api/gis/roads/").json()["features"]
    vertices = [xy for road in roads for xy in road["geometry"]["coordinates"]]
    return min(vertices, key=lambda xy: (xy[0] - mid[0]) ** 2 + (xy[1] - mid[1]) ** 2)


def create_incident(page, base_url: str, point, type_agency: str = "119", caller: str = "13800000000") -> dict:
    """POST an incident through the public API with the page's session, as the console does."""
    types = page.request.get(f"{base_url}/api/dispatch/incident-types/").json()
    incident_type = next(t for t in types if t["agency"] == type_agency)
    csrf = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    response = page.request.post(
        f"{base_url}/api/dispatch/incidents/",
        data=json.dumps(
            {
                "caller_number": caller,
                "type_code": incident_type["code"],
                "priority": 1,
                "description": "e2e wall",
                "address": "e2e",
                "location": {"type": "Point", "coordinates": point},
                "crs": "wgs84",
                "confirm_new": True,
            }
        ),
        headers={"Content-Type": "application/json", "X-CSRFToken": csrf, "Referer": base_url},
    )
    assert response.status == 201, response.text()
    return response.json()


def test_wall_fills_the_screen_with_the_dark_city_and_the_units_for_its_roles_only(page, demo_city, asgi_server):
    open_wall(page, asgi_server)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "wall.png")

    # Full screen: no scrollbars, the map covers the viewport.
    overflow = page.evaluate(
        "() => [document.documentElement.scrollWidth > innerWidth, document.documentElement.scrollHeight > innerHeight]"
    )
    assert overflow == [False, False]
    box = page.locator("#map").bounding_box()
    assert (box["width"], box["height"]) == (1920, 1080)
    # Every positioned unit of the snapshot is drawn as a heading arrow, counted on the status board.
    units = page.evaluate("window.cityopsWall.vehicles.size")
    assert units > 0
    drawn = page.evaluate("new Set(window.cityopsMap.queryRenderedFeatures({layers: ['vehicle']}).map(f => f.id)).size")
    assert drawn > 0
    board_total = sum(int(t) for t in page.locator("#status-board tbody td").all_text_contents())
    assert board_total == units
    expect(page.locator("#status-board tbody tr")).to_have_count(5)
    assert page.evaluate("document.querySelector('#wall-clock').textContent.length") > 0
    assert not [url for url in page.requests if url.endswith(".pbf") and "/tiles/" not in url]
    assert page.errors == []

    # A role without the incidents feed is refused.
    page.context.clear_cookies()
    sign_in(page, asgi_server, "planner", "/wall/")
    assert page.goto(f"{asgi_server}/wall/").status == 403


def test_wall_shows_a_new_incident_live_and_catches_up_after_a_dropped_socket(page, demo_city, asgi_server):
    subscribed = []

    def watch(ws):
        def on_frame(payload):
            message = json.loads(payload)
            if message.get("op") == "subscribed":
                subscribed.append(message)

        ws.on("framereceived", on_frame)

    page.on("websocket", watch)
    open_wall(page, asgi_server)
    point = city_point(page, asgi_server)

    first = create_incident(page, asgi_server, point)
    item = page.locator(f'#incident-list li[data-id="{first["id"]}"]')
    expect(item).to_be_visible(timeout=15_000)
    expect(item).to_contain_text(first["properties"]["type_label"])
    page.wait_for_function(
        "id => window.cityopsMap.getSource('incidents')._data.features?.some(f => f.id === id)"
        " || window.cityopsMap.querySourceFeatures('incidents').some(f => f.id === id)",
        arg=first["id"],
        timeout=10_000,
    )

    # Drop the socket and hold the reconnect back long enough to create an incident while offline.
    page.evaluate("() => { const s = window.cityopsWall.socket; s.minDelayMs = 6000; s._ws.close(); }")
    expect(page.locator("#live-pill")).to_have_attribute("data-state", "reconnecting", timeout=5_000)
    missed = create_incident(page, asgi_server, [point[0] + 0.01, point[1]], type_agency="110", caller="13900000000")
    assert page.locator(f'#incident-list li[data-id="{missed["id"]}"]').count() == 0

    expect(page.locator("#live-pill")).to_have_attribute("data-state", "live", timeout=20_000)
    expect(page.locator(f'#incident-list li[data-id="{missed["id"]}"]')).to_be_visible(timeout=10_000)
    # It came back by replay from the event log (`since`), not by a fresh snapshot.
    assert subscribed[-1]["replayed"] >= 1
    expect(item).to_be_visible()
    assert page.errors == []


# Parts of the wall whose share of the screen must not depend on its resolution: (selector, what to measure).
WALL_PARTS = [".wall-head h1", ".wall-kpis", ".kpi b", ".wall-incidents", ".wall-side", ".wall-legend"]


def wall_layout(page) -> dict:
    """Each part's box and font size as fractions of the screen, and where the map draws the city's centre."""
    return page.evaluate(
        """(parts) => {
          const w = window.innerWidth, h = window.innerHeight;
          const out = {};
          for (const selector of parts) {
            const element = document.querySelector(selector);
            const box = element.getBoundingClientRect();
            out[selector] = [box.left / w, box.top / h, box.width / w, box.height / h,
                             parseFloat(getComputedStyle(element).fontSize) * (element.currentCSSZoom ?? 1) / h];
          }
          const map = window.cityopsMap, canvas = map.getCanvas().getBoundingClientRect();
          const centre = map.project(map.getCenter());
          const scale = canvas.width / map.getCanvas().clientWidth;
          out.map = [(canvas.left + centre.x * scale) / w, (canvas.top + centre.y * scale) / h, map.getZoom()];
          return out;
        }""",
        WALL_PARTS,
    )


def test_a_4k_wall_shows_the_1080p_layout_enlarged(browser, demo_city, asgi_server):
    layouts = {}
    for size in ((1920, 1080), (3840, 2160)):
        context = browser.new_context(locale="zh-CN", viewport={"width": size[0], "height": size[1]})
        page = context.new_page()
        errors = []
        page.on("pageerror", lambda error, errors=errors: errors.append(str(error)))
        sign_in(page, asgi_server, "operator", "/wall/")  # not open_wall: a 4K software-rendered map is rarely idle
        page.wait_for_function(MAP_READY, timeout=60_000)
        expect(page.locator("#live-pill")).to_have_attribute("data-state", "live", timeout=30_000)
        layouts[size] = wall_layout(page)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=SCREENSHOTS / f"wall-{size[0]}x{size[1]}.png")
        context.close()
        assert errors == []
    hd, uhd = layouts[(1920, 1080)], layouts[(3840, 2160)]
    for part in [*WALL_PARTS, "map"]:
        assert uhd[part] == pytest.approx(hd[part], rel=0.03, abs=0.002), part
