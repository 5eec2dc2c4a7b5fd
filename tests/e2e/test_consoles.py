"""Every console on the demo city's full live state (a gas leak with its repair order and drawings, units en route
and on scene, a call awaiting dispatch, an SOS, overdue and returned cases), each at the size it is used at: no
uncaught error, no console error, no error message on screen, nothing fetched from outside (the `page` fixture),
and the live state in view."""

import pytest
from playwright.sync_api import expect

from core.management.commands.load_demo_city import load_live
from tests import demo_snapshot

from .test_wall import sign_in

pytestmark = [pytest.mark.e2e]

MAP_READY = "document.body?.dataset.mapReady === '1'"
APP_READY = "document.body?.dataset.appReady === '1'"
LIST_READY = "!document.querySelector('#dept-cases[aria-busy]')"
WALL, LAPTOP, TABLET, TABLET_LANDSCAPE = (1920, 1080), (1366, 768), (800, 1280), (1280, 800)
# A visible element with the role of an alert and some text: how every console shows an error.
SHOWN_ERRORS = """() => [...document.querySelectorAll('[role=alert]')]
  .filter((e) => e.offsetParent !== null && e.textContent.trim()).map((e) => e.textContent.trim())"""


def wall(page, live):
    expect(page.locator("#incident-count")).to_have_text("3", timeout=20_000)
    # the SOS; the wall also lists the platform's components that are down (system health), not counted here
    expect(page.locator("#alarm-list li.alarm:not(.kind-system)")).to_have_count(1)
    expect(page.locator("#incident-list")).to_contain_text(live["gas_leak_incident"].number)


def dispatcher(page, live):
    expect(page.locator("#live-pill")).to_have_attribute("data-state", "live", timeout=30_000)
    page.wait_for_function("window.cityopsConsole.incidents.size === 3", timeout=20_000)


def situation(page, live):
    expect(page.locator("#fact-isolation")).to_contain_text("抢修-")
    expect(page.locator("#annotation-list li")).to_have_count(2)
    expect(page.locator("#unit-list li")).to_have_count(2)


def case_centre(page, live):
    expect(page.locator("#queue li").first).to_be_visible(timeout=20_000)
    expect(page.locator("#open-total")).not_to_have_text("0")


def tablet(page, live):
    expect(page.locator("#category-picker")).not_to_be_empty()


def department(page, live):
    expect(page.locator("#dept-cases li").first).to_be_visible(timeout=20_000)


def planner(page, live):
    expect(page.locator("#planner-map canvas")).to_be_visible()


def leader(page, live):
    expect(page.locator("#map-legend li").first).to_be_visible(timeout=20_000)


CONSOLES = [
    ("wall", "operator", "/wall/", WALL, MAP_READY, wall),
    ("dispatcher", "calltaker", "/dispatch/", WALL, MAP_READY, dispatcher),
    ("situation", "leader", "/leader/incidents/{gas_leak}/", LAPTOP, MAP_READY, situation),
    ("case-centre", "griddispatcher", "/grid/", WALL, MAP_READY, case_centre),
    ("tablet", "inspector", "/m/", TABLET, APP_READY, tablet),
    (
        "department",
        "depthandler",
        "/dept/",
        TABLET_LANDSCAPE,
        LIST_READY,
        department,
    ),
    ("planner", "planner", "/planner/", LAPTOP, MAP_READY, planner),
    ("leader", "leader", "/leader/", WALL, MAP_READY, leader),
]


@pytest.fixture(scope="module")
def live_state(asgi_server, django_db_blocker):
    """The live state once for the module (committed, for the server process); the bare city back afterwards."""
    with django_db_blocker.unblock():
        demo_snapshot.restore()  # the bare city, whatever the tests before left
        context = load_live()
    yield context
    with django_db_blocker.unblock():
        demo_snapshot.restore()


@pytest.mark.parametrize(
    ("name", "username", "path", "size", "ready", "check"), CONSOLES, ids=[console[0] for console in CONSOLES]
)
def test_console_opens_clean_on_the_live_demo(page, asgi_server, live_state, name, username, path, size, ready, check):
    page.set_viewport_size({"width": size[0], "height": size[1]})
    sign_in(page, asgi_server, username, path.format(gas_leak=live_state["gas_leak_incident"].pk))
    page.wait_for_function(ready, timeout=60_000)
    check(page, live_state)
    page.wait_for_timeout(1500)  # late answers (KPIs, live catch-up) would show their errors by now
    assert page.evaluate(SHOWN_ERRORS) == []
    assert page.errors == []


PHONE_PAGES = [("inspector", "/m/", APP_READY), ("griddispatcher", "/grid/", MAP_READY)]


@pytest.mark.parametrize(("username", "path", "ready"), PHONE_PAGES)
def test_the_header_fits_a_phone(page, asgi_server, live_state, username, path, ready):
    """At 390 px the bar keeps the mark, the current console in sight (the menu scrolls sideways) and log-out."""
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, asgi_server, username, path)
    page.wait_for_function(ready, timeout=60_000)
    mark, nav = page.locator(".brand-mark").bounding_box(), page.locator(".mainnav").bounding_box()
    logout = page.locator(".logout button").bounding_box()
    current = page.locator('.mainnav > a[aria-current="page"], .navgroup:has(a[aria-current="page"]) > summary')
    shown = current.bounding_box()
    assert mark["x"] >= 0 and mark["x"] + mark["width"] <= nav["x"]  # the menu does not run over the mark
    assert nav["x"] <= shown["x"] and shown["x"] + shown["width"] <= nav["x"] + nav["width"] + 0.5
    assert logout["x"] >= 0 and logout["x"] + logout["width"] <= 390 and logout["y"] + logout["height"] <= 60
    page.locator(".logout button").click()
    expect(page).to_have_url(f"{asgi_server}/login/", timeout=10_000)
    assert page.errors == []
