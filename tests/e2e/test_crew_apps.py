"""The crew app /mdt/ in a real browser: a 120 crew's MDT drives its assignment from dispatched to cleared (one
press made offline, sent when the network is back) while the dispatcher's API follows each status; a gas repair
crew closes valves, reports one that will not close (the isolation is planned again), then isolates, repairs and
restores supply, and the outage ends. The dispatcher's text reaches the MDT and is marked read there."""

from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.gis.db.models.functions import GeometryDistance
from django.contrib.gis.geos import Point
from playwright.sync_api import expect

from core.models import AdminArea, User
from dispatch import commands
from dispatch import services as dispatch_services
from dispatch.models import Assignment, IncidentType, Vehicle
from dispatch.selectors import CITY_WIDE
from pipelines_mgmt import selectors as pipeline_selectors
from pipelines_mgmt import services as pipeline_services
from pipelines_mgmt.models import Pipe, RepairOrder, Utility

from .test_wall import sign_in

MAP_READY = "() => document.body?.dataset.mapReady === '1'"
SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def dispatched_ambulance() -> tuple:
    """An injury accident between 120's first ambulance and the city centre, the ambulance sent to it."""
    unit = Vehicle.objects.filter(kind=Vehicle.Kind.AMBULANCE).order_by("pk").first()
    centre = AdminArea.objects.get(level="city").geom.point_on_surface
    at = unit.last_position
    calltaker = User.objects.get(username="calltaker")
    incident = dispatch_services.create_incident(
        calltaker,
        incident_type=IncidentType.objects.get(code="122-ACCIDENT-INJURY"),
        point=Point(at.x + (centre.x - at.x) * 0.4, at.y + (centre.y - at.y) * 0.4, srid=4326),
        description="两车相撞，一名乘客头部出血",
        address="深南大道与华富路交叉口",
        confirm_new=True,
    )
    dispatch_services.dispatch_units(calltaker, CITY_WIDE, incident, [unit.pk])
    return unit, incident, incident.assignments.get(vehicle=unit)


def assignment_status(dispatcher, base_url: str, incident, unit) -> str:
    """The status the dispatcher's API shows for the unit on the incident."""
    body = dispatcher.request.get(f"{base_url}/api/dispatch/incidents/{incident.pk}/").json()
    [row] = [a for a in body["properties"]["assignments"] if a["vehicle_id"] == unit.pk]
    return row["status"]


def test_the_mdt_drives_an_incident_from_dispatch_to_cleared(workstations, asgi_server, demo_city):
    unit, incident, assignment = dispatched_ambulance()
    text = "患者为孕妇，请走东门急诊通道"
    message = commands.queue_command(
        User.objects.get(username="dispatcher120"), unit, "text", {"text": text}, timedelta(hours=1)
    )
    dispatcher = workstations(1366, 768)
    sign_in(dispatcher, asgi_server, "dispatcher120", "/")
    mdt = workstations(412, 915)
    sign_in(mdt, asgi_server, "crew120", "/mdt/")
    mdt.wait_for_function(MAP_READY, timeout=60_000)

    mdt.click(f"[data-vehicle='{unit.pk}']")  # sign on for the shift
    job = mdt.locator(f".mdt-job[data-assignment='{assignment.pk}']")
    expect(job).to_contain_text(incident.number)
    expect(job).to_contain_text("两车相撞")

    def press(status: str) -> None:
        mdt.click(f".status-button[data-status='{status}'][data-state='next']")

    expect(mdt.locator(f".mdt-message[data-message='{message.pk}']")).to_contain_text(text)
    mdt.click(f".mdt-message[data-message='{message.pk}'] .mark-read")  # 已读
    expect(mdt.locator(f".mdt-message[data-message='{message.pk}'] .read-mark")).to_contain_text("已读", timeout=15_000)
    [seen] = dispatcher.request.get(f"{asgi_server}/api/dispatch/vehicles/{unit.pk}/messages/").json()
    assert seen["read_at"] is not None

    press("en_route")
    expect(mdt.locator(".status-button[data-status='en_route']")).to_have_attribute("data-state", "done")
    expect(mdt.locator("#sync-state")).to_have_attribute("data-state", "idle", timeout=15_000)
    assert assignment_status(dispatcher, asgi_server, incident, unit) == "en_route"

    mdt.context.set_offline(True)  # 到场 in a dead zone: shown at once, waiting in the outbox
    press("on_scene")
    expect(mdt.locator(".mdt-phase")).to_have_attribute("data-waiting", "1")
    expect(mdt.locator("#sync-state")).to_have_attribute("data-state", "queued")
    shot(mdt, "mdt-phone-offline")
    assert assignment_status(dispatcher, asgi_server, incident, unit) == "en_route"
    mdt.context.set_offline(False)
    expect(mdt.locator("#sync-state")).to_have_attribute("data-state", "idle", timeout=30_000)
    expect(mdt.locator(".mdt-phase")).to_have_attribute("data-phase", "on_scene", timeout=15_000)
    assert assignment_status(dispatcher, asgi_server, incident, unit) == "on_scene"

    press("transporting")
    expect(mdt.locator(".mdt-phase")).to_have_attribute("data-phase", "transporting", timeout=15_000)
    expect(mdt.locator(".mdt-phase")).to_have_attribute("data-waiting", "0", timeout=15_000)
    assert assignment_status(dispatcher, asgi_server, incident, unit) == "returning"
    mdt.set_viewport_size({"width": 1366, "height": 768})
    shot(mdt, "mdt-laptop-transporting")

    press("cleared")
    expect(mdt.locator(".mdt-idle")).to_be_visible(timeout=15_000)
    assert assignment_status(dispatcher, asgi_server, incident, unit) == "cleared"
    body = dispatcher.request.get(f"{asgi_server}/api/dispatch/incidents/{incident.pk}/").json()
    types = [line["type"] for line in body["timeline"]]
    for step in ("unit.en_route", "unit.on_scene", "unit.transporting", "unit.returning", "unit.cleared"):
        assert types.count(step) == 1, (step, types)
    assignment.refresh_from_db()
    assert assignment.status == Assignment.Status.CLEARED
    # Chromium logs the fetches that failed while offline; nothing else may have gone wrong.
    assert [e for e in mdt.errors if "ERR_INTERNET_DISCONNECTED" not in e] == [] and dispatcher.errors == []


