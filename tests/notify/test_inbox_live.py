"""In-app notices: live to the recipient only over /ws/ops/ (another user's console gets nothing of them, live or
replayed), read from the inbox API and acknowledged (确认) there."""

import pytest
from asgiref.sync import sync_to_async
from rest_framework.test import APIClient

from core.models import User
from notify import services
from tests.ops_socket import connect, subscribe

pytestmark = pytest.mark.django_db(transaction=True)


@sync_to_async
def notify_calltaker() -> int:
    users = User.objects.in_bulk(["operator", "calltaker"], field_name="username")
    notification = services.send(
        sender=users["operator"], channels=["in_app"], users=[users["calltaker"]],
        subject="请到3号席位", body="燃气泄漏警情需要协助。", severity="urgent",
    )  # fmt: skip
    services.deliver_pending(notification.pk, "in_app")
    return notification.pk


@sync_to_async
def as_user(username: str) -> APIClient:
    client = APIClient()
    client.force_login(User.objects.get(username=username))
    return client


async def test_a_notice_reaches_its_recipient_live_and_nobody_else(demo_city):
    recipient, _ = await connect("calltaker")
    colleague, _ = await connect("dispatcher110")  # same topics, another person
    seq = (await subscribe(recipient, topics=["notices"]))[-1]["seq"]
    await subscribe(colleague, topics=["notices"])

    notification_id = await notify_calltaker()
    event = await recipient.receive_json_from(timeout=5)
    assert (event["topic"], event["type"]) == ("notices", "notification.sent")
    assert event["data"]["properties"]["notification_id"] == notification_id
    assert "subject" not in event["data"]["properties"]  # ids only: the text is read from the inbox
    assert await colleague.receive_nothing(timeout=0.5)
    await colleague.disconnect()

    replayer, _ = await connect("leader")  # a reconnecting console of someone else: nothing replayed either
    replayed = await subscribe(replayer, topics=["notices"], since=seq)
    assert [m for m in replayed if m.get("topic") == "notices"] == []
    await replayer.disconnect()

    client = await as_user("calltaker")
    inbox = (await sync_to_async(client.get)("/api/notify/inbox/")).json()
    assert inbox["unacknowledged"] == 1
    item = inbox["items"][0]
    assert (item["subject"], item["severity_label"], item["acknowledged"]) == ("请到3号席位", "紧急", False)

    answer = await sync_to_async(client.post)(item["ack_url"])
    assert answer.status_code == 200 and answer.json()["acknowledged"]
    acknowledged = await recipient.receive_json_from(timeout=5)
    assert acknowledged["type"] == "notification.acknowledged"
    assert (await sync_to_async(client.get)("/api/notify/inbox/")).json()["unacknowledged"] == 0
    await recipient.disconnect()

    other = await as_user("dispatcher110")
    refused = await sync_to_async(other.post)(item["ack_url"])
    assert refused.status_code == 403
    assert (await sync_to_async(other.get)(f"/api/notify/notifications/{notification_id}/")).status_code == 404
