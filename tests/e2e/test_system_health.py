"""The system-health panel on the wall and the health dot of the dispatch console, in a real browser against the
real API: what GET /api/core/health/ says is what they show, component by component, and a
`system.component_down` on the live feed makes the wall re-read it at once, flash the chip and raise an alarm.
The e2e server runs no GPS ingest and no case-timer process, so their heartbeats are missing ("down")."""

import re
import time

import pytest
from playwright.sync_api import expect

from core.events import publish

from .test_wall import SCREENSHOTS, open_wall, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

HEALTH = "/api/core/health/"
LABELS = {"database": "数据库", "redis": "Redis", "gps_ingest": "GPS接入", "case_timers": "案件计时"}
STATES = {"up": "正常", "degraded": "降级", "down": "故障", "unknown": "未知"}
SUMMARIES = {"up": "系统正常", "degraded": "部分降级", "down": "故障"}


def health(page, base_url: str) -> dict:
    response = page.request.get(f"{base_url}{HEALTH}")
    assert response.ok, response.text()
    return response.json()


def test_the_wall_shows_every_component_as_the_api_reads_it(page, demo_city, asgi_server):
    open_wall(page, asgi_server)
    panel = page.locator("#health-panel")
    expect(panel).to_be_visible(timeout=15_000)
    reading = health(page, asgi_server)

    assert [c["name"] for c in reading["components"]] == list(LABELS)
    expect(page.locator("#health-summary")).to_have_text(SUMMARIES[reading["status"]])
    expect(panel).to_have_attribute("data-status", reading["status"])
    for component in reading["components"]:
        chip = page.locator(f'.health-chip[data-component="{component["name"]}"]')
        expect(chip).to_have_attribute("data-status", component["status"])
        expect(chip.locator(".label")).to_have_text(LABELS[component["name"]])
        expect(chip.locator(".state")).to_have_text(STATES[component["status"]])
        # A component that is down is one of the wall's alarms, in Chinese, naming it.
        alarm = page.locator("#alarm-list li.kind-system", has_text=f"{LABELS[component['name']]}故障")
        expect(alarm).to_have_count(1 if component["status"] == "down" else 0)
    figures = page.locator("#health-figures")
    expect(figures.locator('[data-figure="gps_rate"] dt')).to_have_text("GPS 接入速率")
    expect(figures.locator('[data-figure="gps_rate"] dd')).to_contain_text("点/秒")
    expect(figures.locator('[data-figure="consoles"] dt')).to_have_text("在线控制台")
    expect(figures.locator('[data-figure="lag"]')).to_have_count(0 if not reading["standbys"] else 1)
    # This wall's own console: the first reading may predate its socket, the next poll (10 s) counts it.
    expect(figures.locator('[data-figure="consoles"] dd')).to_have_text(re.compile(r"^[1-9][0-9]*$"), timeout=15_000)
    assert page.errors == []  # no CSP violation, no failed request, no uncaught error


def test_a_component_down_event_refreshes_the_panel_at_once_and_flashes_the_chip(page, demo_city, asgi_server):
    open_wall(page, asgi_server)
    expect(page.locator("#health-panel")).to_be_visible(timeout=15_000)
    down = next((c for c in health(page, asgi_server)["components"] if c["status"] == "down"), None)
    assert down, "the e2e server runs no GPS ingest: its heartbeat is missing"
    chip = page.locator(f'.health-chip[data-component="{down["name"]}"]')
    expect(chip).not_to_have_class("health-chip flash")
    readings = len([url for url in page.requests if url.endswith(HEALTH)])

    at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    properties = {"kind": "system", "component": down["name"], "component_label": down["label"], "status": "down",
                  "message": f"{down['label']} is down: {down['detail']}", "at": at}  # fmt: skip
    published = time.monotonic()
    publish("alarms", "system.component_down", {"type": "Feature", "geometry": None, "properties": properties})
    expect(chip).to_have_class("health-chip flash", timeout=5_000)
    while len([url for url in page.requests if url.endswith(HEALTH)]) == readings:
        assert time.monotonic() - published < 5, "the panel was not read again at once (the poll is every 10 s)"
        page.wait_for_timeout(100)
    expect(chip).to_have_attribute("data-status", "down")
    expect(page.locator("#alarm-list li.kind-system", has_text=f"{LABELS[down['name']]}故障")).to_have_count(1)
    assert page.errors == []


