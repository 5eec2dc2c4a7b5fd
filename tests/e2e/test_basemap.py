"""The CityOps base map in a real Chromium: our style, our vector tiles, Chinese labels from local fonts, nothing
fetched from outside (the e2e `page` fixture fails the test on any non-local request)."""

import re
from pathlib import Path

import pytest

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
MAP_READY = "document.body?.dataset.mapReady === '1'"
CJK = re.compile(r"[\u4e00-\u9fff]")

# Reads only, outside a test transaction: `demo_city` (re)loads the city with commits, so the server under test
# sees the accounts it signs in with even after a transactional test flushed the database, and nothing is
# flushed afterwards.
pytestmark = pytest.mark.e2e


def rendered(page, layer: str, prop: str) -> list:
    return page.evaluate(
        "([layer, prop]) => window.cityopsMap.queryRenderedFeatures({layers: [layer]}).map(f => f.properties[prop])",
        [layer, prop],
    )


@pytest.mark.parametrize("style", ["basemap", "basemap-dark"])
def test_basemap_renders_roads_water_boundaries_and_chinese_labels_offline(
    page, demo_city, asgi_server, login, style, django_db_blocker
):
    from core.models import AdminArea

    with django_db_blocker.unblock():
        districts = dict(AdminArea.objects.filter(level=AdminArea.Level.DISTRICT).values_list("code", "name"))
    login(page, asgi_server, "operator")
    page.goto(f"{asgi_server}/tiles/preview/?style={style}")
    page.wait_for_function(MAP_READY, timeout=60_000)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{style}.png")

    assert set(districts.values()) <= set(rendered(page, "district-label", "name"))  # placed once its glyphs exist
    assert all(CJK.search(name) for name in districts.values())
    assert set(rendered(page, "district-boundary", "code")) == set(districts)
    assert {"expressway", "arterial"} <= set(rendered(page, "road-arterial", "road_class")) | set(
        rendered(page, "road-expressway", "road_class")
    )
    assert rendered(page, "water", "kind") and rendered(page, "green", "kind")

    tiles = [url for url in page.requests if url.endswith(".pbf")]
    assert tiles and all("/tiles/basemap/" in url for url in tiles), "only our own tiles; no glyph PBFs"
    assert any(url.endswith(f"/tiles/styles/{style}.json") for url in page.requests)
    assert page.errors == []
