"""Under the machine interfaces every error is JSON — an unexpected one names the request id that its log lines
carry — and a page stays a page."""

import logging

import pytest
from django.test import Client, override_settings
from django.urls import include, path

pytestmark = pytest.mark.django_db


def _broken(request):
    raise RuntimeError("a bug")


urlpatterns = [path("api/broken/", _broken), path("", include("cityops.urls"))]


@override_settings(ROOT_URLCONF=__name__)
def test_an_unexpected_error_under_api_is_json_with_the_request_id_in_answer_and_log(caplog):
    client = Client(raise_request_exception=False)
    with caplog.at_level(logging.ERROR, logger="cityops.requests"):
        response = client.get("/api/broken/", HTTP_X_REQUEST_ID="drill-42")
    assert response.status_code == 500 and response["Content-Type"] == "application/json"
    assert response.json() == {
        "error": "server_error",
        "detail": "internal error; quote request id drill-42 to the administrator",
    }
    assert response["X-Request-ID"] == "drill-42"
    record = next(r for r in caplog.records if r.name == "cityops.requests")
    assert record.request_id == "drill-42" and record.exc_info is not None


def test_a_request_id_is_made_when_none_or_a_strange_one_is_given(client):
    made = client.get("/healthz")["X-Request-ID"]
    assert len(made) == 16
    assert client.get("/healthz", HTTP_X_REQUEST_ID="x\r\nSet-Cookie: a=b")["X-Request-ID"] != "x\r\nSet-Cookie: a=b"


def test_a_missing_api_address_is_a_json_404_and_a_missing_page_a_page(client):
    api = client.get("/api/no-such-thing/")
    assert api.status_code == 404 and api.json()["error"] == "not_found"
    page = client.get("/no-such-page/")
    assert page.status_code == 404 and "text/html" in page["Content-Type"]
