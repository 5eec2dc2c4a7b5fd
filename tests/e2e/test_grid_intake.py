"""新建受理 in the case centre /grid/ in Chromium: a hotline call filed with an address found by the geocoder, a
second call about the same problem caught before filing and attached to the first case (merged: one case keeps
both reports), and 回访: a hotline case closes only after its caller was called back. Screenshots of the intake
form with the duplicate warning at wall (2560×1440), laptop (1366×768) and tablet (1024×768) sizes.
"""

from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.grid.test_callbacks import verified_case

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
METRES_PER_DEGREE_LAT = 111_320
REFUSED = "Failed to load resource: the server responded with a status of 400 (Bad Request)"
SIZES = {"wall": (2560, 1440), "laptop": (1366, 768), "tablet": (1024, 768)}


def open_centre(workstations, login, base_url, username, size=(1366, 768)):
    page = workstations(*size)
    login(page, base_url, username)
    page.goto(f"{base_url}/grid/")
    page.wait_for_function("document.body.dataset.mapReady === '1'")
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live", timeout=15_000)
    return page


def quiet_category():
    """An event category with no case at all, so that only the cases a test files can be its duplicates."""
    from grid.models import Case, Category

    events = Category.objects.filter(active=True, scheme="gbt47678", kind="event")
    return events.exclude(pk__in=Case.objects.values("category_id")).order_by("code")[0]


def a_door():
    """A door plate of the demo address layer inside a unit grid (so the case gets a grid and a department)."""
    from gis.models import Address
    from grid.models import UnitGrid

    grid = UnitGrid.objects.order_by("code").first()
    door = Address.objects.filter(geom__within=grid.geom, building="").order_by("id").first()
    assert door is not None, "the demo city has door plates in its first unit grid"
    return door


def pick_category(page, category):
    page.fill("#intake .category-search", category.code)
    page.click(f'#intake .category-list button[data-code="{category.code}"]')
    expect(page.locator("#intake-category-picked")).to_contain_text(category.code)


def test_hotline_call_filed_with_a_geocoded_address(workstations, login, demo_city, asgi_server):
    from grid.models import Case

    category, door = quiet_category(), a_door()
    page = open_centre(workstations, login, asgi_server, "gridclerk")
    page.click("#intake-open")
    expect(page.locator("#intake")).to_be_visible()
    page.fill("#caller-name", "王女士")
    page.fill("#caller-phone", "请回电")  # not a phone number: the server's 400 is shown on the field, in Chinese
    pick_category(page, category)
    page.fill("#intake-description", "人行道上有大件垃圾堆放")
    page.locator("#map canvas").click()  # a click on the map places the call and names its nearest address
    expect(page.locator("#intake-position")).to_contain_text("最近门址")
    expect(page.locator("#intake-address")).not_to_have_value("")
    page.fill("#intake-search", door.label)
    candidate = page.locator("#intake-candidates .candidate", has_text=door.label).first
    expect(candidate).to_be_visible()
    expect(candidate.locator(".candidate-score")).to_contain_text("%")
    lon, lat = float(candidate.get_attribute("data-lon")), float(candidate.get_attribute("data-lat"))
    candidate.click()
    expect(page.locator("#intake-address")).to_have_value(door.label)
    expect(page.locator("#intake-position")).to_contain_text(f"{lon:.6f}")

    page.click("#intake-submit")  # the duplicate check, then the filing: two round trips on a busy machine
    expect(page.locator("#intake-message")).to_contain_text("来电电话", timeout=15_000)
    expect(page.locator("#caller-phone")).to_have_attribute("aria-invalid", "true")
    assert not Case.objects.filter(category=category).exists()

    page.fill("#caller-phone", "138 0013 8000")
    page.click("#intake-submit")
    expect(page.locator("#intake")).to_be_hidden(timeout=15_000)
    case = Case.objects.get(category=category)
    card = page.locator(f'#queue .case-card[data-number="{case.number}"]')
    expect(card).to_contain_text(door.label)
    expect(page.locator(".detail-head h2")).to_have_text(case.number)
    assert case.channel == "hotline" and case.address == door.label and case.reporter.username == "gridclerk"
    assert case.geom.x == pytest.approx(lon, abs=1e-7) and case.geom.y == pytest.approx(lat, abs=1e-7)
    assert case.reporter_contact == {"name": "王女士", "phone": "138 0013 8000", "callback": True}
    assert page.errors == [REFUSED]  # the bad phone's 400, and nothing else


