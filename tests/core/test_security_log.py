"""The security audit log, the password policy, the production start-up refusals, the caps on costly work, and
command-centre scope as explicit data — each through the interface an attacker or an administrator would use."""

import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import Client

from core import health, limits
from core.models import AuditEntry, Organisation, Role, User
from dispatch.models import Incident

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


def sign_in(client: Client, username: str, password: str, address: str = "10.20.30.40"):
    client.get("/login/")
    return client.post("/login/", {"username": username, "password": password}, REMOTE_ADDR=address)


def security_log(action: str):
    return AuditEntry.objects.filter(action=action).order_by("-at")


def test_sign_ins_and_failures_are_logged_with_the_address_and_never_the_password(demo_city):
    assert sign_in(Client(), "planner", settings.CITYOPS_DEMO_PASSWORD).status_code == 302
    signed_in = security_log("auth.signed_in").first()
    assert signed_in.actor.username == "planner" and signed_in.source == "10.20.30.40"
    sign_in(Client(), "planner", "guess-1", address="10.9.9.9")
    sign_in(Client(), "nobody-here", "guess-2", address="10.9.9.9")
    failed = list(security_log("auth.sign_in_failed"))
    assert {(entry.summary, entry.source) for entry in failed} == {("planner", "10.9.9.9"), ("nobody-here", "10.9.9.9")}
    assert {entry.target_id for entry in failed} == {str(User.objects.get(username="planner").pk), ""}
    assert not AuditEntry.objects.filter(summary__contains="guess").exists()
    assert not AuditEntry.objects.filter(changes__icontains="guess").exists()


def test_the_admin_lists_security_events_apart_from_data_changes(demo_city, api):
    sign_in(Client(), "planner", "wrong-password")
    admin = Client()
    admin.force_login(User.objects.get(username="admin"))
    security = {e.action for e in admin.get("/admin/core/auditentry/?category=security").context["cl"].result_list}
    assert "auth.sign_in_failed" in security
    assert all(action.startswith(("auth.", "permission.", "device.", "export.")) for action in security)
    data = {e.action for e in admin.get("/admin/core/auditentry/?category=data").context["cl"].result_list}
    assert not any(action.startswith(("auth.", "permission.", "device.", "export.")) for action in data)


def test_role_and_account_changes_are_logged_whoever_makes_them(demo_city):
    planner = User.objects.get(username="planner")
    planner.groups.add(Group.objects.get(name=Role.ADMIN))
    added = security_log("permission.roles_added").first()
    assert added.target_id == str(planner.pk) and added.changes == {"roles": [Role.ADMIN]}
    planner.is_superuser = True
    planner.save()
    changed = security_log("permission.account_changed").first()
    assert changed.changes == {"is_superuser": [False, True]}


def test_layer_exports_and_reports_are_logged(demo_city, api):
    assert api("planner").get("/api/gis/layers/roads/export/?f=geojson").status_code == 200
    export = security_log("export.layer").first()
    assert export.actor.username == "planner" and export.summary == "roads (geojson)"
    assert export.changes["query"]["f"] == "geojson"


def hold_every_slot(kind: str, settings):
    """Another process's work holding all of the installation's `kind` slots: its own connection's locks."""
    conn = health.probe_connection()
    space = limits._lock_space(kind)
    taken = [conn.execute("SELECT pg_try_advisory_lock(%s, %s)", (space, n)).fetchone()[0]
             for n in range(settings.CITYOPS_CONCURRENT_LIMITS[kind])]  # fmt: skip
    assert all(taken)
    return conn


def test_exports_beyond_the_installations_cap_are_told_to_come_back(demo_city, api, settings):
    elsewhere = hold_every_slot("export", settings)
    try:
        answer = api("planner").get("/api/gis/layers/roads/export/?f=geojson")
        assert answer.status_code == 429 and answer["Retry-After"]
        assert "too many exports" in answer.json()["detail"]
    finally:
        elsewhere.close()  # as when that process ends or dies: its slots go with its connection
    assert api("planner").get("/api/gis/layers/roads/export/?f=geojson").status_code == 200


