"""应用维护 /grid/config/ in a real browser: the administrator changes a category's handling limit, adds and re-routes a
routing rule in the draft, publishes, and finds the new version with its changes in the history. Screenshots at laptop
and tablet size in var/screenshots/grid-config-*.png."""

from pathlib import Path

import pytest
from playwright.sync_api import expect

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
SIZES = {"laptop": (1366, 768), "tablet": (1024, 768)}
READY = "document.body?.dataset.configReady === '1'"

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def shoot(page, name: str) -> None:
    for size, (width, height) in SIZES.items():
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_timeout(300)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=SCREENSHOTS / f"grid-config-{name}-{size}.png")
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"the page scrolls sideways at {size}"


def test_edit_limit_and_rule_publish_and_read_the_history(workstations, demo_city, asgi_server, login):
    page = workstations(*SIZES["laptop"])
    login(page, asgi_server, "admin")
    page.goto(f"{asgi_server}/grid/config/")
    page.wait_for_function(READY, timeout=30_000)
    expect(page.locator(".mainnav a[href='/grid/config/']")).to_have_count(1)
    expect(page.locator("#cfg-status")).to_have_text("无草稿：当前已发布版本生效。")

    page.fill("#cfg-search", "06010")
    row = page.locator("#cfg-limits tr[data-code='06010']")
    row.locator("button.cfg-edit").click()
    editing = page.locator("#cfg-limits tr.editing")
    editing.locator("[name=handling_limit]").fill("3")
    editing.locator("button.cfg-primary").click()
    expect(page.locator("#toast")).to_have_text("已保存到草稿。")
    expect(row.locator("td.changed")).to_have_count(1)
    expect(page.locator("#cfg-status")).to_have_attribute("data-draft", "open")
    shoot(page, "limits")

    page.set_viewport_size({"width": SIZES["laptop"][0], "height": SIZES["laptop"][1]})
    page.click("#tab-rules")
    form = page.locator("#cfg-rule-form")
    form.locator("[name=category_code]").fill("06010")
    form.locator("[name=district_id]").select_option(index=1)
    form.locator("[name=organisation_id]").select_option(index=0)
    form.locator("button[type=submit]").click()
    rule = page.locator("#cfg-rules tbody tr", has_text="06010")
    expect(rule).to_have_count(1)
    chosen = form.locator("[name=organisation_id] option").nth(1).inner_text()
    rule.locator("select[name=organisation_id]").select_option(index=1)
    expect(page.locator("#toast")).to_have_text("已保存到草稿。")
    expect(rule.locator("select[name=organisation_id] option:checked")).to_have_text(chosen)
    shoot(page, "rules")

    page.set_viewport_size({"width": SIZES["laptop"][0], "height": SIZES["laptop"][1]})
    page.fill("#cfg-note", "暴露垃圾处置时限调整，单独派遣")
    page.click("#cfg-publish-button")
    expect(page.locator("#toast")).to_have_text("版本 2 已发布：此后立案的案件按此版本执行。")
    expect(page.locator("#cfg-status")).to_have_attribute("data-draft", "none")

    page.click("#tab-versions")
    latest = page.locator("#cfg-versions > li[data-number='2']")
    expect(latest.locator(".note")).to_have_text("暴露垃圾处置时限调整，单独派遣")
    expect(latest.locator(".cfg-changes li", has_text="06010")).to_have_count(2)  # the limit and the new rule
    expect(latest.locator(".cfg-changes li", has_text="新增规则")).to_have_count(1)
    expect(page.locator("#cfg-versions > li[data-number='1']")).to_contain_text("初始版本")
    shoot(page, "versions")
