"""The duty console in a real browser: an operator signs on to the command centre's desk, writes a 大事记, sees it
in the duty log without reloading, hands over with the open items confirmed, and prints the daily duty report.
Screenshots at wall, laptop and tablet size in var/screenshots/duty-*.png."""

from pathlib import Path

import pytest
from playwright.sync_api import expect

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
READY = "document.body?.dataset.dutyReady === '1'"
SIZES = {"wall": (2560, 1440), "laptop": (1366, 768), "tablet": (1024, 768)}

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_sign_on_log_hand_over_and_print_the_report(workstations, demo_city, asgi_server, login):
    page = workstations(*SIZES["laptop"])
    login(page, asgi_server, "operator")
    page.goto(f"{asgi_server}/duty/")
    page.wait_for_function(READY, timeout=30_000)
    expect(page.locator("#live-pill")).to_have_attribute("data-state", "live", timeout=15_000)
    ecc = page.locator(".desk-card[data-desk=ecc]")
    expect(ecc.locator("h3")).to_have_text("市应急指挥中心总值班室")
    expect(page.locator("#roster-table tbody tr")).to_have_count(14)  # seven desks, two shifts each

    ecc.locator("button.sign-on").click()
    expect(page.locator("#duty-message")).to_have_text("已接班。")
    expect(ecc.locator(".duty-person.is-on[data-username=operator]")).to_be_visible()
    expect(page.locator("#handover-box")).to_be_visible()

    page.fill("#log-text", "市领导到指挥中心检查值班工作")
    page.select_option("#log-kind", "major")
    page.click("#log-form button[type=submit]")
    expect(page.locator(".log-entry.major .text", has_text="市领导到指挥中心检查值班工作")).to_be_visible()
    expect(page.locator(".log-entry.system .text", has_text="王敏 接班")).to_be_visible()
    page.check("#major-only")
    expect(page.locator(".log-entry:not(.major)")).to_have_count(0)
    page.uncheck("#major-only")

    page.fill("#item-text", "核实化工厂复产报备")
    page.click("#item-form button[type=submit]")
    expect(page.locator("#item-list li", has_text="核实化工厂复产报备")).to_be_visible()

    for name, (width, height) in SIZES.items():
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_timeout(300)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=SCREENSHOTS / f"duty-{name}.png", full_page=True)
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"the page scrolls sideways at {name}"

    submit = page.locator("#handover-submit")
    expect(submit).to_be_disabled()
    for box in page.locator("#confirm-list input[type=checkbox]").all():
        box.check()
    page.fill("#handover-notes", "交班：设备正常，化工厂事项待复核")
    submit.click()
    expect(page.locator("#duty-message")).to_have_text("已交班。")
    expect(page.locator("#handover-box")).to_be_hidden()
    expect(page.locator(".log-entry.system .text", has_text="王敏 交班")).to_be_visible()

    page.click("#report-link")
    expect(page.locator("h1")).to_have_text("值班日报")
    expect(page.locator("#report-major")).to_contain_text("市领导到指挥中心检查值班工作")
    expect(page.locator("#report-shifts")).to_contain_text("交班：设备正常，化工厂事项待复核")
    page.emulate_media(media="print")
    expect(page.locator(".print-bar")).to_be_hidden()
    pdf = page.pdf(format="A4")
    assert pdf.startswith(b"%PDF") and len(pdf) > 10_000
    page.set_viewport_size({"width": 1366, "height": 768})
    page.screenshot(path=SCREENSHOTS / "duty-report.png", full_page=True)
    assert page.errors == []
