"""The planner workbench's query tab in a real browser: pick a layer, build a CQL2 query (an attribute condition
and a district), see the rows and the features on the map, statistics by district, save the query, load it
again after a reload, and export the result as a GeoPackage that GDAL reads."""

import uuid
from pathlib import Path

import pyogrio
import pytest
from django.conf import settings
from django.contrib.gis.geos import GEOSGeometry
from django.db import connection
from playwright.sync_api import expect

from core.models import AdminArea
from gis.models import Address, Road

MAP_READY = "document.body?.dataset.mapReady === '1'"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"

# Transactional, as test_planner: the demo city (re)loaded by `demo_city` is committed, so the server under test
# sees it; the saved query the server writes goes with the flush at the end.
pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def open_query_tab(page, base_url: str):
    page.goto(f"{base_url}/planner/")
    page.wait_for_function(MAP_READY, timeout=60_000)
    page.locator("#planner-tab-query").click()
    expect(page.locator("#planner-pane-query")).to_be_visible()
    expect(page.locator("#planner-pane-network")).to_be_hidden()


def expected_roads():
    """Arterial roads in the first district (intersecting it), and those statistics put in it (more than touching)."""
    district = AdminArea.objects.filter(level=AdminArea.Level.DISTRICT).order_by("code").first()
    hits = Road.objects.filter(road_class="arterial", geom__intersects=district.geom)
    return district, hits.count(), hits.exclude(geom__touches=district.geom).count()


def test_query_a_layer_see_rows_map_and_statistics_save_reload_and_export(page, demo_city, asgi_server, tmp_path):
    district, matched, in_district = expected_roads()
    name = f"主干道-{uuid.uuid4().hex[:6]}"
    page.goto(f"{asgi_server}/login/?next=/planner/")
    page.fill("#id_username", "planner")
    page.fill("#id_password", settings.CITYOPS_DEMO_PASSWORD)
    page.click("form.login-card button[type=submit]")
    page.wait_for_url(f"{asgi_server}/planner/", wait_until="commit")
    open_query_tab(page, asgi_server)
    # The catalog: Chinese titles, the pipes a planner may read, no vehicles (operators only).
    catalog = page.locator("#query-catalog")
    expect(catalog).to_contain_text("道路")
    expect(catalog).to_contain_text("供水管线")
    assert page.locator(".query-layer[data-layer=vehicles]").count() == 0
    page.locator(".query-layer[data-layer=roads]").click()
    expect(page.locator("#query-field-list")).to_contain_text("road_class")

    # An attribute condition and a district.
    page.locator("#query-add-condition").click()
    condition = page.locator(".query-condition").first
    condition.locator(".query-field").select_option("road_class")
    condition.locator(".query-value").fill("arterial")
    page.locator("#query-spatial-op").select_option("S_INTERSECTS")
    page.locator("#query-shape").select_option("district")
    page.locator("#query-district").select_option(district.code)
    text = page.locator("#query-cql2").input_value()
    assert text.startswith("road_class = 'arterial' AND S_INTERSECTS(geometry, MULTIPOLYGON(((")

    page.locator("#query-run").click()
    page.wait_for_function("document.body?.dataset.queryRuns === '1'", timeout=30_000)
    expect(page.locator("#query-matched")).to_contain_text(str(matched))
    assert page.locator("#query-table tbody tr").count() == min(matched, 20)
    assert set(page.locator("#query-table tbody tr td:nth-child(3)").all_inner_texts()) <= {"arterial"}
    on_map = page.evaluate("window.cityopsMap.querySourceFeatures('query-results').map(f => f.properties.fid)")
    assert len(set(on_map)) == matched
    assert page.evaluate("window.cityopsMap.queryRenderedFeatures({layers: ['query-result-lines']}).length") > 0

    # Statistics by district: the picked district holds the roads that are more than touching it.
    page.locator("#query-stats-by").select_option("district")
    page.locator("#query-stats-run").click()
    page.wait_for_function("document.body?.dataset.queryStats === '1'", timeout=30_000)
    row = page.locator(f"#query-stats-table tr[data-code='{district.code}']")
    expect(row.locator("td.count")).to_have_text(str(in_district))
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "planner-query.png")

    # Saved, then loaded again after a reload.
    page.locator("#query-save-name").fill(name)
    page.locator("#query-save").click()
    saved = page.locator("#query-saved-list li", has_text=name)
    expect(saved).to_be_visible()
    page.reload()
    page.wait_for_function(MAP_READY, timeout=60_000)
    page.locator("#planner-tab-query").click()
    saved.locator("button.query-load").click()
    page.wait_for_function("document.body?.dataset.queryRuns === '1'", timeout=30_000)
    assert page.locator("#query-cql2").input_value() == text
    expect(page.locator("#query-matched")).to_contain_text(str(matched))
    expect(page.locator(".query-layer[data-layer=roads]")).to_have_attribute("aria-pressed", "true")

    # Export of the result as a GeoPackage: a real file, with the matched roads.
    page.locator("#query-export-format").select_option("gpkg")
    with page.expect_download() as download_info:
        page.locator("#query-export-link").click()
    path = tmp_path / download_info.value.suggested_filename
    download_info.value.save_as(path)
    assert path.read_bytes()[:16] == b"SQLite format 3\x00"
    frame = pyogrio.read_dataframe(path)
    assert len(frame) == matched and set(frame["road_class"]) == {"arterial"}

    check_distance_from_a_selected_feature_and_a_drawn_polygon(page)

    # Deleted by its owner.
    saved.locator("button.query-delete").click()
    expect(page.locator("#query-saved-list li", has_text=name)).to_have_count(0)
    # On a 10-inch tablet the panel (a bottom sheet) stays on the screen, the map above it.
    page.set_viewport_size({"width": 1280, "height": 800})
    panel = page.locator("#planner-panel").bounding_box()
    assert panel["x"] >= 0 and panel["x"] + panel["width"] <= 1280 and panel["y"] + panel["height"] <= 800
    page.screenshot(path=SCREENSHOTS / "planner-query-tablet.png")
    # Network clicks stay with the network tab: nothing was isolated while querying.
    assert "isolation" not in page.evaluate("Object.keys(document.body.dataset)")
    assert page.errors == []


