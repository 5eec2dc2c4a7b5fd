"""E-mail and SMS reach real servers: an SMTP server process and the SMPP gateway simulator (no mocks)."""

import pytest
from django.test import override_settings

from notify import services
from notify.channels import message_id_header
from notify.models import Channel, Delivery
from notify.sms_gateway_sim import UCS2

pytestmark = pytest.mark.django_db


def test_email_to_three_users_reaches_the_smtp_server(smtp_server, user_for):
    users = [user_for(name) for name in ("operator", "leader", "calltaker")]
    for user in users:
        user.email = f"{user.username}@example.org"
        user.save(update_fields=["email"])
    notification = services.send(
        sender=user_for("operator"), channels=[Channel.EMAIL], users=users,
        subject="燃气管道泄漏通报", body="福田区某路段燃气泄漏，请立即到岗。",
    )  # fmt: skip
    assert services.deliver_pending(notification.pk, Channel.EMAIL) is None

    mails = smtp_server.mails()
    assert sorted(m.to for m in mails) == sorted(u.email for u in users)
    assert {m.subject for m in mails} == {"燃气管道泄漏通报"}
    assert all(m.body.strip() == "福田区某路段燃气泄漏，请立即到岗。" for m in mails)
    deliveries = list(notification.deliveries.all())
    assert [d.state for d in deliveries] == [Delivery.State.SENT] * 3
    assert {m.message_id for m in mails} == {message_id_header(d) for d in deliveries}
    assert all(d.attempts == 1 and d.provider_id for d in deliveries)


def test_sms_goes_as_ucs2_submit_sm_and_the_receipt_makes_it_delivered(sms_gateway, user_for):
    leader = user_for("leader")
    leader.phone = "13800138000"
    leader.save(update_fields=["phone"])
    notification = services.send(
        sender=user_for("operator"), channels=[Channel.SMS], users=[leader],
        contacts=[services.Contact("+86 139-0013-9000", "客户")],
        subject="停水通知", body="因抢修，今日14时至18时停水，请提前储水。",
    )  # fmt: skip
    services.deliver_pending(notification.pk, Channel.SMS)

    received = sms_gateway.received
    assert {r.destination for r in received} == {"13800138000", "8613900139000"}
    assert all(r.data_coding == UCS2 and r.text == "因抢修，今日14时至18时停水，请提前储水。" for r in received)
    deliveries = {d.address: d for d in notification.deliveries.all()}
    assert deliveries["+8613900139000"].state == Delivery.State.DELIVERED
    assert deliveries["13800138000"].state == Delivery.State.DELIVERED
    assert {r.message_id for r in received} == {d.provider_id for d in deliveries.values()}
    assert {r.reference for r in received} == {d.pk & 0xFFFF for d in deliveries.values()}


def test_a_long_sms_is_sent_in_parts_and_joined_again(sms_gateway, user_for):
    text = "管网抢修通知：" + "请注意用气安全。" * 20
    notification = services.send(
        sender=user_for("operator"), channels=[Channel.SMS], contacts=[services.Contact("13700137000")],
        subject="通知", body=text,
    )  # fmt: skip
    services.deliver_pending(notification.pk, Channel.SMS)
    assert sms_gateway.texts_to("13700137000") == [text]
    assert notification.deliveries.get().state == Delivery.State.DELIVERED


def test_an_unconfigured_channel_fails_each_delivery_with_the_reason(user_for):
    with override_settings(CITYOPS_SMS_HOST=""):
        notification = services.send(
            sender=user_for("operator"), channels=[Channel.SMS], contacts=[services.Contact("13700137000")],
            subject="通知", body="测试",
        )  # fmt: skip
        services.deliver_pending(notification.pk, Channel.SMS)
    delivery = notification.deliveries.get()
    assert delivery.state == Delivery.State.FAILED
    assert "CITYOPS_SMS_HOST" in delivery.last_error


def test_a_gateway_that_is_down_means_a_retry_later_then_failed(user_for):
    with override_settings(CITYOPS_SMS_HOST="127.0.0.1", CITYOPS_SMS_PORT=1, CITYOPS_NOTIFY_MAX_ATTEMPTS=2):
        notification = services.send(
            sender=user_for("operator"), channels=[Channel.SMS], contacts=[services.Contact("13700137000")],
            subject="通知", body="测试",
        )  # fmt: skip
        retry_at = services.deliver_pending(notification.pk, Channel.SMS)
        delivery = notification.deliveries.get()
        assert retry_at is not None and delivery.state == Delivery.State.QUEUED and delivery.attempts == 1
        assert delivery.next_attempt_at == retry_at and "SMPP" in delivery.last_error
        Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=None)  # the back-off has passed
        assert services.deliver_pending(notification.pk, Channel.SMS) is None
    delivery.refresh_from_db()
    assert delivery.state == Delivery.State.FAILED and delivery.attempts == 2
