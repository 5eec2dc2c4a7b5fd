"""The inbox widget in a real browser: on the command wall, a notice sent to the signed-in operator appears live,
and 确认 acknowledges it; the public warnings page reads without signing in. Screenshots at wall, laptop and
tablet sizes go to var/screenshots/."""

from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import expect

from core.models import AdminArea, User
from notify import services

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
SIZES = {"wall": (2560, 1440), "laptop": (1366, 768), "tablet": (1024, 768)}

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def sign_in(page, base_url: str, username: str, path: str):
    page.goto(f"{base_url}/login/?next={path}")
    page.fill("#id_username", username)
    page.fill("#id_password", settings.CITYOPS_DEMO_PASSWORD)
    page.click("form.login-card button[type=submit]")
    page.wait_for_url(f"{base_url}{path}", wait_until="commit")


def notify(username: str, subject: str) -> None:
    users = User.objects.in_bulk(["leader", username], field_name="username")
    notification = services.send(
        sender=users["leader"], channels=["in_app"], users=[users[username]], severity="urgent",
        subject=subject, body="燃气管道泄漏，启动Ⅲ级响应，请于10分钟内确认。",
    )  # fmt: skip
    services.deliver_pending(notification.pk, "in_app")


@pytest.mark.parametrize("size", SIZES)
def test_the_inbox_shows_a_live_notice_and_acknowledges_it(workstations, demo_city, asgi_server, size):
    page = workstations(*SIZES[size])
    sign_in(page, asgi_server, "operator", "/wall/")
    inbox = page.locator("#notify-inbox")
    expect(inbox).to_have_attribute("data-live", "live", timeout=30_000)
    expect(inbox.locator(".inbox-count")).to_have_text("0")

    notify("operator", "应急响应启动通知")
    item = inbox.locator(".inbox-item", has_text="应急响应启动通知")
    expect(item).to_be_visible(timeout=10_000)  # live: the panel opens by itself
    expect(inbox.locator(".inbox-count")).to_have_text("1")
    expect(item.locator(".inbox-severity")).to_have_text("紧急")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"notify-inbox-{size}.png"))

    item.get_by_role("button", name="确认").click()
    expect(inbox.locator(".inbox-message")).to_have_text("已确认。")
    expect(inbox.locator(".inbox-count")).to_have_text("0")
    expect(inbox.locator(".inbox-item")).to_have_count(0)
    assert page.request.get(f"{asgi_server}/api/notify/inbox/").json()["items"][0]["acknowledged"] is True
    assert page.errors == []


def test_another_persons_notice_does_not_show(workstations, demo_city, asgi_server):
    page = workstations(1366, 768)
    sign_in(page, asgi_server, "calltaker", "/wall/")
    inbox = page.locator("#notify-inbox")
    expect(inbox).to_have_attribute("data-live", "live", timeout=30_000)
    notify("operator", "只发给值班员")
    page.wait_for_timeout(1500)
    expect(inbox.locator(".inbox-count")).to_have_text("0")
    expect(inbox.locator(".inbox-panel")).to_be_hidden()
    assert page.errors == []


@pytest.mark.parametrize("size", SIZES)
def test_the_public_warnings_page_needs_no_sign_in(workstations, demo_city, asgi_server, size):
    operator = User.objects.get(username="operator")
    services.issue_warning(
        operator, status="Exercise", category="Infra", event="燃气管道泄漏", urgency="Immediate", severity="Severe",
        certainty="Observed", headline="（演练）燃气管道泄漏，请远离现场", description="抢修中，请绕行。",
        instruction="勿使用明火。", area_desc="某路段周边500米",
        circle_center=AdminArea.objects.get(level="city").geom.point_on_surface,
        circle_radius_km=0.5,
    )  # fmt: skip
    page = workstations(*SIZES[size])
    page.goto(f"{asgi_server}/warnings/")
    expect(page.locator("h1")).to_have_text("公众预警")
    expect(page.locator(".warning .warning-tag")).to_have_text("演练")
    page.screenshot(path=str(SCREENSHOTS / f"public-warnings-{size}.png"), full_page=True)
    assert page.errors == []
