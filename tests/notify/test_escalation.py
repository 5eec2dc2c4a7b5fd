"""Escalation: nobody acknowledging before the deadline sends the notification to the next person of the list."""

from datetime import timedelta

import pytest
from django.utils import timezone

from notify import services
from notify.models import Delivery

pytestmark = pytest.mark.django_db


def _send(user_for):
    notification = services.send(
        sender=user_for("operator"), channels=["in_app"], users=[user_for("calltaker")],
        subject="燃气泄漏：请确认到岗", body="请在5分钟内确认。", ack_within=timedelta(minutes=5),
        escalation=[user_for("leader"), user_for("admin")],
    )  # fmt: skip
    services.deliver_pending(notification.pk, "in_app")
    return notification


def _inbox(api, username):
    return api(username).get("/api/notify/inbox/").json()


def test_unacknowledged_past_the_deadline_goes_to_the_next_person(user_for, api):
    notification = _send(user_for)
    assert services.escalate_overdue(timezone.now() + timedelta(minutes=4)) == []  # not yet
    assert services.escalate_overdue(timezone.now() + timedelta(minutes=6)) == [notification]

    first = Delivery.objects.get(notification=notification, user__username="calltaker")
    assert first.state == Delivery.State.ESCALATED
    services.deliver_pending(notification.pk, "in_app")
    second = Delivery.objects.get(notification=notification, user__username="leader")
    assert second.state == Delivery.State.DELIVERED and second.escalation_step == 1
    assert [i["subject"] for i in _inbox(api, "leader")["items"]] == ["燃气泄漏：请确认到岗"]
    assert _inbox(api, "admin")["items"] == []
    notification.refresh_from_db()
    assert notification.escalation_step == 1 and notification.ack_deadline > timezone.now() + timedelta(minutes=4)

    # the leader acknowledges: nobody else is asked
    assert api("leader").post(f"/api/notify/inbox/{second.pk}/ack/").status_code == 200
    assert services.escalate_overdue(timezone.now() + timedelta(hours=1)) == []
    assert _inbox(api, "admin")["items"] == []
    detail = api("operator").get(f"/api/notify/notifications/{notification.pk}/").json()
    assert [(d["recipient"], d["state"]) for d in detail["deliveries"]] == [
        ("calltaker", "escalated"),
        ("leader", "acknowledged"),
    ]


def test_acknowledged_in_time_nobody_else_is_notified(user_for, api):
    notification = _send(user_for)
    delivery = Delivery.objects.get(notification=notification)
    response = api("calltaker").post(f"/api/notify/inbox/{delivery.pk}/ack/")
    assert response.status_code == 200 and response.json()["acknowledged"]
    assert services.escalate_overdue(timezone.now() + timedelta(hours=1)) == []
    assert Delivery.objects.filter(notification=notification).count() == 1
    assert _inbox(api, "leader")["items"] == []


def test_nobody_left_on_the_list_ends_the_escalation(user_for):
    notification = _send(user_for)
    later = timezone.now()
    for _step in range(2):
        later += timedelta(minutes=6)
        services.escalate_overdue(later)
        services.deliver_pending(notification.pk, "in_app")
    later += timedelta(minutes=6)
    assert services.escalate_overdue(later) == [notification]
    notification.refresh_from_db()
    assert notification.ack_deadline is None and notification.escalation_step == 2
    assert set(notification.deliveries.values_list("state", flat=True)) == {Delivery.State.ESCALATED}
    assert services.escalate_overdue(later + timedelta(hours=1)) == []
