"""Track replay in a real browser: a unit's stored track (the constructed one of tests/trips) loaded on /replay/;
moving the slider moves the vehicle's marker along the stored fixes (its position read at two slider positions and
compared with the fixes); a stop in the list jumps the slider to its time; no page errors. Screenshots at wall,
laptop and tablet size in var/screenshots, and of the reports page."""

import pytest
from playwright.sync_api import expect

from tests.trips.test_reports import MINUTES, at, police_car  # noqa: F401 - the constructed track

from .test_resources import SCREENSHOTS, SIZES
from .test_wall import MAP_IDLE, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def fixes_of(car) -> dict[int, tuple[float, float]]:
    """The stored fixes (epoch ms → lon, lat) as the track table holds them, read in a thread of its own."""
    from concurrent.futures import ThreadPoolExecutor

    def read():
        from django.db import connection

        from dispatch.models import TrackPoint

        try:
            # the constructed track's own terminal: live fixes an earlier test left for this car are not its track
            rows = TrackPoint.objects.filter(vehicle_id=car.pk, terminal="track-test").values_list("fix_time", "geom")
            return {int(t.timestamp() * 1000): geom.coords for t, geom in rows}
        finally:
            connection.close()

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(read).result()


def load_replay(page, base_url: str, car) -> None:
    sign_in(page, base_url, "operator", "/replay/")
    page.wait_for_function("document.body.dataset.ready === 'true'", timeout=60_000)
    page.fill("#vehicle-search", car.call_sign)
    page.locator(f'#vehicle-hits button[data-id="{car.pk}"]').click(timeout=15_000)
    expect(page.locator("#vehicle-chosen li")).to_have_count(1)
    local = (
        "(iso) => { const d = new Date(iso); d.setMinutes(d.getMinutes() - d.getTimezoneOffset());"
        " return d.toISOString().slice(0, 16); }"
    )
    page.fill("#replay-from", page.evaluate(local, at(-10).isoformat()))
    page.fill("#replay-to", page.evaluate(local, at(70).isoformat()))
    page.click("#replay-load")
    page.wait_for_function("window.cityopsReplay && window.cityopsReplay.replay.vehicles[0].points.length > 0")
    page.evaluate(MAP_IDLE)


def marker_at_slider(page, value: int) -> tuple[float, float, float]:
    page.locator("#slider").fill(str(value))
    return page.evaluate(
        "() => { const r = window.cityopsReplay; const p = [...r.markers.values()][0].getLngLat();"
        " return [p.lng, p.lat, r.clock.time]; }"
    )


def test_the_slider_moves_the_marker_along_the_stored_track(workstations, police_car, asgi_server):  # noqa: F811
    page = workstations(*SIZES["wall"])
    load_replay(page, asgi_server, police_car)
    fixes = fixes_of(police_car)
    assert len(fixes) == len(MINUTES)
    start, end = at(-10).timestamp() * 1000, at(70).timestamp() * 1000
    # Slider positions at exactly 08:20 (a fix) and 08:25:30 (half-way between the fixes of 08:25 and 08:26).
    for minute in (20, 25.5):
        value = round((minute + 10) / 80 * 1000)
        lon, lat, t = marker_at_slider(page, value)
        assert t == pytest.approx(start + value / 1000 * (end - start))
        before = max(ms for ms in fixes if ms <= t)
        after = min(ms for ms in fixes if ms > t)
        share = (t - before) / (after - before)
        expected = [a + (b - a) * share for a, b in zip(fixes[before], fixes[after], strict=True)]
        assert (lon, lat) == (pytest.approx(expected[0], abs=1e-7), pytest.approx(expected[1], abs=1e-7))
    assert marker_at_slider(page, 375)[1] > marker_at_slider(page, 375 - 63)[1]  # further north, later on
    stops = page.locator("#event-list li.stop button")
    expect(stops).to_have_count(3)
    stops.nth(1).click()
    assert page.evaluate("window.cityopsReplay.clock.time") == at(30).timestamp() * 1000
    lon, lat = page.evaluate(
        "() => { const p = [...window.cityopsReplay.markers.values()][0].getLngLat(); return [p.lng, p.lat]; }"
    )
    assert (lon, lat) == (
        pytest.approx(fixes[int(at(30).timestamp() * 1000)][0]),
        pytest.approx(fixes[int(at(30).timestamp() * 1000)][1]),
    )
    page.click("#play")
    page.wait_for_function(f"window.cityopsReplay.clock.time > {at(31).timestamp() * 1000}", timeout=15_000)
    expect(page.locator("#player")).to_contain_text("暂停")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "replay-wall.png")
    for size in ("laptop", "tablet"):
        other = workstations(*SIZES[size])
        load_replay(other, asgi_server, police_car)
        other.screenshot(path=SCREENSHOTS / f"replay-{size}.png")
        assert other.errors == []
    assert page.errors == []


def test_reports_page_lists_and_charts_a_report(workstations, police_car, asgi_server):  # noqa: F811
    page = workstations(*SIZES["laptop"])
    sign_in(page, asgi_server, "operator", "/trips/")
    page.wait_for_function("document.body.dataset.ready === 'true'", timeout=60_000)
    page.fill("#report-from", at(0).date().isoformat())
    page.fill("#report-to", at(0).date().isoformat())
    page.fill("input[name=vehicles]", str(police_car.pk))
    page.click("#report-form button[type=submit]")
    expect(page.locator("#rows-table tbody tr")).to_have_count(2)
    expect(page.locator("#report-chart rect")).to_have_count(1)
    assert "format=xlsx" in page.get_attribute("#export-xlsx", "href")
    page.screenshot(path=SCREENSHOTS / "trips-reports-laptop.png")
    assert page.errors == []
