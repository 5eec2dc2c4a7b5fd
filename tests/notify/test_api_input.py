"""Bad input to the notify API is a 4xx naming the field, and stores nothing; sending is for operators, leaders
and admins."""

import pytest

from core.models import AuditEntry
from notify.models import Delivery, Notification, PublicWarning

pytestmark = pytest.mark.django_db

GOOD = {"subject": "测试", "body": "测试通知", "channels": ["in_app"], "users": ["calltaker"]}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"channels": ["fax"]}, "channels"),
        ({"channels": []}, "channels"),
        ({"users": []}, "recipients"),
        ({"users": ["nobody-here"]}, "users[0]"),
        ({"body": "长" * 2001}, "body"),
        ({"channels": ["sms"], "users": [], "contacts": [{"address": "13800138000"}], "body": "长" * 336}, "body"),
        ({"channels": ["sms"], "users": [], "contacts": [{"address": "12-ab"}]}, "contacts[0]"),
        ({"channels": ["sms"], "users": [], "contacts": [{"address": "a@b"}]}, "contacts[0]"),
        ({"channels": ["email"], "users": [], "contacts": [{"address": "13800138000"}]}, "contacts[0]"),
        ({"subject": ""}, "subject"),
        ({"severity": "apocalyptic"}, "severity"),
        ({"template": "no-such-template"}, "template"),
        ({"roles": ["emperor"]}, "roles[0]"),
        ({"escalation": ["leader"]}, "escalation"),
        ({"ack_within_minutes": 0}, "ack_within_minutes"),
    ],
)
def test_bad_input_names_the_field_and_stores_nothing(api, change, field):
    response = api("operator").post("/api/notify/notifications/", {**GOOD, **change}, format="json")
    assert response.status_code == 400, response.json()
    assert response.json()["field"] == field
    assert not Notification.objects.exists() and not Delivery.objects.exists()


def test_a_good_notification_is_created_with_its_deliveries_queued(api):
    response = api("operator").post(
        "/api/notify/notifications/",
        {**GOOD, "roles": ["leader"], "organisation": "SZ-GOV", "about": {"app": "dispatch", "id": "7", "label": "J1"}},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert {d["recipient"] for d in body["deliveries"]} >= {"calltaker", "leader", "districtleader"}
    assert {d["state"] for d in body["deliveries"]} == {"queued"}
    assert body["about"] == {"app": "dispatch", "id": "7", "label": "J1"}
    assert AuditEntry.objects.filter(action="notify.send", target_id=str(body["id"])).exists()


@pytest.mark.parametrize("username", ["calltaker", "planner", "inspector"])
def test_only_operators_leaders_and_admins_send(api, username):
    assert api(username).post("/api/notify/notifications/", GOOD, format="json").status_code == 403
    assert api(username).post("/api/notify/warnings/", {}, format="json").status_code == 403
    assert not Notification.objects.exists() and not PublicWarning.objects.exists()


def test_templates_are_written_by_admins_and_fill_placeholders(api):
    template = {"code": "gas-leak", "name": "燃气泄漏", "subject": "{place}燃气泄漏", "body": "请{team}立即出发。"}
    assert api("operator").post("/api/notify/templates/", template, format="json").status_code == 403
    created = api("admin").post("/api/notify/templates/", template, format="json")
    assert created.status_code == 201, created.json()
    missing = api("operator").post(
        "/api/notify/notifications/",
        {**GOOD, "subject": "", "body": "", "template": "gas-leak", "context": {"place": "福田"}},
        format="json",
    )
    assert (missing.status_code, missing.json()["field"]) == (400, "context")
    sent = api("operator").post(
        "/api/notify/notifications/",
        {**GOOD, "subject": "", "body": "", "template": "gas-leak", "context": {"place": "福田", "team": "抢修一队"}},
        format="json",
    )
    assert (sent.json()["subject"], sent.json()["body"]) == ("福田燃气泄漏", "请抢修一队立即出发。")
    duplicate = api("admin").post("/api/notify/templates/", template, format="json")
    assert (duplicate.status_code, duplicate.json()["field"]) == (400, "code")
