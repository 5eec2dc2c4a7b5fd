"""数字城管 through its three screens in Chromium: tablet /m/ (offline), case center /grid/, department /dept/.

One case goes the whole way: reported on the tablet while offline (the app starts from its service worker,
the report waits in the outbox), sent once when the network returns — even though the first answer is
lost on the way back — seen live by the case center, filed, dispatched, handled by the department,
verified on the tablet and closed, each step by the role that owns it. Then the tablet held upright:
finger-sized controls, positions in GCJ-02 as Chinese map SDKs give them, and a report the server refuses
shown with its reason and kept, not resent.

One test function on purpose: each transactional test flushes and reloads the demo city (~40 s here).
"""

import io
import re
from pathlib import Path

import pytest
from django.conf import settings
from PIL import Image
from playwright.sync_api import expect

from .conftest import is_local

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def jpeg(path: Path, color: str) -> Path:
    """A camera-sized photo: the app must downscale it before it is queued and sent."""
    buffer = io.BytesIO()
    Image.new("RGB", (3000, 2000), color).save(buffer, "JPEG", quality=90)
    path.write_bytes(buffer.getvalue())
    return path


@pytest.fixture
def consoles(browser, asgi_server):
    """consoles(username, **context options) → a signed-in page in its own browser profile.

    Every page records its requests; the test fails if one of them left the machine.
    """
    opened = []

    def open_console(username: str, path: str, **options):
        context = browser.new_context(locale="zh-CN", **options)
        page = context.new_page()
        page.requests, page.errors = [], []
        page.on("request", lambda request: page.requests.append(request.url))
        page.on("websocket", lambda ws: page.requests.append(ws.url))
        page.on("pageerror", lambda error: page.errors.append(str(error)))
        opened.append(page)
        page.goto(f"{asgi_server}/login/?next={path}")
        page.fill("#id_username", username)
        page.fill("#id_password", settings.CITYOPS_DEMO_PASSWORD)
        page.click("form.login-card button[type=submit]")
        page.wait_for_url(f"{asgi_server}{path}")
        return page

    yield open_console
    for page in opened:
        page.context.close()
    external = [url for page in opened for url in page.requests if not is_local(url)]
    assert not external, f"a page reached outside the intranet: {external}"


def _inspector_spot():
    """A point inside one of the inspector's unit grids, and a category the urban-management bureau handles."""
    from grid.models import Category, UnitGrid

    grid = UnitGrid.objects.filter(inspectors__username="inspector").order_by("code").first()
    assert grid is not None, "the demo city gives the inspector unit grids"
    point = grid.geom.point_on_surface
    category = Category.objects.filter(active=True, scheme="gbt47678", kind="event").order_by("code").first()
    return grid, (point.x, point.y), category


def _cases_with_key(key: str) -> list:
    from grid.models import Case

    return list(Case.objects.filter(idempotency_key=key).values_list("number", "stage"))


def card(page, number: str):
    return page.locator(f'.case-card[data-number="{number}"]')


def act(page, number: str, action: str, fill=None):
    """Open the case on a console, choose the action, fill its form and submit it."""
    card(page, number).click()
    expect(page.locator(".detail-head h2")).to_have_text(number)
    page.click(f'.action-buttons button[data-action="{action}"]')
    form = page.locator(f'form.action-form[data-action="{action}"]')
    if fill:
        fill(form)
    form.locator("button[type=submit]").click()
    # Done when the case is shown again without the form; a refusal would stay on the form with its reason.
    expect(form).to_have_count(0, timeout=20_000)