def gas_order() -> RepairOrder:
    """A gas burst near the city centre whose plan closes at least two valves."""
    centre = AdminArea.objects.get(level="city").geom.point_on_surface
    pipes = Pipe.objects.filter(network__utility=Utility.GAS, link_type=Pipe.LinkType.PIPE)
    for pipe in pipes.order_by(GeometryDistance("geom", centre))[:20]:
        order = pipeline_services.create_repair_order(
            None, pipeline_selectors.locate_burst(pipe.network, pipe_id=pipe.pk)
        )
        if len(order.valves_to_close) >= 2:
            return order
    pytest.fail("no gas pipe near the centre needs two valves")


def test_a_repair_order_from_isolating_to_restored_with_a_failed_valve(workstations, asgi_server, demo_city):
    order = gas_order()
    first, *others = [v["id"] for v in order.valves_to_close]
    page = workstations(1024, 768)
    page.on("dialog", lambda dialog: dialog.accept())
    sign_in(page, asgi_server, "crewgas", "/mdt/")
    page.wait_for_function(MAP_READY, timeout=60_000)
    page.click(f"[data-order='{order.number}']")
    rows = page.locator("#valve-list .valve-row")
    expect(rows).to_have_count(len(order.valves_to_close))

    for valve in others:
        page.click(f".valve-row[data-valve='{valve}'] .valve-closed")
        expect(page.locator(f".valve-row[data-valve='{valve}']")).to_have_attribute("data-closed", "1")
    expect(page.locator("#order-status")).to_have_attribute("data-status", "isolating")
    expect(page.locator("#repair-step")).to_be_disabled()

    page.click(f".valve-row[data-valve='{first}'] .valve-failed")
    expect(page.locator(f".valve-row[data-valve='{first}']")).to_have_count(0)  # planned again past it
    shown = {
        int(v) for v in page.locator("#valve-list .valve-row").evaluate_all("rows => rows.map(r => r.dataset.valve)")
    }
    new = shown - set(others)
    assert new, "the re-planned isolation closes other valves"
    order.refresh_from_db()
    assert order.failed_valves == [first] and {v["id"] for v in order.valves_to_close} == shown
    shot(page, "repair-tablet-replanned")

    for valve in sorted(new):
        page.click(f".valve-row[data-valve='{valve}'] .valve-closed")
        expect(page.locator(f".valve-row[data-valve='{valve}']")).to_have_attribute("data-closed", "1")
    for step, status in (("isolated", "repairing"), ("repaired", "repaired"), ("restored", "restored")):
        page.click(f"#repair-step[data-step='{step}']")
        expect(page.locator("#order-status")).to_have_attribute("data-status", status)
    expect(page.locator(".outage-ended")).to_be_visible()
    expect(page.locator(".repair-record")).to_contain_text("燃气抢修班 韩磊")
    expect(page.locator("#pane-repair")).not_to_contain_text("null")
    assert page.evaluate("() => document.querySelectorAll('.valve-row').length") == len(shown)
    shot(page, "repair-tablet-restored")

    order.refresh_from_db()
    assert order.status == RepairOrder.Status.RESTORED and order.restored_at is not None
    drawn = pipeline_selectors.repair_order_map(order)
    assert drawn["customers"]["features"] == [] and drawn["pipes"]["features"] == []
    assert order.number not in [f["id"] for f in pipeline_services.pipeline_snapshot(None, None)]
    assert page.errors == []