def test_the_panel_says_when_the_health_api_does_not_answer_and_recovers_by_itself(page, demo_city, asgi_server):
    # The server "away" for this one URL: the browser's connection to it fails, as with a stopped web node.
    page.route(f"**{HEALTH}", lambda route: route.abort("connectionrefused"))
    open_wall(page, asgi_server)
    panel = page.locator("#health-panel")
    expect(panel).to_have_attribute("data-status", "unreachable", timeout=15_000)
    expect(page.locator("#health-summary")).to_have_text("状态不可读")
    expect(page.locator("#health-chips")).to_have_text("服务器无响应：系统状态未知")
    # Quietly: no error message on screen and no uncaught error, only the browser's own line for the failed request.
    assert page.locator("[role=alert]:visible").count() == 0
    assert all("ERR_CONNECTION_REFUSED" in error for error in page.errors), page.errors

    page.unroute(f"**{HEALTH}")
    expect(panel).to_have_attribute("data-status", health(page, asgi_server)["status"], timeout=15_000)  # next poll
    expect(page.locator(".health-chip")).to_have_count(4)


def test_the_dispatch_console_shows_the_summary_with_the_components_in_its_tooltip(page, demo_city, asgi_server):
    sign_in(page, asgi_server, "operator", "/dispatch/")
    indicator = page.locator("#health-indicator")
    expect(indicator).to_be_visible(timeout=15_000)
    reading = health(page, asgi_server)
    expect(indicator).to_have_attribute("data-status", reading["status"])
    expect(indicator).to_have_text(SUMMARIES[reading["status"]])
    tooltip = indicator.get_attribute("title").splitlines()
    assert [line.split(" · ")[0] for line in tooltip] == [
        f"{LABELS[c['name']]}：{STATES[c['status']]}" for c in reading["components"]
    ]
    assert page.errors == []


def test_a_call_taker_who_may_not_read_the_health_api_sees_no_panel(page, demo_city, asgi_server):
    sign_in(page, asgi_server, "calltaker", "/wall/")
    page.wait_for_function("document.body?.dataset.mapReady === '1'", timeout=60_000)
    page.goto(f"{asgi_server}/dispatch/")
    page.wait_for_function("document.body?.dataset.mapReady === '1'", timeout=60_000)
    assert page.locator("#health-panel, #health-indicator").count() == 0
    assert not [url for url in page.requests if url.endswith(HEALTH)]  # no refused request in the console's log
    assert page.errors == []


@pytest.mark.parametrize("size", [(3840, 2160), (1366, 768), (1280, 800)])
def test_screenshots_of_the_health_panel(workstations, demo_city, asgi_server, size):
    """For a person to look at: the wall's panel and the console's dot at a 4K wall, a laptop and a tablet."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page = workstations(*size)
    sign_in(page, asgi_server, "operator", "/wall/")
    page.wait_for_function("document.body?.dataset.mapReady === '1'", timeout=60_000)
    expect(page.locator(".health-chip")).to_have_count(4, timeout=15_000)
    box = page.locator("#health-panel").bounding_box()
    assert box["x"] >= 0 and box["y"] + box["height"] <= size[1]  # on screen, not cut off
    page.screenshot(path=SCREENSHOTS / f"health-wall-{size[0]}x{size[1]}.png")
    page.goto(f"{asgi_server}/dispatch/")
    expect(page.locator("#health-indicator")).to_be_visible(timeout=15_000)
    page.screenshot(path=SCREENSHOTS / f"health-console-{size[0]}x{size[1]}.png")
    assert page.errors == []
