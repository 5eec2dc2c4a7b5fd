"""The home map in a real browser: offline rendering, live feed through uvicorn and Redis, login, language."""

import json
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
MAP_READY = "document.body?.dataset.mapReady === '1'"
CJK = re.compile(r"[\u4e00-\u9fff]")

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def rendered(page, layer: str, prop: str) -> set[str]:
    """`prop` of every feature the map has drawn on screen in `layer`."""
    return set(
        page.evaluate(
            "([layer, prop]) => window.cityopsMap.queryRenderedFeatures({layers: [layer]})"
            ".map(f => f.properties[prop])",
            [layer, prop],
        )
    )


def test_home_map_draws_every_district_without_outside_resources(page, demo_city, asgi_server, login):
    login(page, asgi_server, "operator")
    page.wait_for_function(MAP_READY, timeout=60_000)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "home.png")

    districts = page.request.get(f"{asgi_server}/api/core/areas/?level=district").json()["features"]
    codes = {feature["id"] for feature in districts}  # the API puts the area code in the feature id
    names = {feature["properties"]["name"] for feature in districts}
    assert codes
    assert codes <= rendered(page, "district-fill", "code")
    # A label is placed only once its glyphs exist: this proves text renders with local fonts alone.
    assert names <= rendered(page, "district-label", "name")
    assert page.locator("#district-list li").count() == len(codes)
    assert not [url for url in page.requests if url.endswith(".pbf")], "no glyph or tile PBFs may be fetched"
    assert page.errors == []


def _rename_first_district(suffix: str) -> str:
    from django.db import connection

    from core.models import AdminArea, User
    from core.services import update_area

    try:
        area = AdminArea.objects.filter(level=AdminArea.Level.DISTRICT).first()
        return update_area(User.objects.get(username="admin"), area, name=area.name + suffix).name
    finally:
        connection.close()  # this thread's own connection would otherwise outlive the test database


def test_live_pill_connects_and_counts_events(page, demo_city, asgi_server, login):
    login(page, asgi_server, "operator")
    pill = page.locator("#live-pill")
    expect(pill).to_have_attribute("data-state", "live", timeout=30_000)
    expect(pill).to_contain_text("实时")
    topics = page.request.get(f"{asgi_server}/api/core/me/").json()["topics"]
    expect(page.locator("#topic-list li")).to_have_count(len(topics))

    # From another thread: Playwright's loop owns this one, and publish() fans out with async_to_sync.
    with ThreadPoolExecutor(1) as pool:
        new_name = pool.submit(_rename_first_district, "（测试）").result()

    expect(page.locator("#live-count")).to_have_text("1", timeout=15_000)
    expect(page.locator('#topic-list li[data-topic="areas"] b')).to_have_text("1")
    # The map reloads the areas it shows when one of them changes.
    expect(page.locator("#district-list")).to_contain_text(new_name)


def test_anonymous_visitor_is_sent_to_a_chinese_login_page(page, demo_city, asgi_server):
    page.goto(f"{asgi_server}/")
    assert urlsplit(page.url).path == "/login/"
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page).to_have_title(re.compile("登录"))

    page.fill("#id_username", "operator")
    page.fill("#id_password", "not-the-password")
    page.click("form.login-card button[type=submit]")
    error = page.locator(".form-error")
    expect(error).to_be_visible()
    assert CJK.search(error.inner_text()), error.inner_text()
    assert urlsplit(page.url).path == "/login/"


def test_language_switch_renders_english(page, demo_city, asgi_server, login):
    login(page, asgi_server, "operator")
    page.wait_for_function(MAP_READY, timeout=60_000)
    page.click(".lang-switch button[value=en]")
    page.wait_for_function(MAP_READY, timeout=60_000)

    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator(".brand-name")).to_have_text("City Operations and Emergency Command Platform")
    expect(page.locator(".mainnav")).to_contain_text("Overview map")
    expect(page.locator(".role-chip")).to_have_text("Command-center operator")
    expect(page.locator("#live-pill")).to_contain_text("Live", timeout=30_000)
    assert not CJK.search(page.locator("#road-legend").inner_text())


def test_ops_socket_resumes_from_its_last_seq(page, demo_city, asgi_server, login):
    """After a drop the client subscribes with `since` and the server replays what it missed."""
    login(page, asgi_server, "operator")
    sent, received = [], []

    def watch(ws):
        ws.on("framesent", lambda payload: sent.append(json.loads(payload)))
        ws.on("framereceived", lambda payload: received.append(json.loads(payload)))

    page.on("websocket", watch)
    page.evaluate(
        """async () => {
            const {OpsSocket} = await import("/static/frontend/lib/ops-socket.js");
            const probe = window.probe = {events: [], states: []};
            probe.socket = new OpsSocket({
                topics: ["areas"],
                minDelayMs: 200,
                onEvent: (event) => probe.events.push(event),
                onStatus: (state) => probe.states.push(state),
            });
            probe.socket.start();
        }"""
    )
    page.wait_for_function("window.probe.socket.state === 'live'")
    seq = page.evaluate("window.probe.socket.lastSeq")

    page.evaluate("window.probe.socket._ws.close()")  # the network drops the connection
    page.wait_for_function("window.probe.states.at(-2) === 'reconnecting' && window.probe.socket.state === 'live'")
    assert {"op": "subscribe", "topics": ["areas"], "since": seq} in sent

    page.evaluate("window.probe.socket.stop()")
    with ThreadPoolExecutor(1) as pool:
        pool.submit(_rename_first_district, "（离线期间）").result()
    page.evaluate("window.probe.socket.start()")
    page.wait_for_function("window.probe.events.length === 1")
    event = page.evaluate("window.probe.events[0]")
    assert event["topic"] == "areas" and event["type"] == "area.updated" and event["seq"] > seq
    assert {"op": "subscribed", "topics": ["areas"], "seq": event["seq"], "replayed": 1} in received
