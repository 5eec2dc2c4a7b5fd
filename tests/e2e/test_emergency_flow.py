"""A whole emergency on the demo city in real browsers, with real mail and SMS: a gas-main burst call; the console
suggests the gas-leak plan at level Ⅲ and the dispatcher activates it; the run card's units are sent and its agencies
linked; the plan's notifications reach an SMTP server process and the SMPP gateway (delivery receipts) and the
leader acknowledges on the wall; plan actions are ticked off; the isolation's customers are texted; the response
is raised to level Ⅱ with a reason; the incident is closed and the after-action report sets actions against their
deadlines; the command centre's duty log holds every step. Screenshots of the console's plan section and the
report at wall, laptop and tablet sizes go to var/screenshots/."""

import re
import time

import pytest
from playwright.sync_api import expect

from core.models import User
from dispatch.models import Incident
from duty.models import Desk
from emergency.models import ResponsePlan
from notify.models import Delivery, Notification
from pipelines_mgmt.models import RepairOrder, ServiceConnection
from tests.notify import servers

from .test_dispatch_console import click_map_at, open_console
from .test_gas_leak_flow import gas_main_point
from .test_wall import SCREENSHOTS, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
SIZES = {"wall": (2560, 1440), "laptop": (1366, 768), "tablet": (1024, 768)}


@pytest.fixture
def mail_sms_and_worker(monkeypatch, django_db_blocker):
    with servers.channels_and_worker(monkeypatch, django_db_blocker) as running:
        yield running


def wait_for(condition, what: str, seconds: float = 60):
    deadline = time.monotonic() + seconds
    while not (value := condition()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)
    return value


def place_gas_call(page, base_url: str) -> int:
    open_console(page, base_url)
    page.fill("#caller-number", "13612340000")
    page.select_option("#type-code", "119-GAS-LEAK")
    click_map_at(page, *gas_main_point())
    expect(page.locator("#location-picked")).to_have_attribute("data-set", "1")
    page.fill("#description", "路面燃气管道爆裂,有强烈燃气味")
    page.click("#intake-submit")
    detail = page.locator("#detail-body")
    expect(detail).to_have_attribute("data-id", re.compile(r"^\d+$"), timeout=15_000)
    return int(detail.get_attribute("data-id"))


