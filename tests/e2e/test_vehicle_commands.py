"""Commands to vehicles in the dispatcher console, in a real browser against the real path: the console's group text
goes through the API to a real ingest process, the fleet simulator's terminals (another process) answer, and the
console shows each vehicle's state reaching 已应答 live; a unit's position query comes back with its position."""

import pytest
from playwright.sync_api import expect

from core.models import AdminArea
from dispatch.models import TerminalCommand, VehicleGroup

from . import test_dispatch_console
from .test_dispatch_console import MAP_READY, SCREENSHOTS
from .test_wall import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
fleet = test_dispatch_console.fleet  # the fleet simulator process, answering as real terminals


@pytest.mark.parametrize("size", [(1366, 768), (1024, 768)])
def test_a_group_text_and_a_position_query_answered_live(workstations, demo_city, asgi_server, fleet, size):
    fleet()
    group = VehicleGroup.objects.get(name="110巡逻组")
    members = group.vehicles.count()
    page = workstations(*size)
    sign_in(page, asgi_server, "dispatcher110", "/dispatch/")
    page.wait_for_function(MAP_READY, timeout=60_000)
    expect(page.locator("#live-pill")).to_have_attribute("data-state", "live", timeout=30_000)

    page.click("#open-group-text")
    districts = AdminArea.objects.filter(level="district").count()
    expect(page.locator('#gt-target option[value^="area:"]')).to_have_count(districts)
    page.select_option("#gt-target", f"group:{group.pk}")
    page.click("#gt-send")  # no text: the field is named
    expect(page.locator('[data-field="params.text"] .field-error')).to_be_visible()
    page.fill("#gt-text", "各巡逻车注意：福田区有大型活动，请加强巡逻")
    page.click("#gt-send")
    expect(page.locator("#gt-list li")).to_have_count(members)
    expect(page.locator('#gt-list li[data-state="answered"]')).to_have_count(members, timeout=60_000)
    expect(page.locator('#gt-counts [data-state="answered"]')).to_have_text(f"已应答 {members}")
    page.screenshot(path=SCREENSHOTS / f"group-text-{size[0]}.png")

    page.click("#open-unit-commands")
    page.click('#uc-kinds [data-kind="position_query"]')
    page.click("#uc-send")
    query = page.locator("#uc-list li", has_text="位置查询")
    expect(query).to_have_attribute("data-state", "answered", timeout=60_000)
    expect(query).to_contain_text("22.")  # the position it answered with
    page.screenshot(path=SCREENSHOTS / f"unit-commands-{size[0]}.png")

    assert set(TerminalCommand.objects.filter(batch__group=group).values_list("state", flat=True)) == {"answered"}
    assert TerminalCommand.objects.get(kind="position_query").answer["position"]["fixed"] is True
    refused = "Failed to load resource: the server responded with a status of 400 (Bad Request)"
    assert page.errors == [refused]  # only the text-less send, refused on purpose
