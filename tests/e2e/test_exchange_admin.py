"""The operator's view of the upward exchange (admin → 交换记录) in a real browser: the counts by state, a failed
record with the receiver's reason, and the action that queues it again."""

from pathlib import Path

import pytest
from django.contrib.gis.geos import Point

from core.models import AdminArea, User
from exchange.models import Record
from grid import services as grid

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_failed_record_is_shown_with_its_reason_and_sent_again_from_the_admin(
    workstations, demo_city, asgi_server, settings
):
    settings.CITYOPS_EXCHANGE_URL = "http://127.0.0.1:9/records"  # recorded here; nothing is pushed in this test
    spots = [a.geom.point_on_surface for a in AdminArea.objects.filter(level="community").order_by("code")[:3]]
    calltaker = User.objects.get(username="calltaker")
    for i, spot in enumerate(spots):
        grid.report_case(calltaker, grid.Report("01002", Point(spot.x, spot.y, srid=4326), f"第{i}件"))
    refused = Record.objects.order_by("id").first()
    Record.objects.filter(pk=refused.pk).update(
        state="failed", attempts=1, last_status=422, last_error='{"error": "字段 case.grid_code 无效"}'
    )
    Record.objects.exclude(pk=refused.pk).update(state="sent", attempts=1, last_status=200)

    page = workstations(1366, 768)
    page.goto(f"{asgi_server}/admin/login/?next=/admin/exchange/record/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", settings.CITYOPS_DEMO_PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/exchange/record/")
    status = page.locator("#exchange-status")
    assert status.locator('[data-state="failed"]').inner_text() == "1"
    assert status.locator('[data-state="sent"]').inner_text() == "2"
    row = page.locator("#result_list tbody tr", has_text=refused.record_id)
    assert "case.grid_code" in row.inner_text() and "422" in row.inner_text()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "exchange-admin-failed.png", full_page=True)

    row.locator("input.action-select").check()
    page.select_option("select[name=action]", "retry_failed")
    page.click("button[name=index]")
    page.wait_for_selector(".messagelist .success")
    assert "1" in page.locator(".messagelist").inner_text()
    refused.refresh_from_db()
    assert refused.state == "pending"
    assert page.locator('#exchange-status [data-state="pending"]').inner_text() == "1"
    page.screenshot(path=SCREENSHOTS / "exchange-admin-retried.png", full_page=True)
    assert not page.errors
