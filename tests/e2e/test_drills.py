"""A drill in real browsers with the real jobs worker: the operator starts the gas-main drill on /drills/; its call
becomes an exercise incident on its clock, which the dispatcher console and the wall show marked 演练; the drill's
steps tick off as they run. Screenshots of /drills/ at wall, laptop and tablet sizes go to var/screenshots/."""

import pytest
from playwright.sync_api import expect

from drills.models import Drill
from tests.jobs_worker import on_an_empty_queue

from .test_dispatch_console import MAP_READY
from .test_wall import SCREENSHOTS, open_wall, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
SIZES = {"wall": (2560, 1440), "laptop": (1366, 768), "tablet": (1024, 768)}


@pytest.fixture
def worker(django_db_blocker):
    with on_an_empty_queue(django_db_blocker) as running:
        yield running


def test_a_drill_runs_on_its_clock_into_an_exercise_incident_every_console_marks(
    page, workstations, demo_city, asgi_server, worker
):
    sign_in(page, asgi_server, "operator", "/drills/")
    scenario = page.locator('.scenario[data-code="gas-main-drill"]')
    expect(scenario).to_be_visible(timeout=15_000)
    scenario.get_by_role("button", name="开始演练").click()

    drill = page.locator(".drill").first
    expect(drill).to_have_attribute("data-status", "running", timeout=15_000)
    expect(drill.locator('.drill-steps li[data-index="0"]')).to_have_class("done", timeout=30_000)
    incident = Drill.objects.get().incident
    assert incident.exercise
    expect(drill.locator(".drill-incident")).to_contain_text(incident.number)
    expect(drill.locator('.drill-steps li[data-index="1"]')).to_have_class("done", timeout=60_000)  # at 30 s
    assert incident.calls.count() == 2

    console = workstations(1366, 768)
    sign_in(console, asgi_server, "calltaker", "/dispatch/")
    console.wait_for_function(MAP_READY, timeout=60_000)
    listed = console.locator(f'#incident-list [data-id="{incident.pk}"]')
    expect(listed.locator(".exercise-chip")).to_have_text("演练", timeout=15_000)
    wall = workstations(1920, 1080)
    open_wall(wall, asgi_server)
    expect(wall.locator(f'[data-id="{incident.pk}"] .exercise-chip')).to_have_text("演练", timeout=15_000)

    for size, (width, height) in SIZES.items():
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=str(SCREENSHOTS / f"drills-{size}.png"), full_page=True)
    page.locator(".drill-finish").click()
    expect(drill).to_have_attribute("data-status", "finished")
    for workstation in (page, console, wall):
        assert workstation.errors == []