def test_a_gas_main_burst_from_the_call_to_the_after_action_report(
    page, workstations, demo_city, asgi_server, mail_sms_and_worker
):
    sim, smtp, _worker = mail_sms_and_worker
    incident_id = place_gas_call(page, asgi_server)
    order = wait_for(lambda: RepairOrder.objects.filter(incident_id=incident_id).first(), "the repair order")
    plan = ResponsePlan.objects.get(code="gas-leak", current=True)
    level3 = next(level for level in plan.levels if level["level"] == 3)

    # The suggestion: the gas-leak plan at level Ⅲ, because the call is priority 1; the dispatcher confirms it.
    section = page.locator("#plan-section")
    expect(section).to_have_attribute("data-state", "suggested", timeout=15_000)
    expect(page.locator("#plan-suggested-name")).to_have_text(f"{plan.name} v{plan.version}")
    expect(page.locator("#plan-suggested-level")).to_have_attribute("data-level", "3")
    expect(page.locator("#plan-reasons")).to_contain_text("优先级 1 ≤ 1")
    page.click("#plan-activate")
    expect(section).to_have_attribute("data-state", "active")
    expect(page.locator("#plan-level")).to_have_attribute("data-level", "3")
    expect(page.locator(f'#incident-list [data-id="{incident_id}"] .response-level')).to_have_text("Ⅲ级")

    # What level Ⅲ stages: the nearest open shelter by road time, from the resource layers.
    expect(page.locator('#plan-stage li[data-kind="shelter"] .plan-resource').first).to_contain_text("预计到达")

    # The run card of level Ⅲ: its agencies linked, its units asked for and sent.
    for agency in level3["agencies"]:
        expect(page.locator(f'#agency-toggles [data-agency="{agency}"]')).to_have_attribute("aria-pressed", "true")
    for unit in level3["units"]:
        expect(page.locator("#needs")).to_contain_text(f"×{unit['count']}")
    expect(page.locator("#dispatch-button")).to_be_enabled(timeout=15_000)
    page.click("#dispatch-button")
    expect(page.locator("#assignments li.assignment")).to_have_count(
        sum(unit["count"] for unit in level3["units"]), timeout=15_000
    )

    # The notifications: in-app, SMS to the leader on duty (delivery receipts), mail to the city's leader.
    leader = User.objects.get(username="leader")
    wait_for(lambda: any(m.to == leader.email for m in smtp.mails()), "the leader's mail")
    mail = next(m for m in smtp.mails() if m.to == leader.email)
    assert "燃气泄漏" in mail.body and plan.name in mail.subject
    mails = Delivery.objects.filter(
        notification__about_app="dispatch.incident", notification__about_id=str(incident_id), channel="email"
    )
    wait_for(lambda: not mails.all().filter(state__in=["queued", "sending"]).exists(), "every mail sent or failed")
    # Sent to every leader with an address; a leader without one is a failed delivery that says so.
    assert {d.address for d in mails.all() if d.state == "sent"} == {m.to for m in smtp.mails()}
    assert all("has no" in d.last_error for d in mails.all() if d.state != "sent")
    sms = Delivery.objects.filter(
        notification__about_app="dispatch.incident", notification__about_id=str(incident_id), channel="sms"
    )
    wait_for(lambda: sms.exists() and all(d.state == "delivered" for d in sms.all()), "the SMS delivery receipts")
    for delivery in sms.all():
        assert any("请确认" in text for text in sim.texts_to(delivery.address))

    # The leader acknowledges on the wall; the console sees it.
    wall = workstations(1920, 1080)
    sign_in(wall, asgi_server, "leader", "/wall/")
    inbox = wall.locator("#notify-inbox")
    notice = inbox.locator(".inbox-item", has_text=plan.name).first
    expect(notice).to_be_visible(timeout=30_000)
    notice.get_by_role("button", name="确认").click()
    expect(inbox.locator(".inbox-message")).to_have_text("已确认。")
    acknowledged = page.locator('#plan-notifications li[data-acknowledged="1"]')
    expect(acknowledged).to_have_count(1, timeout=15_000)  # the panel re-reads itself every 5 s

    # Plan actions ticked off.
    for item in page.locator("#plan-checklist li.open button.plan-done").all()[:2]:
        item.click()
    expect(page.locator("#plan-checklist li.done")).to_have_count(2)

    # 停气通知: the isolation's customers with a phone are texted once each.
    phones = {
        c.phone
        for c in ServiceConnection.objects.filter(pk__in=[c["id"] for c in order.isolation["customers"]["items"]])
        if c.phone
    }
    page.click(f'#plan-outages [data-order="{order.number}"] button.plan-notify-customers')
    wait_for(lambda: all(sim.texts_to(phone) for phone in phones), "the outage texts")
    assert all(len(sim.texts_to(phone)) == 1 for phone in phones)
    expect(page.locator(f'#plan-outages [data-order="{order.number}"] .plan-delivery')).to_be_visible(timeout=15_000)

    # Escalation to level Ⅱ, with the reason.
    page.select_option("#plan-change-level", "2")
    page.fill("#plan-change-reason", "泄漏扩大,周边商场需疏散")
    page.click("#plan-change-submit")
    expect(page.locator("#plan-level")).to_have_attribute("data-level", "2")
    expect(page.locator("#plan-history li")).to_have_count(2)
    expect(page.locator("#plan-history")).to_contain_text("泄漏扩大")
    expect(page.locator('#agency-toggles [data-agency="122"]')).to_have_attribute("aria-pressed", "true")
    for size, (width, height) in SIZES.items():
        page.set_viewport_size({"width": width, "height": height})
        page.locator("#plan-section").scroll_into_view_if_needed()
        page.screenshot(path=str(SCREENSHOTS / f"emergency-plan-{size}.png"))
    page.locator("#plan-section").screenshot(path=str(SCREENSHOTS / "emergency-plan-section.png"))

    # Closed; the after-action report.
    page.click('#incident-status-buttons button[data-status="closed"]')
    wait_for(lambda: Incident.objects.get(pk=incident_id).status == "closed", "the incident closed")
    report = workstations(1366, 768)
    sign_in(report, asgi_server, "operator", f"/emergency/incidents/{incident_id}/report/")
    expect(report.locator("#aa-levels tbody tr")).to_have_count(2)
    expect(report.locator("#aa-actions tbody tr.on-time")).to_have_count(2)
    expect(report.locator("#aa-units tbody tr")).to_have_count(
        len(next(lv for lv in plan.levels if lv["level"] == 2)["units"])
    )
    for size, (width, height) in SIZES.items():
        report.set_viewport_size({"width": width, "height": height})
        report.screenshot(path=str(SCREENSHOTS / f"emergency-report-{size}.png"), full_page=True)

    # The command centre's duty log holds all of it.
    duty = workstations(1366, 768)
    sign_in(duty, asgi_server, "operator", "/duty/")
    duty.select_option("#log-desk", str(Desk.objects.get(kind=Desk.Kind.COMMAND_CENTRE).pk))
    number = Incident.objects.get(pk=incident_id).number
    log = duty.locator("#log-list")
    expect(log).to_contain_text(number, timeout=15_000)
    expect(log.locator("li", has_text=number)).to_have_count(4)  # received, Ⅲ, Ⅱ, closed
    sent = Notification.objects.filter(about_app="dispatch.incident", about_id=str(incident_id)).count()
    assert sent == 6  # levels Ⅲ and Ⅱ: the leader on duty (in-app, SMS), the leaders (in-app, mail), the desks
    expect(log.locator("li", has_text="信息发布")).to_have_count(sent + 1)  # the plan's, and the outage texts

    for workstation in (page, wall, report, duty):
        assert workstation.errors == []
