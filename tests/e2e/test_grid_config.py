"""应用维护 /grid/config/ in a real browser: the administrator changes a category's handling limit and turns its
call-back (回访) on, adds and re-routes a routing rule in the draft, publishes, and finds the new version with its
changes in the history; another draft is thrown away. Screenshots at desktop, laptop and tablet size in
var/screenshots/grid-config-*.png."""

from pathlib import Path

import pytest
from playwright.sync_api import expect

from grid.models import Category, ConfigVersion

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
SIZES = {"desktop": (1920, 1080), "laptop": (1366, 768), "tablet": (1024, 768)}
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
    expect(editing.locator("[name=callback_required]")).not_to_be_checked()
    expect(editing.locator("[name=department_type] option:checked")).to_have_text("环卫")
    editing.locator("[name=callback_required]").check()
    shoot(page, "limits-editing")
    page.set_viewport_size({"width": SIZES["laptop"][0], "height": SIZES["laptop"][1]})
    editing.locator("button.cfg-primary").click()
    expect(page.locator("#toast")).to_have_text("已保存到草稿。")
    expect(row.locator("td.changed")).to_have_count(2)  # the handling limit and the call-back
    expect(row.locator("td.changed", has_text="是")).to_have_text("否 → 是")
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
    expect(latest.locator(".cfg-changes li", has_text="06010")).to_have_count(3)  # limit, call-back, new rule
    expect(latest.locator(".cfg-changes li", has_text="新增规则")).to_have_count(1)
    expect(latest.locator(".cfg-changes li", has_text="回访")).to_have_text("06010 暴露垃圾：回访 否 → 是")
    expect(page.locator("#cfg-versions > li[data-number='1']")).to_contain_text("初始版本")
    shoot(page, "versions")
    assert Category.objects.get(code="06010").callback_required  # written back: new cases need a call-back
    expect(page.locator("#cfg-error")).to_be_hidden()
    assert page.errors == []


def test_discard_a_draft(workstations, demo_city, asgi_server, login):
    page = workstations(*SIZES["laptop"])
    login(page, asgi_server, "admin")
    page.goto(f"{asgi_server}/grid/config/")
    page.wait_for_function(READY, timeout=30_000)
    expect(page.locator("#cfg-discard")).to_be_disabled()  # nothing to discard yet

    page.fill("#cfg-search", "01001")
    row = page.locator("#cfg-limits tr[data-code='01001']")
    row.locator("button.cfg-edit").click()
    editing = page.locator("#cfg-limits tr.editing")
    editing.locator("[name=department_type]").select_option(label="排水")
    editing.locator("[name=active]").uncheck()
    editing.locator("button.cfg-primary").click()
    expect(page.locator("#toast")).to_have_text("已保存到草稿。")
    expect(row.locator("td.changed")).to_have_count(2)
    expect(row).to_have_class("inactive")  # not taking reports once published
    shoot(page, "draft-inactive")
    page.set_viewport_size({"width": SIZES["laptop"][0], "height": SIZES["laptop"][1]})

    page.once("dialog", lambda dialog: dialog.dismiss())  # 'cancel' in the confirmation keeps the draft
    page.click("#cfg-discard")
    expect(page.locator("#cfg-status")).to_have_attribute("data-draft", "open")
    assert ConfigVersion.objects.filter(number__isnull=True).exists()

    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#cfg-discard")
    expect(page.locator("#toast")).to_have_text("草稿已放弃。")
    expect(page.locator("#cfg-status")).to_have_attribute("data-draft", "none")
    expect(row.locator("td.changed")).to_have_count(0)
    expect(row).not_to_have_class("inactive")
    assert not ConfigVersion.objects.filter(number__isnull=True).exists()
    assert Category.objects.get(code="01001").active
    expect(page.locator("#cfg-error")).to_be_hidden()
    assert page.errors == []
