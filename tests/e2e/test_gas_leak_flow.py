"""The flagship cross-domain flow in real browsers: a 119 gas-leak call in the dispatcher console links 110 and
119 and opens a pipeline repair order; the leader's situation map shows the isolated pipes, the outage, the valves
to close and the customers, follows a valve reported closed without a reload, and its HTML, PNG and PDF reports
draw those pipes."""

import re
import time

import pytest
from playwright.sync_api import expect

from pipelines_mgmt.models import Pipe, RepairOrder, Utility
from tests.report_images import colour_pixels, pdf_first_page

from .test_dispatch_console import MAP_READY, click_map_at, open_console
from .test_wall import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def gas_main_point() -> tuple[float, float]:
    """Beside the middle of a gas main near the middle of the city (within the 150 m the burst search allows)."""
    pipes = Pipe.objects.filter(network__utility=Utility.GAS, link_type=Pipe.LinkType.PIPE).order_by("pk")
    pipe = pipes[len(pipes) // 2]
    middle = pipe.geom.interpolate_normalized(0.5)
    return middle.x + 0.0001, middle.y + 0.00008


def post_json(page, url: str, body: dict) -> dict:
    """A signed-in POST from the page itself, as the console's own code sends one (session cookie and CSRF token)."""
    return page.evaluate(
        """async ([url, body]) => {
          const token = document.cookie.split("; ").find((c) => c.startsWith("csrftoken="))?.split("=")[1] ?? "";
          const response = await fetch(url, {method: "POST", body: JSON.stringify(body),
            headers: {"Content-Type": "application/json", "X-CSRFToken": token}});
          return {status: response.status, body: await response.json()};
        }""",
        [url, body],
    )


def test_gas_leak_call_to_repair_order_to_live_situation_map_and_reports(
    page, workstations, demo_city, asgi_server, tmp_path
):
    # The call: a gas smell beside a main, placed on the map by the call taker.
    open_console(page, asgi_server)
    page.fill("#caller-number", "13612340000")
    page.select_option("#type-code", "119-GAS-LEAK")
    expect(page.locator("#priority")).to_have_value("1")
    click_map_at(page, *gas_main_point())
    expect(page.locator("#location-picked")).to_have_attribute("data-set", "1")
    page.fill("#description", "楼下闻到很浓的燃气味")
    page.click("#intake-submit")
    detail = page.locator("#detail-body")
    expect(detail).to_have_attribute("data-id", re.compile(r"^\d+$"), timeout=15_000)
    incident_id = int(detail.get_attribute("data-id"))

    # 119 leads, 110 is linked by the plan: both shown as linked in the console.
    for agency in ("110", "119"):
        expect(page.locator(f'#agency-toggles [data-agency="{agency}"]')).to_have_attribute("aria-pressed", "true")

    # The repair order the incident opened (after its commit, in the server).
    order = wait_for(lambda: RepairOrder.objects.filter(incident_id=incident_id).first())
    isolation = order.isolation
    pipes = isolation["isolated"]["pipe_count"] + isolation["outage"]["pipe_count"]
    assert isolation["isolated"]["pipe_count"] > 0 and order.valves_to_close

    # The leader's situation map shows the whole isolation.
    leader = workstations(1366, 768)
    sign_in(leader, asgi_server, "leader", f"/leader/incidents/{incident_id}/")
    leader.wait_for_function(MAP_READY, timeout=60_000)
    expect(leader.locator("#fact-isolation")).to_contain_text(order.number)
    expect(leader.locator("#fact-isolation")).to_contain_text(f"0/{len(order.valves_to_close)}")
    expect(leader.locator("#isolation-legend")).to_be_visible()
    drawn = source_sizes(leader)
    assert drawn == {
        "pipes": pipes,
        "valves": len(order.valves_to_close),
        "customers": isolation["customers"]["count"],
        "closed": 0,
    }

    # The crew reports the first valve closed (an operator's workstation); the map follows without a reload.
    operator = workstations(1366, 768)
    sign_in(operator, asgi_server, "operator", "/wall/")
    answer = post_json(
        operator,
        f"/api/pipelines/repair-orders/{order.number}/valves-closed/",
        {"valve": order.valves_to_close[0]["id"]},
    )
    assert answer["status"] == 200, answer
    expect(leader.locator("#fact-isolation")).to_contain_text(f"1/{len(order.valves_to_close)}", timeout=15_000)
    leader.wait_for_function(
        "() => window.cityopsMap.querySourceFeatures('valves').some((f) => f.properties.closed)", timeout=15_000
    )
    assert source_sizes(leader)["closed"] == 1

    # Its reports: the HTML embeds the pipes, the PNG and the PDF draw them.
    for fmt in ("html", "png", "pdf"):
        link = leader.locator(f'.exports a[href*="situation.{fmt}"]')
        response = leader.request.get(asgi_server + link.get_attribute("href"))
        assert response.status == 200, (fmt, response.status)
        target = tmp_path / f"situation.{fmt}"
        target.write_bytes(response.body())
    html = (tmp_path / "situation.html").read_text(encoding="utf-8")
    for cause in ("isolated", "outage"):
        for pipe in isolation[cause]["pipes"]["features"]:
            assert f'"{pipe["properties"]["code"]}"' in html
    for picture in (tmp_path / "situation.png", pdf_first_page(tmp_path / "situation.pdf")):
        assert colour_pixels(picture) > 20, picture.name

    leader.screenshot(path=tmp_path / "situation-map.png")
    for workstation in (page, leader, operator):
        assert workstation.errors == []


def wait_for(find, timeout_s: float = 20.0):
    deadline = time.monotonic() + timeout_s
    while (found := find()) is None:
        assert time.monotonic() < deadline, "not there in time"
        time.sleep(0.2)
    return found


def source_sizes(page) -> dict:
    """What the situation map holds in its isolation sources (the GeoJSON handed to MapLibre)."""
    return page.evaluate(
        """() => {
          const data = (id) => window.cityopsMap.getSource(id).serialize().data.features;
          return {pipes: data("pipes").length, valves: data("valves").length, customers: data("customers").length,
                  closed: data("valves").filter((f) => f.properties.closed).length};
        }"""
    )
