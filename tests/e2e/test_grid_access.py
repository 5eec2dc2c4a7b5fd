"""The city-management pages over HTTP: who may open which screen, and what the tablet PWA serves from /m/."""

import json
import re

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def signed_in(user_for, username):
    client = Client()
    client.force_login(user_for(username))
    return client


@pytest.mark.parametrize(
    ("path", "allowed", "refused"),
    [
        ("/grid/", ["griddispatcher", "leader", "operator", "admin"], ["inspector", "depthandler", "planner"]),
        ("/m/", ["inspector", "admin"], ["griddispatcher", "depthandler", "leader"]),
        ("/dept/", ["depthandler", "admin"], ["inspector", "griddispatcher", "operator"]),
    ],
)
def test_each_screen_opens_for_its_roles_only(user_for, path, allowed, refused):
    for username in allowed:
        assert signed_in(user_for, username).get(path).status_code == 200, username
    for username in refused:
        assert signed_in(user_for, username).get(path).status_code == 403, username
    response = Client().get(path)
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_pages_pass_translated_labels_and_the_actions_the_roles_allow(user_for):
    page = signed_in(user_for, "griddispatcher").get("/grid/").content.decode()
    config = json.loads(re.search(r'<script id="grid-config" type="application/json">(.*?)</script>', page).group(1))
    assert config["actions"]["filed"] == ["dispatch"]  # a dispatcher dispatches; filing is the call taker's
    assert config["actions"]["reported"] == []
    assert config["actionLabels"]["file"] == "受理立案"  # not "文件": the label has its own context
    assert config["stageLabels"]["handled"] == "已处置"

    english = signed_in(user_for, "griddispatcher")
    english.cookies["django_language"] = "en"
    page = english.get("/grid/").content.decode()
    assert "Case center" in page and '"file": "File"' in page


def test_tablet_service_worker_and_manifest_are_served_from_its_scope(client):
    worker = client.get("/m/sw.js")  # public: it must update even when the session has expired
    assert worker.status_code == 200
    assert worker["Content-Type"].startswith("text/javascript")
    assert "no-cache" in worker["Cache-Control"]
    body = worker.content.decode()
    version = re.search(r'const VERSION = "([0-9a-f]{16})"', body).group(1)
    shell = json.loads(re.search(r"const SHELL = (\[.*?\]);", body).group(1))
    assert shell[0] == "/m/" and "/static/frontend/grid/tablet-outbox.js" in shell
    for url in shell[1:]:
        assert client.get(url).status_code == 200, url  # every file of the shell exists
    assert client.get("/m/sw.js").content.decode().count(version) == 1  # stable while nothing changes

    manifest = client.get("/m/manifest.webmanifest")
    assert manifest["Content-Type"] == "application/manifest+json"
    data = manifest.json()
    assert data["scope"] == "/m/" and data["start_url"] == "/m/" and data["display"] == "standalone"
    assert {icon["sizes"] for icon in data["icons"]} == {"192x192", "512x512"}
    for icon in data["icons"]:
        assert client.get(icon["src"]).status_code == 200
