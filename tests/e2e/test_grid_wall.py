"""The city-management wall /grid/wall/ in Chromium: a case filed, dispatched and handled through grid's services
shows each new stage on the wall without a reload (the "cases" live feed), and an inspector on shift appears with
the attendance state of patrol, on the wall and on the case centre's map; the tablet /m/ sends its GPS track.
Screenshots at 1920×1080 and 3840×2160.

One test function on purpose: each transactional test flushes and reloads the demo city.
"""

import io
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image
from playwright.sync_api import expect

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def photo():
    from grid.photos import check_photo

    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), "green").save(buffer, "JPEG")
    return check_photo(SimpleUploadedFile("done.jpg", buffer.getvalue(), content_type="image/jpeg"))


def open_wall(workstations, login, base_url, width, height):
    page = workstations(width, height)
    login(page, base_url, "griddispatcher")
    page.goto(f"{base_url}/grid/wall/")
    page.wait_for_function("document.body.dataset.mapReady === '1'")
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live", timeout=15_000)
    return page


def inspector_on_map(page, name: str, near=None, timeout_s: float = 15) -> list[float] | None:
    """Where the map's "inspectors" source puts this inspector (waiting for one there, or near `near` (lon, lat))."""
    read = """async (name) => {
        const data = await window.cityopsMap.getSource("inspectors")?.getData();
        return data?.features.find((f) => f.properties.name === name)?.geometry.coordinates ?? null;
    }"""
    deadline = time.monotonic() + timeout_s
    while True:
        where = page.evaluate(read, name)
        close = where is not None and (near is None or max(abs(where[0] - near[0]), abs(where[1] - near[1])) < 1e-6)
        if close or time.monotonic() > deadline:
            return where
        page.wait_for_timeout(200)


def test_wall_follows_a_case_through_its_stages_live(workstations, login, demo_city, user_for, asgi_server):
    from grid import services
    from grid.models import Category, UnitGrid
    from patrol.models import PatrolShift, Position

    inspector = user_for("inspector")
    grid = UnitGrid.objects.filter(inspectors=inspector).order_by("code").first()
    spot = grid.geom.point_on_surface
    now = timezone.now()
    PatrolShift.objects.create(inspector=inspector, start=now - timedelta(hours=1), end=now + timedelta(hours=7))
    Position.objects.create(inspector=inspector, at=now - timedelta(seconds=20), geom=spot)

    page = open_wall(workstations, login, asgi_server, 1920, 1080)
    page.evaluate("() => { window.wallNotReloaded = true; }")
    expect(page.locator('#inspectors li[data-state="on_duty"]')).to_contain_text("在岗")
    category = Category.objects.filter(active=True, scheme="gbt47678", kind="event").order_by("code").first()
    report = services.Report(category_code=category.code, position=spot, description="大屏联动测试")
    case, _ = services.report_case(inspector, report)
    row = page.locator(f'#latest li[data-number="{case.number}"]')
    expect(row).to_have_attribute("data-stage", "reported")
    stage_count = page.locator('#stages li[data-stage="filed"] .stage-count')
    filed_before = int(stage_count.inner_text())

    handler = user_for("depthandler")
    steps = [
        (user_for("shiftleader"), "file", services.Step()),
        (user_for("griddispatcher"), "dispatch", services.Step(department=handler.organisation)),
        (handler, "handle", services.Step(note="已清理", photos=[photo()])),
    ]
    for actor, action, step in steps:
        case = services.transition(actor, case, action, step)
        expect(row).to_have_attribute("data-stage", case.stage)
        expect(row).to_contain_text(case.get_stage_display())
        if action == "file":
            expect(stage_count).to_have_text(str(filed_before + 1))
            expect(row).to_have_attribute("data-timer", "green")
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=SCREENSHOTS / "grid-wall-1920x1080.png")
    expect(stage_count).to_have_text(str(filed_before))
    expect(page.locator("#league-district tr")).not_to_have_count(0)
    expect(page.locator("#league-department tr")).not_to_have_count(0)
    assert page.evaluate("() => window.wallNotReloaded") is True

    wall_4k = open_wall(workstations, login, asgi_server, 3840, 2160)
    expect(wall_4k.locator(f'#latest li[data-number="{case.number}"]')).to_have_attribute("data-stage", case.stage)
    wall_4k.screenshot(path=SCREENSHOTS / "grid-wall-3840x2160.png")

    # The case centre's map shows the inspectors on shift where they last reported, from the live feed.
    centre = workstations(1366, 768)
    login(centre, asgi_server, "griddispatcher")
    centre.goto(f"{asgi_server}/grid/")
    centre.wait_for_function("document.body.dataset.mapReady === '1'")
    assert inspector_on_map(centre, inspector.display_name) == pytest.approx([spot.x, spot.y])
    # Its evaluation by inspector carries patrol effort (hand-checked in tests/patrol/test_effort.py).
    centre.click("#view-kpis")
    centre.select_option("#kpi-group", "inspector")
    centre.click("#kpi-form button[type=submit]")
    expect(centre.locator("#kpi-table thead")).to_contain_text("巡查里程（公里）")
    expect(centre.locator("#kpi-table tbody tr", has_text=inspector.display_name)).to_have_count(1)

    # The inspector's tablet sends its GPS track for patrol: the case centre's map moves the inspector at once.
    next_grid = UnitGrid.objects.filter(inspectors=inspector).order_by("code")[1].geom.point_on_surface
    walked = (next_grid.x, next_grid.y)
    tablet = workstations(1024, 768)
    tablet.context.grant_permissions(["geolocation"])
    tablet.context.set_geolocation({"longitude": walked[0], "latitude": walked[1], "accuracy": 8})
    login(tablet, asgi_server, "inspector")
    with tablet.expect_response(lambda r: r.url.endswith("/api/patrol/positions/"), timeout=20_000) as posted:
        tablet.goto(f"{asgi_server}/m/")
    assert posted.value.status == 200 and posted.value.json()["stored"] == 1
    assert Position.objects.filter(inspector=inspector).count() == 2
    assert inspector_on_map(centre, inspector.display_name, near=walked) == pytest.approx(list(walked), abs=1e-6)
    expect(page.locator('#inspectors li[data-state="on_duty"]')).to_contain_text(inspector.display_name)
    assert page.errors == [] and wall_4k.errors == [] and centre.errors == [] and tablet.errors == []