def test_case_from_offline_tablet_report_to_closure(consoles, demo_city, asgi_server, tmp_path):
    grid, (lon, lat), category = _inspector_spot()

    tablet = consoles(
        "inspector",
        "/m/",
        viewport={"width": 1280, "height": 800},
        has_touch=True,
        geolocation={"longitude": lon, "latitude": lat, "accuracy": 6},
        permissions=["geolocation"],
    )
    manifest = tablet.request.get(f"{asgi_server}/m/manifest.webmanifest").json()
    assert manifest["start_url"] == "/m/" and manifest["display"] == "standalone"
    tablet.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=30_000)
    tablet.wait_for_function("() => document.body?.dataset.appReady === '1'", timeout=60_000)

    leader = consoles("leader", "/grid/", viewport={"width": 1440, "height": 900})
    expect(leader.locator("#live-status")).to_have_attribute("data-state", "live", timeout=30_000)
    leader.evaluate("window.notReloaded = true")

    # --- offline: the app starts from the service worker's cache and queues the report ---
    tablet.context.set_offline(True)
    tablet.reload()
    tablet.wait_for_function("() => document.body?.dataset.appReady === '1'", timeout=60_000)
    expect(tablet.locator("#net-state")).to_have_attribute("data-online", "0")
    expect(tablet.locator("#position-status")).to_have_attribute("data-source", "gps")
    tablet.set_input_files("#report-photo", str(jpeg(tmp_path / "pothole.jpg", "#7a5230")))
    expect(tablet.locator("#report-preview")).to_be_visible()
    tablet.fill(".category-search", category.code)
    tablet.click(f'.category-list button[data-code="{category.code}"]')
    tablet.fill("#report-description", "井盖破损，离线上报")
    tablet.click("#report-submit")

    queued = tablet.locator('#outbox-list li[data-kind="report"]')
    expect(queued).to_have_attribute("data-status", "queued")
    expect(tablet.locator("#sync-state")).to_have_attribute("data-state", "queued")
    expect(tablet.locator("#sync-text")).to_contain_text("1")
    key = queued.get_attribute("data-key")
    assert re.fullmatch(r"[0-9a-f-]{36}", key)
    assert _cases_with_key(key) == []

    # --- online again: the first answer is lost on the way back, the retry carries the same key ---
    lost = []

    def lose_first_answer(route):
        if route.request.method == "POST" and not lost:
            lost.append(route.fetch().status)  # the server did create the case …
            route.abort("connectionreset")  # … but the tablet never hears of it
        else:
            route.continue_()

    tablet.route(f"{asgi_server}/api/grid/cases/", lose_first_answer)
    tablet.context.set_offline(False)
    expect(tablet.locator("#sync-state")).to_have_attribute("data-state", "idle", timeout=60_000)
    assert lost == [201]
    tablet.unroute(f"{asgi_server}/api/grid/cases/")
    sent = tablet.locator(f'#outbox-list li[data-key="{key}"]')
    expect(sent).to_have_attribute("data-status", "sent")
    [(number, stage)] = _cases_with_key(key)  # exactly one case for this report
    assert stage == "reported"
    expect(sent.locator(".case-number")).to_contain_text(number)

    # --- the case center saw it arrive over /ws/ops/, without a reload ---
    expect(card(leader, number)).to_be_visible(timeout=20_000)
    assert leader.evaluate("window.notReloaded") is True
    expect(card(leader, number)).to_have_attribute("data-stage", "reported")
    leader.wait_for_function("() => document.body?.dataset.mapReady === '1'", timeout=60_000)
    drawn = leader.evaluate(
        """async ([lon, lat]) => {
             const map = window.cityopsMap;
             map.jumpTo({center: [lon, lat], zoom: 16});
             await map.once("idle");
             return map.queryRenderedFeatures({layers: ["cases"]}).map((f) => f.properties.number);
           }""",
        [lon, lat],
    )
    assert number in drawn

    act(leader, number, "file")
    expect(leader.locator(".detail-head")).to_have_attribute("data-stage", "filed")

    dispatcher = consoles("griddispatcher", "/grid/", viewport={"width": 1440, "height": 900})
    dispatcher.click('.queue-tabs [data-queue="filed"]')
    urban = dispatcher.evaluate(
        "fetch('/api/grid/departments/').then(r => r.json()).then(ds => ds.find(d => d.code === 'SZ-URBAN').id)"
    )
    act(dispatcher, number, "dispatch", lambda form: form.locator("select").select_option(str(urban)))
    expect(dispatcher.locator(".detail-head")).to_have_attribute("data-stage", "dispatched")
    dispatcher.context.close()  # two cores: one live map less to draw

    # --- the department reports the fix with a photo ---
    department = consoles("depthandler", "/dept/", viewport={"width": 1366, "height": 768})

    def fix(form):
        form.locator("input[type=file]").set_input_files(str(jpeg(tmp_path / "fixed.jpg", "#3c6e47")))
        form.locator("textarea").fill("已更换井盖")

    act(department, number, "handle", fix)
    expect(department.locator(".detail-head")).to_have_attribute("data-stage", "handled")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    department.screenshot(path=SCREENSHOTS / "grid-dept.png")
    department.context.close()

    # --- the inspector verifies on site (the task arrives live) ---
    tablet.click("#tab-tasks")
    task = tablet.locator(f'#task-list .case-item[data-number="{number}"]')
    expect(task).to_be_visible(timeout=20_000)
    task.click()
    tablet.set_input_files("#task-detail .verify-photo", str(jpeg(tmp_path / "checked.jpg", "#556b7d")))
    tablet.click('#task-detail button[data-action="verify_ok"]')
    verified = tablet.locator('#outbox-list li[data-kind="action"]')
    expect(verified).to_have_attribute("data-status", "sent", timeout=30_000)

    # --- the leader closes it; it leaves the open queues ---
    leader.click('.queue-tabs [data-queue="verified"]')
    expect(card(leader, number)).to_be_visible(timeout=20_000)
    act(leader, number, "close")
    expect(leader.locator(".detail-head")).to_have_attribute("data-stage", "closed")
    expect(card(leader, number)).to_have_count(0)

    leader.screenshot(path=SCREENSHOTS / "grid-center.png")
    # The photos of the case open full screen; the evaluation tables come from /api/grid/kpis/.
    leader.locator(".case-history .photo-thumb").first.click()
    viewer = leader.locator("dialog.photo-viewer")
    expect(viewer).to_be_visible()
    assert "/api/grid/photos/" in viewer.locator("img").get_attribute("src")
    leader.keyboard.press("Escape")
    expect(viewer).to_be_hidden()
    leader.click("#view-kpis")
    expect(leader.locator("#kpi-table thead")).to_contain_text("按期处置率")
    assert leader.locator("#kpi-table tbody tr").count() > 0
    leader.screenshot(path=SCREENSHOTS / "grid-kpis.png")
    tablet.screenshot(path=SCREENSHOTS / "tablet.png")

    from grid.models import Case

    case = Case.objects.get(idempotency_key=key)
    actions = list(case.transitions.order_by("at", "pk").values_list("action", flat=True))
    assert actions == ["report", "file", "dispatch", "handle", "verify_ok", "close"]
    assert case.stage == "closed" and case.department.code == "SZ-URBAN"
    assert case.grid.code == grid.code  # found from the tablet's GPS position
    photos = list(case.photos.all())
    assert len(photos) == 3  # report, fix, check: each downscaled on the device from 3000×2000
    for photo in photos:
        with Image.open(photo.image.path) as image:
            assert max(image.size) == 1600 and image.format == "JPEG"
    for page in (tablet, leader, dispatcher, department):
        assert page.errors == []
    leader.context.close()

    upright_tablet_with_gcj02_positions_and_a_refused_report(tablet, lon, lat, category, tmp_path)