def test_a_duplicate_caught_at_intake_is_attached_to_the_open_case(
    workstations, login, demo_city, user_for, asgi_server, api
):
    from grid import services
    from grid.models import Case

    category, door = quiet_category(), a_door()
    first, _ = services.report_case(
        user_for("gridclerk"),
        services.Report(category.code, door.geom, "井盖松动，车辆经过有响声", door.label, "hotline",
                        reporter_contact={"name": "李先生", "phone": "13900139000"}),
    )  # fmt: skip
    page = open_centre(workstations, login, asgi_server, "gridclerk")
    page.click("#intake-open")
    page.fill("#caller-name", "赵女士")
    page.fill("#caller-phone", "0755-83000000")
    pick_category(page, category)
    page.fill("#intake-description", "路口井盖响")
    # The caller's phone app gave coordinates 12 m north of the first report.
    page.fill("#intake-lon", f"{door.geom.x:.7f}")
    page.fill("#intake-lat", f"{door.geom.y + 12 / METRES_PER_DEGREE_LAT:.7f}")
    page.click("#intake-coords-apply")
    expect(page.locator("#intake-address")).not_to_have_value("")  # typed coordinates are named too
    warning = page.locator("#intake-duplicates")
    expect(warning).to_be_visible()
    item = warning.locator(f'.duplicate[data-number="{first.number}"]')
    expect(item).to_contain_text("井盖松动")
    expect(item).to_contain_text("12 米")
    expect(page.locator("#intake-submit")).to_have_text("仍然单独受理")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for name, (width, height) in SIZES.items():
        page.set_viewport_size({"width": width, "height": height})
        item.scroll_into_view_if_needed()
        page.screenshot(path=str(SCREENSHOTS / f"grid-intake-duplicate-{name}.png"))

    item.locator(".duplicate-attach").click()
    expect(page.locator("#intake")).to_be_hidden()
    expect(page.locator(".detail-head h2")).to_have_text(first.number)
    second = Case.objects.exclude(pk=first.pk).get(category=category)
    assert second.stage == "invalid" and second.merged_into_id == first.pk
    assert second.reporter_contact["phone"] == "0755-83000000"
    open_cases = [c for c in Case.objects.filter(category=category) if c.stage != "invalid"]
    assert [c.pk for c in open_cases] == [first.pk]
    detail = api("gridclerk").get(f"/api/grid/cases/{first.pk}/").json()
    assert [h for h in detail["history"] if h["action"] == "merged"], detail["history"]
    expect(page.locator(f'#queue .case-card[data-number="{second.number}"]')).to_have_count(0)
    assert page.errors == []


def test_a_hotline_case_closes_only_after_the_call_back(workstations, login, demo_city, spot, asgi_server, api):
    from grid.models import Case

    case = Case.objects.get(pk=verified_case(api, spot, reporter="gridclerk"))
    assert case.channel == "hotline" and case.stage == "verified"
    page = open_centre(workstations, login, asgi_server, "shiftleader")
    page.click('#queue-tabs [data-queue="verified"]')
    page.click(f'#queue .case-card[data-number="{case.number}"]')
    close = page.locator('#case-detail .action-buttons [data-action="close"]')
    expect(close).to_be_disabled()
    expect(page.locator(".callback-needed")).to_contain_text("回访")
    assert api("shiftleader").post(f"/api/grid/cases/{case.pk}/actions/close/", {}, format="json").status_code == 409

    form = page.locator(".callback-form")
    form.locator("select[name=result]").select_option("reached")
    form.locator("select[name=satisfaction]").select_option("satisfied")
    form.locator("textarea[name=note]").fill("市民对处理结果满意")
    form.locator("button[type=submit]").click()
    expect(page.locator(".callback-list")).to_contain_text("满意")
    expect(close).to_be_enabled()
    page.screenshot(path=str(SCREENSHOTS / "grid-intake-callback-laptop.png"))
    close.click()
    page.click('#case-detail .action-form[data-action="close"] .action-submit')
    expect(page.locator(f'#queue .case-card[data-number="{case.number}"]')).to_have_count(0)
    case.refresh_from_db()
    assert case.stage == "closed" and case.satisfaction == "satisfied"
    assert page.errors == []
