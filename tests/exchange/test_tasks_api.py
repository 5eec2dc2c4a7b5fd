"""Tasks sent down (POST /api/exchange/tasks/): the upper platform's token, one case per task id however often it is
posted, 400s that name the field and change nothing; and the administrators' status and retry endpoints."""

import pytest
from rest_framework.test import APIClient

from core.http_bridge import body_limit
from core.models import AdminArea
from exchange.models import Record
from grid.models import Case

from .conftest import TASK_TOKEN

pytestmark = pytest.mark.django_db
URL = "/api/exchange/tasks/"


@pytest.fixture
def task(demo_city) -> dict:
    spot = AdminArea.objects.filter(level="community").order_by("code").first().geom.point_on_surface
    return {
        "task_id": "GD-2026-000123",
        "category_code": "01002",
        "description": "省平台交办：井盖缺失",
        "address": "深南大道 1 号",
        "location": {"type": "Point", "coordinates": [spot.x, spot.y]},
        "crs": "cgcs2000",
    }


def post(body, token: str | None = TASK_TOKEN):
    client = APIClient()
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    return client.post(URL, body, format="json", **headers)


def test_a_task_creates_one_case_however_often_it_is_posted_and_its_steps_go_up(exchange_on, task):
    before = Case.objects.count()
    first = post(task)
    assert first.status_code == 201, first.content
    again = post(task)
    assert again.status_code == 200 and again.json() == first.json()
    assert Case.objects.count() == before + 1
    case = Case.objects.get(number=first.json()["case_number"])
    assert case.channel == "upper_platform" and case.stage == "reported" and case.reporter is None
    record = Record.objects.get(case=case)
    assert record.payload["case"]["task_id"] == "GD-2026-000123"
    assert record.payload["case"]["source"] == {"code": "upper_platform", "name": "上级交办"}

    changed = post({**task, "description": "另一件事"})
    assert changed.status_code == 409 and changed.json()["field"] == "task_id"
    assert Case.objects.count() == before + 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"task_id": None}, "task_id"),
        ({"task_id": "has spaces in it"}, "task_id"),
        ({"task_id": "x" * 65}, "task_id"),
        ({"category_code": "99999"}, "category_code"),
        ({"category_code": None}, "category_code"),
        ({"location": {"type": "Point", "coordinates": [116.4, 39.9]}}, "location"),  # Beijing: not our city
        ({"location": {"type": "LineString", "coordinates": [[114, 22], [114.1, 22.1]]}}, "location"),
        ({"location": None}, "location"),
        ({"location": None, "lon": "east", "lat": 22.5}, "lon"),
        ({"crs": "mars"}, "crs"),
        ({"description": "长" * 2001}, "description"),
    ],
)
def test_bad_tasks_are_refused_naming_the_field_and_change_nothing(exchange_on, task, change, field):
    body = {k: v for k, v in {**task, **change}.items() if v is not None}
    before = (Case.objects.count(), Record.objects.count())
    response = post(body)
    assert response.status_code == 400, response.content
    assert response.json()["field"] == field
    assert (Case.objects.count(), Record.objects.count()) == before


def test_a_body_that_is_not_an_object_is_refused_and_the_body_is_limited(exchange_on):
    response = post(["not", "a", "task"])
    assert response.status_code == 400 and response.json()["field"] == "body"
    assert body_limit(URL) == 64 * 1024  # refused by the server before it is read (core/http_bridge.py)


def test_without_the_token_nothing_is_taken(exchange_on, task, settings):
    before = Case.objects.count()
    assert post(task, token=None).status_code == 401
    assert post(task, token="guessed").status_code == 401
    settings.CITYOPS_EXCHANGE_TASK_TOKEN = ""
    assert post(task).status_code == 403  # off until the city sets a token
    assert Case.objects.count() == before


def test_status_and_retry_are_for_administrators(exchange_on, task, api):
    case_number = post(task).json()["case_number"]
    assert api("calltaker").get("/api/exchange/status/").status_code == 403
    status = api("admin").get("/api/exchange/status/").json()
    assert status["enabled"] is True and status["pending"] >= 1 and status["failed"] == 0
    retry = f"/api/exchange/records/{case_number}-0001/retry/"
    assert api("calltaker").post(retry).status_code == 403
    refused = api("admin").post(retry)
    assert refused.status_code == 409 and refused.json()["error"] == "not_failed"
    Record.objects.filter(record_id=f"{case_number}-0001").update(state="failed", last_status=422, last_error="bad")
    assert api("admin").get("/api/exchange/status/").json()["failed_records"][0]["last_error"] == "bad"
    assert api("admin").post(retry).json() == {"record_id": f"{case_number}-0001", "state": "pending"}
    assert api("admin").post("/api/exchange/records/nope/retry/").status_code == 400
