"""The planner workbench in a real browser: click a pipe, see the valves to close, re-plan, open the repair order."""

from pathlib import Path

import pytest
from playwright.sync_api import expect

from pipelines_mgmt.graph import network_graph
from pipelines_mgmt.models import Network, Pipe, Valve

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
MAP_READY = "document.body?.dataset.mapReady === '1'"

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def burst_pipe_with_several_valves() -> tuple[Pipe, list[str]]:
    """A long water pipe (easy to hit) whose isolation needs at least two valves; and their codes."""
    network = Network.objects.get(code="sz-water")
    graph = network_graph(network.pk).isolation
    for pipe in Pipe.objects.filter(network=network, link_type="pipe", length_m__gt=120).order_by("id"):
        plan = graph.isolate_burst(pipe.pk)
        if len(plan.valves_to_close) >= 2:
            codes = dict(Valve.objects.filter(pk__in=plan.valves_to_close).values_list("pk", "code"))
            return pipe, sorted(codes[pk] for pk in plan.valves_to_close)
    raise AssertionError("the demo water network has no pipe isolated by two valves")


def click_on(page, lon: float, lat: float) -> None:
    """Centre the map on a point at street zoom, wait until drawn, and click there with the mouse."""
    x, y = page.evaluate(
        """async ([lon, lat]) => {
            const map = window.cityopsMap;
            map.jumpTo({center: [lon, lat], zoom: 18});
            await map.once("idle");
            const point = map.project([lon, lat]);
            const box = map.getCanvas().getBoundingClientRect();
            return [box.left + point.x, box.top + point.y];
        }""",
        [lon, lat],
    )
    page.mouse.click(x, y)


def rendered(page, layer: str, prop: str) -> set:
    return set(
        page.evaluate(
            "([layer, prop]) => window.cityopsMap.queryRenderedFeatures({layers: [layer]})"
            ".map(f => f.properties[prop])",
            [layer, prop],
        )
    )


def listed_valves(page) -> list[str]:
    return page.locator("#planner-valves li .what").evaluate_all(
        "items => items.map(item => item.firstChild.textContent.trim())"
    )


def test_click_a_pipe_shows_valves_replans_and_opens_the_repair_order(page, demo_city, asgi_server, login):
    pipe, expected_valves = burst_pipe_with_several_valves()
    middle = pipe.geom.interpolate_normalized(0.5)
    login(page, asgi_server, "operator")
    page.goto(f"{asgi_server}/planner/")
    page.wait_for_function(MAP_READY, timeout=60_000)
    assert {"sz-water", "sz-gas"} <= rendered(page, "pipes-sz-water", "network") | rendered(
        page, "pipes-sz-gas", "network"
    )

    click_on(page, middle.x, middle.y)
    page.wait_for_function("document.body?.dataset.isolation === '1'", timeout=30_000)
    expect(page.locator("#planner-burst-pipe")).to_contain_text(pipe.code)
    valves = listed_valves(page)
    assert sorted(valves) == expected_valves
    # The valves to close are drawn on the map, numbered in closing order.
    assert rendered(page, "isolation-valves", "code") == set(valves)
    assert rendered(page, "isolation-valve-labels", "order") == set(range(1, len(valves) + 1))
    assert pipe.pk in rendered(page, "isolation-pipes", "pipe_id") | {
        f["id"] for f in page.evaluate("window.cityopsMap.querySourceFeatures('isolation')")
    }
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "planner-isolation.png")

    # The longitudinal profile of the burst pipe: an SVG chart with the ground and the pipe crown.
    page.locator("#planner-order-actions button").first.click()
    expect(page.locator("#planner-profile")).to_be_visible()
    expect(page.locator("#planner-profile-chart svg path.ground")).to_have_count(1)
    expect(page.locator("#planner-profile-chart svg path.crown")).to_have_count(1)

    # The crew reports that the first valve will not close: the plan extends past it.
    failed = valves[0]
    page.locator("#planner-valves li").first.locator("button.mark-failed").click()
    page.wait_for_function("document.body?.dataset.isolation === '2'", timeout=30_000)
    replanned = listed_valves(page)
    assert failed not in replanned and replanned != valves
    expect(page.locator("#planner-failed")).to_contain_text(failed)
    assert failed not in rendered(page, "isolation-valve-labels", "code")

    page.locator("#planner-open-order").click()
    link = page.locator("#planner-order-print")
    expect(link).to_be_visible(timeout=30_000)
    number = page.locator("#planner-order-number").get_attribute("data-number")
    expect(page.locator("#planner-order-number")).to_contain_text(number)
    pdf = page.request.get(asgi_server + page.locator("#planner-order-pdf").get_attribute("href"))
    assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.body().startswith(b"%PDF-")

    page.goto(asgi_server + link.get_attribute("href"))
    expect(page.locator("body")).to_contain_text(number)
    assert page.locator("table").nth(1).locator("tr").count() == len(replanned) + 1  # header + one row per valve

    # In one test: a browser test flushes the database, and reloading the demo city costs minutes.
    check_layers_and_the_profile_of_a_run(page, asgi_server)
    assert page.errors == []


def check_layers_and_the_profile_of_a_run(page, asgi_server):
    """Clearance violations and replacement warnings on the map and listed; a run between two clicks, profiled."""
    pipes = list(Pipe.objects.filter(network__code="sz-water", link_type="pipe", length_m__gt=120).order_by("id"))
    page.goto(f"{asgi_server}/planner/")
    page.wait_for_function(MAP_READY, timeout=60_000)

    page.locator("#planner-layer-clearances").check()
    expect(page.locator("#planner-clearance-list li").first).to_be_visible(timeout=60_000)
    # The map draws them once its worker has taken the data in: poll rather than read once.
    page.wait_for_function("window.cityopsMap.querySourceFeatures('clearances').length > 0", timeout=30_000)
    page.locator("#planner-layer-warnings").check()
    expect(page.locator("#planner-warning-list li").first).to_be_visible(timeout=30_000)
    page.locator("#planner-warning-list li button").first.click()  # flies to the most urgent one
    page.wait_for_function(
        "window.cityopsMap.queryRenderedFeatures({layers: ['warnings-pipes', 'warnings-valves']}).length > 0",
        timeout=30_000,
    )

    page.locator("input[name=planner-mode][value=connectivity]").check()
    for pipe in (pipes[0], pipes[3]):
        middle = pipe.geom.interpolate_normalized(0.5)
        click_on(page, middle.x, middle.y)
    page.locator("#planner-result .planner-actions button").click(timeout=30_000)
    expect(page.locator("#planner-profile-chart svg path.crown")).to_have_count(1)
    expect(page.locator("#planner-profile-note")).to_contain_text("高程")
    page.screenshot(path=SCREENSHOTS / "planner-profile.png")
