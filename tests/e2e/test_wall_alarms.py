"""The alarm workflow on the command wall in a real browser: an alarm is acknowledged (确认) with a note, another
escalates live (已升级), and closed alarms (关闭, a note required) leave the wall — also when closed elsewhere."""

import pytest
from django.contrib.gis.geos import Point
from django.utils import timezone
from playwright.sync_api import expect

from core.models import User
from dispatch import alarms, avl
from dispatch.models import Alarm, Vehicle

from .test_wall import SCREENSHOTS, open_wall

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _raise(agency: str, minutes_ago: float, kind: str = Alarm.Kind.SPEEDING) -> Alarm:
    unit = Vehicle.objects.filter(agency__agency=agency).order_by("pk").first()
    return alarms.raise_alarm(
        unit.pk, kind, f"{unit.call_sign}: 测试报警 ({agency})", Point(114.05, 22.54, srid=4326),
        at=timezone.now() - timezone.timedelta(minutes=minutes_ago),
    )  # fmt: skip


def test_alarms_are_acknowledged_escalated_and_closed_on_the_wall(page, demo_city, asgi_server):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    first = _raise("110", 1)
    second = _raise("120", avl.escalate_after(Alarm.Kind.SPEEDING).total_seconds() / 60 + 1)
    page.set_viewport_size({"width": 1920, "height": 1080})
    open_wall(page, asgi_server)
    item = page.locator(f"#alarm-list li.alarm[data-id='{first.pk}']")
    expect(item.locator(".alarm-state")).to_have_text("未确认")

    item.get_by_role("button", name="确认").click()
    dialog = page.locator("#alarm-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.locator(".dialog-alarm")).to_contain_text("测试报警")
    dialog.locator("textarea").fill("已电话联系车组")
    page.screenshot(path=SCREENSHOTS / "wall-alarm-dialog-1920.png")
    dialog.get_by_role("button", name="确认").click()
    expect(dialog).to_be_hidden()
    expect(item.locator(".alarm-state")).to_have_text("已确认")
    expect(item.get_by_role("button", name="确认")).to_have_count(0)
    row = Alarm.objects.get(pk=first.pk)
    assert row.acknowledge_note == "已电话联系车组" and row.acknowledged_by.username == "operator"

    # the periodic check escalates the other one: the wall shows it live
    alarms.escalate_overdue([User.objects.get(username="leader")])
    escalated = page.locator(f"#alarm-list li.alarm[data-id='{second.pk}']")
    expect(escalated.locator(".alarm-state")).to_have_text("已升级")
    page.screenshot(path=SCREENSHOTS / "wall-alarms-1920.png")

    # closing needs a note: the browser holds the empty form back, nothing is sent
    item.get_by_role("button", name="关闭").click()
    dialog.get_by_role("button", name="关闭").click()
    expect(dialog).to_be_visible()
    assert Alarm.objects.get(pk=first.pk).closed_at is None
    dialog.locator("textarea").fill("车组已处置完毕")
    dialog.get_by_role("button", name="关闭").click()
    expect(item).to_have_count(0)
    assert Alarm.objects.get(pk=first.pk).close_note == "车组已处置完毕"

    # closed at another console: it leaves this wall too
    page.set_viewport_size({"width": 1024, "height": 768})
    alarms.close_alarm(User.objects.get(username="dispatcher120"), second, "救护车组已回复")
    expect(escalated).to_have_count(0)
    page.screenshot(path=SCREENSHOTS / "wall-alarms-1024.png")
    assert page.errors == []


def test_a_leader_sees_the_states_but_no_buttons(page, demo_city, asgi_server):
    alarm = _raise("110", 1)
    open_wall(page, asgi_server, "leader")
    item = page.locator(f"#alarm-list li.alarm[data-id='{alarm.pk}']")
    expect(item.locator(".alarm-state")).to_have_text("未确认")
    expect(item.locator("button")).to_have_count(0)
    assert page.errors == []
