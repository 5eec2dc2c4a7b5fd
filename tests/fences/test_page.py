"""The fence editor /fences/ is the editors' screen: operators and admins open it (and find it in the menu); the
roles that only read fences through the API get 403, anonymous users the login page."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def _client(user_for, username: str) -> Client:
    client = Client()
    client.force_login(user_for(username))
    return client


@pytest.mark.parametrize(
    ("username", "status"), [("operator", 200), ("admin", 200), ("calltaker", 403), ("leader", 403)]
)
def test_the_editor_is_for_operators_and_admins(user_for, username, status):
    client = _client(user_for, username)
    response = client.get("/fences/")
    assert response.status_code == status
    assert ('href="/fences/"' in client.get("/").content.decode()) is (status == 200)
    if status == 200:
        assert 'src="/static/frontend/fences/fences.js"' in response.content.decode()


def test_anonymous_users_are_sent_to_the_login_page():
    response = Client().get("/fences/")
    assert response.status_code == 302 and response.url.startswith("/login/")