def report(tablet, category, photo: Path):
    tablet.set_input_files("#report-photo", str(photo))
    tablet.fill(".category-search", category.code)
    tablet.click(f'.category-list button[data-code="{category.code}"]')
    tablet.click("#report-submit")


def upright_tablet_with_gcj02_positions_and_a_refused_report(tablet, lon, lat, category, tmp_path):
    """The tablet held upright: finger-sized controls, GCJ-02 positions, a refusal shown and not resent."""
    from core.geo import from_wgs84
    from grid.models import Case

    gcj_lon, gcj_lat = from_wgs84(lon, lat, "gcj02")  # what a Chinese map SDK reports here, ~500 m off
    tablet.set_viewport_size({"width": 800, "height": 1280})
    tablet.context.set_geolocation({"longitude": gcj_lon, "latitude": gcj_lat, "accuracy": 10})
    tablet.click("#tab-report")

    # Every control of the panel is big enough for a finger (44 CSS px).
    small = tablet.evaluate(
        """[...document.querySelectorAll('.tablet-panel :is(button, input, textarea, label.photo-button, label.check)')]
           .filter(e => e.offsetParent !== null && !['file', 'checkbox'].includes(e.type))
           .map(e => [e.id || e.className || e.tagName, e.getBoundingClientRect().height])
           .filter(([, h]) => h < 44)"""
    )
    assert small == []

    position = tablet.locator("#position-status")
    expect(position).to_have_attribute("data-lon", f"{gcj_lon:.7f}")
    tablet.check("#gcj02")
    expect(position).to_have_attribute("data-crs", "gcj02")
    listed = tablet.locator("#outbox-list li").count()
    report(tablet, category, jpeg(tmp_path / "a.jpg", "#884422"))
    expect(tablet.locator("#outbox-list li")).to_have_count(listed + 1)
    newest = tablet.locator("#outbox-list li").first  # newest first
    expect(newest).to_have_attribute("data-status", "sent", timeout=30_000)
    case = Case.objects.get(idempotency_key=newest.get_attribute("data-key"))
    assert abs(case.geom.x - lon) < 1e-5 and abs(case.geom.y - lat) < 1e-5  # back on WGS84, within a metre

    # A report the server refuses (outside the city) is shown with the server's reason and kept, not resent.
    tablet.uncheck("#gcj02")
    tablet.context.set_geolocation({"longitude": 116.3975, "latitude": 39.9087})  # Beijing
    expect(position).to_have_attribute("data-lon", "116.3975000")
    expect(position).to_have_attribute("data-crs", "wgs84")
    report(tablet, category, jpeg(tmp_path / "b.jpg", "#224488"))
    expect(tablet.locator("#sync-state")).to_have_attribute("data-state", "failed", timeout=30_000)
    expect(tablet.locator("#sync-text")).to_contain_text("outside the city")
    tablet.click("#tab-outbox")
    failed = tablet.locator('#outbox-list li[data-status="failed"]')
    expect(failed.locator(".outbox-error")).to_contain_text("location")
    key = failed.get_attribute("data-key")
    attempts_are = (
        "async ([key, n]) => (await window.cityopsTablet.outbox.records()).find(r => r.key === key).attempts === n"
    )
    tablet.evaluate("window.dispatchEvent(new Event('online'))")  # the network "returns": not sent again
    tablet.evaluate("window.cityopsTablet.outbox.flush()")
    assert tablet.evaluate(attempts_are, [key, 1])
    failed.locator("button.secondary").click()  # the inspector may send it again by hand …
    tablet.wait_for_function(attempts_are, arg=[key, 2])
    expect(failed).to_have_count(1)
    assert not Case.objects.filter(idempotency_key=key).exists()
    tablet.on("dialog", lambda dialog: dialog.accept())
    failed.locator("button.danger").click()  # … or discard it
    expect(tablet.locator(f'#outbox-list li[data-key="{key}"]')).to_have_count(0)
    expect(tablet.locator("#sync-state")).to_have_attribute("data-state", "idle")
    tablet.screenshot(path=SCREENSHOTS / "tablet-portrait.png")
    assert tablet.errors == []