def check_distance_from_a_selected_feature_and_a_drawn_polygon(page):
    """Addresses within 100 m of a road picked in the result table; then addresses inside a polygon drawn around it."""
    row = page.locator("#query-table tbody tr").first
    road_id = int(row.locator("td").first.inner_text())
    row.locator("button.query-select").click()
    page.locator(".query-layer[data-layer=addresses]").click()
    page.locator("#query-spatial-op").select_option("S_DWITHIN")
    page.locator("#query-shape").select_option("feature")
    page.locator("#query-distance").fill("100")
    assert page.locator("#query-cql2").input_value().startswith("S_DWITHIN(geometry, LINESTRING(")
    page.locator("#query-run").click()
    page.wait_for_function("document.body?.dataset.queryRuns === '2'", timeout=30_000)
    with connection.cursor() as cursor:  # the same question asked of PostGIS's geography type
        cursor.execute(
            "SELECT count(*) FROM geo_address a, geo_road r"
            " WHERE r.id = %s AND ST_DWithin(a.geom::geography, r.geom::geography, 100)",
            [road_id],
        )
        near = cursor.fetchone()[0]
    assert near > 0
    expect(page.locator("#query-matched")).to_contain_text(str(near))

    # A square drawn around the middle of the map.
    page.locator("#query-spatial-op").select_option("S_WITHIN")
    page.locator("#query-shape").select_option("drawn")
    page.locator("#query-draw").click()
    box = page.locator("#planner-map canvas").bounding_box()
    cx, cy = box["x"] + box["width"] * 0.65, box["y"] + box["height"] * 0.5
    for dx, dy in [(-120, -120), (120, -120), (120, 120), (-120, 120)]:
        page.mouse.click(cx + dx, cy + dy)
    page.locator("#query-draw").click()  # finish
    text = page.locator("#query-cql2").input_value()
    assert text.startswith("S_WITHIN(geometry, POLYGON((")
    drawn = GEOSGeometry(text[len("S_WITHIN(geometry, ") : -1], srid=4326)
    page.locator("#query-run").click()
    page.wait_for_function("document.body?.dataset.queryRuns === '3'", timeout=30_000)
    inside = Address.objects.filter(geom__within=drawn).count()
    assert inside > 0
    expect(page.locator("#query-matched")).to_contain_text(str(inside))