def test_an_export_whose_slots_cannot_be_reached_is_a_503_to_retry(demo_city, api, settings):
    """The caps' own connection finds no database (busy, failing over): the client is told to retry, not a 500."""
    api("planner")  # signed in first, on the request's own connection
    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        settings.DATABASES = {"default": {**settings.DATABASES["default"], "PORT": closed.getsockname()[1]}}
    answer = api("planner").get("/api/gis/layers/roads/export/?f=geojson")
    assert answer.status_code == 503 and answer.json()["error"] == "unavailable"
    assert "export" in answer.json()["detail"]


def test_a_slot_is_given_back_when_the_work_fails(settings):
    with pytest.raises(RuntimeError), limits.slot("render"):
        raise RuntimeError("chromium died")
    hold_every_slot("render", settings).close()  # every slot was free again
    done = threading.Event()

    def render():
        with limits.slot("render"):
            done.set()

    thread = threading.Thread(target=render)
    thread.start()
    thread.join(5)
    assert done.is_set()


def test_a_slot_waits_for_one_to_free_before_it_refuses(settings):
    elsewhere = hold_every_slot("render", settings)
    threading.Timer(0.5, elsewhere.close).start()
    with limits.slot("render", wait_s=5):
        pass  # taken once the other work ended, not refused


@pytest.mark.parametrize(
    ("password", "accepted"),
    [("short1A!", False), ("alllowercaseletters", False), ("1234567890123", False), ("Cityops-2026-duty", True)],
)
def test_password_policy(password, accepted, demo_city):
    user = User.objects.get(username="planner")
    if accepted:
        validate_password(password, user)
    else:
        with pytest.raises(ValidationError):
            validate_password(password, user)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"CITYOPS_SECRET_KEY": "cityops-insecure-demo-key-set-CITYOPS_SECRET_KEY-in-production"}, "SECRET_KEY"),
        ({"CITYOPS_SECRET_KEY": "too-short"}, "SECRET_KEY"),
        ({"CITYOPS_SECRET_KEY": "a" * 80}, "SECRET_KEY"),
        ({"CITYOPS_SECRET_KEY": "Kx7-pQ2_zR9" * 6, "CITYOPS_DEBUG": "1"}, "CITYOPS_DEBUG"),
    ],
)
def test_production_refuses_to_start_on_a_known_or_weak_secret_or_with_debug(env, message):
    environment = {
        **os.environ,
        "CITYOPS_ENV": "production",
        "CITYOPS_ALLOWED_HOSTS": "cityops.example.gov.cn",
        "CITYOPS_DEBUG": "0",
        **env,
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0 and message in result.stderr


def test_a_city_management_call_taker_is_not_a_joint_dispatch_centre(demo_live, api):
    """The 数字城管 centre's call taker (role call_taker, organisation without an area) commands cases, not
    incidents: a 120 incident is a 404 to read, to close, and its caller's number never shows."""
    centre = Organisation.objects.get(code="SZ-UMC")
    assert centre.area_id is None and centre.oversees == ["grid"]
    incident = Incident.objects.filter(agencies__contains=["119"]).first()
    clerk = api("gridclerk")
    assert clerk.get(f"/api/dispatch/incidents/{incident.pk}/").status_code == 404
    closing = clerk.post(f"/api/dispatch/incidents/{incident.pk}/status/", {"status": "closed"}, format="json")
    assert closing.status_code in (403, 404)
    incident.refresh_from_db()
    assert incident.status != "closed"
    listed = clerk.get("/api/dispatch/incidents/?status=all")
    assert listed.status_code == 403 or listed.json()["features"] == []
    # and the same desk's case centre still sees every department's cases
    assert clerk.get("/api/grid/cases/?limit=5").status_code == 200
