"""部件普查 in a real browser: a grid dispatcher adds a component by tapping the map, marks it damaged, drags it a
little and confirms the move, and reads the history of all three changes. Screenshots at laptop and tablet size
in var/screenshots/components-*.png."""

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
SIZES = {"laptop": (1366, 768), "tablet": (1024, 768), "wall": (2560, 1440)}

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_add_edit_move_and_history(workstations, demo_city, asgi_server, login):
    from core.models import AdminArea
    from grid.models import Component, UnitGrid

    spot = AdminArea.objects.filter(level="community").order_by("code").first().geom.point_on_surface
    page = workstations(*SIZES["laptop"])
    login(page, asgi_server, "griddispatcher")
    expect(page.locator("a[href='/grid/components/']")).to_have_count(1)  # in the navigation
    page.goto(f"{asgi_server}/grid/components/")
    page.wait_for_function("document.body?.dataset.surveyReady === '1'", timeout=60_000)
    expect(page.locator("h1")).to_have_text("部件普查")
    expect(page.locator("#map-hint")).to_have_text("放大地图以查看部件。")

    page.evaluate("([lon, lat]) => window.cityopsMap.jumpTo({center: [lon, lat], zoom: 18})", [spot.x, spot.y])
    page.wait_for_function("Number(document.body.dataset.componentsShown) > 0", timeout=30_000)

    page.click("#add-toggle")
    expect(page.locator("#map-hint")).to_have_text("在地图上点击新部件所在的位置。")
    box = page.locator("#map canvas").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    form = page.locator("#add-form")
    expect(form).to_be_visible()
    form.locator("select[name=component_class]").select_option("01002")
    form.locator("input[name=maintainer]").fill("福田区排水养护所")
    form.locator("button[type=submit]").click()
    expect(page.locator("#toast")).to_contain_text("已新增部件")
    head = page.locator(".survey-panel .detail-head h2")
    expect(head).to_have_text(re.compile(r"^\d{17}$"))
    ident = head.text_content()
    added = Component.objects.select_related("grid", "component_class").get(ident=ident)
    grid = UnitGrid.objects.select_related("district").get(geom__intersects=added.geom)
    assert added.grid == grid and ident.startswith(f"{grid.district.code}01002")
    assert added.maintainer == "福田区排水养护所" and added.geom.distance(spot) < 0.0001

    page.select_option("#edit-form select[name=status]", "damaged")
    page.click("#edit-form button[type=submit]")
    expect(page.locator(".status-pill")).to_have_text("破损")
    expect(page.locator(".case-history li")).to_have_count(2)
    expect(page.locator(".case-history li").nth(1)).to_contain_text("状态：完好 → 破损")
    expect(page.locator(".case-history li").nth(1)).to_contain_text("派遣员 张丽")

    marker = page.locator(".survey-marker").bounding_box()
    x, y = marker["x"] + marker["width"] / 2, marker["y"] + marker["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 30, y + 20, steps=8)
    page.mouse.up()
    expect(page.locator(".move-confirm")).to_contain_text("将部件移动到此处？")
    page.click("#confirm-move")
    expect(page.locator("#toast")).to_contain_text("已移动部件")
    expect(page.locator(".case-history li")).to_have_count(3)
    expect(page.locator(".case-history li").nth(2)).to_contain_text("位置：")
    moved = Component.objects.get(pk=added.pk)
    assert moved.geom.distance(added.geom) > 0 and moved.status == "damaged"

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for name, (width, height) in SIZES.items():
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_timeout(500)
        page.screenshot(path=SCREENSHOTS / f"components-{name}.png")
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"the page scrolls sideways at {name}"
        expect(page.locator("#edit-form button[type=submit]")).to_be_visible()
    assert page.errors == []
