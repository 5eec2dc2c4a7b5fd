"""The transport bureau's console in a real browser: signed in as the supervisor it lists the key vehicles (and no
police car), draws them on the map, shows the 809 link states, and an alarm raised by a lower platform arrives
live and is acknowledged with a note; screenshots at wall, laptop and tablet size in var/screenshots."""

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from playwright.sync_api import expect

from transport.demo import KEY_VEHICLES

from .test_wall import MAP_IDLE, sign_in

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
SIZES = {"wall": (1920, 1080), "laptop": (1366, 768), "tablet": (1024, 768)}

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _raise_alarm(plate: str, warn_type: int) -> None:
    """What the link does with a 0x1402, on a thread of its own (Playwright's loop runs on the main one)."""
    from django.db import connection

    from dispatch.models import Vehicle
    from transport import jt809, services

    try:
        vehicle = Vehicle.objects.get(plate=plate)
        services.raise_platform_alarm(vehicle.pk, jt809.WarnReport(plate, 2, warn_type, 0, "司机连续驾驶超过 4 小时"))
    finally:
        connection.close()


def test_supervisor_console_lists_key_vehicles_gets_alarms_live_and_acknowledges(workstations, demo_city, asgi_server):
    page = workstations(*SIZES["laptop"])
    sign_in(page, asgi_server, "transport", "/transport/")
    rows = page.locator("#vehicle-rows tr")
    expect(rows).to_have_count(len(KEY_VEHICLES))
    expect(page.locator("#vehicle-rows")).to_contain_text("UN1203")
    expect(page.locator("#vehicle-rows")).not_to_contain_text("警")  # police plates end in 警
    expect(page.locator("#platform-list li")).to_have_count(1)
    expect(page.locator("#live-pill")).to_have_attribute("data-state", "live")
    page.evaluate(MAP_IDLE)
    drawn = page.evaluate("() => window.cityopsMap.querySourceFeatures('key-vehicles').length")
    assert drawn >= 1
    with ThreadPoolExecutor(1) as pool:
        pool.submit(_raise_alarm, "粤BW2001", 0x0002).result()
    alarm = page.locator("#alarm-list li[data-kind=platform]")
    expect(alarm).to_have_count(1)
    expect(alarm).to_contain_text("疲劳驾驶报警")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for size, (width, height) in SIZES.items():
        page.set_viewport_size({"width": width, "height": height})
        page.evaluate(MAP_IDLE)
        page.screenshot(path=SCREENSHOTS / f"transport-{size}.png")
    # The supervisor acknowledges the key vehicle's alarm with a note: the list says so, the API stored it.
    alarm.locator("input[name=note]").fill("已电话联系驾驶员停车休息")
    alarm.locator("button.acknowledge").click()
    expect(alarm.locator(".alarm-acknowledged")).to_contain_text("已电话联系驾驶员停车休息")
    from dispatch.models import Alarm

    stored = Alarm.objects.get(kind=Alarm.Kind.PLATFORM, vehicle__plate="粤BW2001")
    assert stored.acknowledged_by.username == "transport" and stored.acknowledge_note == "已电话联系驾驶员停车休息"
