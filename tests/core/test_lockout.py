"""Password guessing: after the failure limit an account is locked, on the login form and on HTTP Basic (the OGC
API's GIS clients) alike — the right password no longer gets in — and anonymous OGC requests are asked for Basic."""

import base64

import pytest
from django.conf import settings
from django.test import Client

pytestmark = pytest.mark.django_db

WRONG = "not-the-password"


def basic(username: str, password: str) -> dict:
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"HTTP_AUTHORIZATION": f"Basic {token}"}


def sign_in(client: Client, username: str, password: str):
    client.get("/login/")
    return client.post("/login/", {"username": username, "password": password})


def test_20_wrong_passwords_lock_the_account_on_the_form(demo_city):
    client = Client()
    assert sign_in(client, "planner", settings.CITYOPS_DEMO_PASSWORD).status_code == 302  # it works before
    client = Client()
    answers = [sign_in(client, "planner", WRONG).status_code for _ in range(20)]
    assert answers[0] == 200 and 429 in answers  # the form's error, then the lock
    locked = sign_in(Client(), "planner", settings.CITYOPS_DEMO_PASSWORD)
    assert locked.status_code == 429 and "锁定" in locked.content.decode()
    assert "_auth_user_id" not in locked.wsgi_request.session


def test_20_wrong_passwords_lock_the_account_on_basic_auth(demo_city):
    client = Client()
    assert client.get("/ogcapi/collections", **basic("planner", settings.CITYOPS_DEMO_PASSWORD)).status_code == 200
    for _ in range(20):
        assert client.get("/ogcapi/collections", **basic("planner", WRONG)).status_code in (401, 429)
    locked = Client().get("/ogcapi/collections", **basic("planner", settings.CITYOPS_DEMO_PASSWORD))
    assert locked.status_code in (401, 429)
    # another account is not affected
    assert Client().get("/ogcapi/collections", **basic("leader", settings.CITYOPS_DEMO_PASSWORD)).status_code == 200


def test_an_anonymous_ogc_request_is_asked_for_basic_auth(demo_city):
    response = Client().get("/ogcapi/collections")
    assert response.status_code == 401 and response["WWW-Authenticate"].startswith("Basic")
