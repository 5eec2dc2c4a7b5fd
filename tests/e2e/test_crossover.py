"""平战结合 in real browsers on the demo city: the case centre escalates a citizen's case into an incident through
its 升级为警情 dialog; the dispatcher console shows the case the incident came from, and sends a follow-up case
(road repair) to the case centre, where it arrives live and names its incident. Both histories show the link.
Screenshots of the case centre's dialog and detail and of the console's 后续案件 section at wall, laptop and tablet
sizes go to var/screenshots/; neither page may log an error."""

import pytest
from django.contrib.gis.geos import Point
from playwright.sync_api import expect

from core.models import AdminArea, User
from dispatch.models import Incident
from emergency.models import CaseIncidentLink
from grid import services as grid_services
from grid.models import Case

from .test_dispatch_console import MAP_READY
from .test_wall import SCREENSHOTS, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
SIZES = {"wall": (2560, 1440), "laptop": (1366, 768), "tablet": (1024, 768)}
ROAD_DAMAGE = "06013"  # 道路破损: the transport department's


def citizen_case() -> Case:
    """A 12345 report of a road collapse smelling of gas, taken by the grid's call taker."""
    spot = AdminArea.objects.filter(level="community").order_by("code").first().geom.point_on_surface
    report = grid_services.Report(
        category_code="06010",
        position=Point(spot.x, spot.y, srid=4326),
        description="人行道塌陷，附近有燃气味",
        address="福华路1号",
        reporter_contact={"name": "王女士", "phone": "13800138000"},
    )
    case, _created = grid_services.report_case(User.objects.get(username="gridclerk"), report)
    return case


def shoot(page, name: str, target: str):
    for size, (width, height) in SIZES.items():
        page.set_viewport_size({"width": width, "height": height})
        page.locator(target).scroll_into_view_if_needed()
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{size}.png"))


def open_case(page, number: str):
    page.locator(f'.case-card[data-number="{number}"]').click()
    expect(page.locator(".detail-head h2")).to_have_text(number)


def test_a_case_escalated_in_the_case_centre_and_a_follow_up_case_from_the_console(
    workstations, demo_city, asgi_server
):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    case = citizen_case()

    # The case centre: the case's detail offers 升级为警情; the dialog asks for the type, priority and a note.
    centre = workstations(2560, 1440)
    sign_in(centre, asgi_server, "griddispatcher", "/grid/")
    expect(centre.locator("#live-status")).to_have_attribute("data-state", "live", timeout=30_000)
    open_case(centre, case.number)
    centre.locator(".escalate-open").click()
    dialog = centre.locator("#escalate-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.locator("#escalate-case")).to_have_text(case.number)
    expect(dialog.locator('#escalate-type option[value="119-GAS-LEAK"]')).to_have_count(1)
    dialog.locator("#escalate-type").select_option("119-GAS-LEAK")
    dialog.locator("#escalate-priority").select_option("1")
    dialog.locator("#escalate-note").fill("疑似燃气管道泄漏，需消防处置")
    shoot(centre, "crossover-escalate-dialog", "#escalate-dialog")
    dialog.locator("#escalate-submit").click()
    expect(dialog).to_be_hidden()

    link = CaseIncidentLink.objects.select_related("incident").get(case=case)
    incident = link.incident
    assert incident.priority == 1 and incident.caller_number == "13800138000"
    assert incident.description == case.description and incident.geom.equals_exact(case.geom, 1e-9)
    # the detail names the incident and its history has the step; the button is gone
    expect(centre.locator("#toast")).to_contain_text(incident.number)
    incidents = centre.locator(".case-incidents")
    expect(incidents).to_contain_text(incident.number)
    expect(incidents).to_contain_text("已升级为警情")
    expect(incidents.locator("a")).to_have_attribute("href", "/dispatch/")
    expect(centre.locator(".case-history li").last).to_contain_text("升级为警情")
    expect(centre.locator(".case-history li").last).to_contain_text(incident.number)
    expect(centre.locator(".escalate-open")).to_have_count(0)
    expect(centre.locator(".detail-stage")).to_have_text("已上报")
    shoot(centre, "crossover-case-centre", ".case-links")

    # The dispatcher console: the incident shows the case it came from, in its links and on its timeline.
    console = workstations(2560, 1440)
    sign_in(console, asgi_server, "operator", "/dispatch/")
    console.wait_for_function(MAP_READY, timeout=60_000)
    console.locator(f'#incident-list li[data-id="{incident.pk}"]').click()
    links = console.locator("#follow-up-list")
    expect(links.locator('li[data-kind="escalation"]')).to_contain_text(case.number)
    expect(links.locator('li[data-kind="escalation"]')).to_contain_text("由城管案件升级")
    expect(console.locator("#timeline")).to_contain_text(f"由城管案件升级: {case.number}")

    # A follow-up case: road repair at the incident, into the case centre's queue.
    form = console.locator("#follow-up-form")
    expect(form).to_be_visible()
    expect(form.locator(f'#follow-up-category option[value="{ROAD_DAMAGE}"]')).to_have_count(1)
    form.locator("#follow-up-category").select_option(ROAD_DAMAGE)
    form.locator("#follow-up-description").fill("燃气抢修后修复人行道路面")
    form.locator("#follow-up-submit").click()
    follow_up = links.locator('li[data-kind="follow_up"]')
    expect(follow_up).to_have_count(1)
    made = Case.objects.get(incident_links__incident=incident, incident_links__kind="follow_up")
    assert made.category.code == ROAD_DAMAGE and made.geom.equals_exact(incident.geom, 1e-9)
    expect(console.locator("#follow-up-sent")).to_contain_text(made.number)
    expect(follow_up).to_contain_text(made.number)
    expect(follow_up).to_contain_text("已上报")
    expect(follow_up).to_contain_text("拟派遣至 深圳市交通运输局")
    expect(console.locator("#timeline")).to_contain_text(f"后续案件: {made.number}")
    shoot(console, "crossover-follow-up", "#follow-up-section")

    # Back in the case centre the follow-up case has arrived live, naming its incident.
    centre.set_viewport_size({"width": 1366, "height": 768})
    open_case(centre, made.number)
    expect(centre.locator(".case-incidents")).to_contain_text("警情后续案件")
    expect(centre.locator(".case-incidents")).to_contain_text(incident.number)
    expect(centre.locator(".case-history")).to_contain_text("警情后续案件")
    expect(centre.locator(".escalate-open")).to_be_visible()  # a follow-up case may itself be escalated later
    centre.screenshot(path=str(SCREENSHOTS / "crossover-follow-up-case-laptop.png"))

    assert Incident.objects.filter(pk=incident.pk, status="received").exists()
    assert centre.errors == [] and console.errors == []
