"""At least once, shown once: a 100-recipient send survives a worker killed mid-send, a gateway that drops the
connection and an SMTP server that dies. Every recipient gets every message at least once, the inbox shows each
notice once, the delivery table has one row per recipient and channel; the channel may see a message twice, and
then both carry the same reference, so the receiver can drop the second."""

import time
from collections import Counter, defaultdict

import pytest
from django.contrib.auth.hashers import make_password

from core.models import User
from notify import selectors, services
from notify.channels import message_id_header
from notify.models import Delivery

from . import servers

pytestmark = pytest.mark.django_db(transaction=True)
RECIPIENTS = 100
CHANNELS = ["in_app", "sms", "email"]


@pytest.fixture
def recipients(demo_city):
    password = make_password(None)
    return User.objects.bulk_create(
        User(username=f"recipient{i:03d}", password=password, email=f"r{i:03d}@example.org", phone=f"1380000{i:04d}")
        for i in range(RECIPIENTS)
    )


@pytest.fixture
def channels_and_worker(monkeypatch, django_db_blocker):
    """The gateway simulator (answering slowly), an SMTP server process, and a real jobs worker pointed at both."""
    with servers.channels_and_worker(monkeypatch, django_db_blocker, answer_delay=0.02) as running:
        yield running


def wait_until(condition, seconds: float, what: str, state=lambda: "") -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what} {state()}"
        time.sleep(0.01)


def states(notification_id: int) -> Counter:
    return Counter(Delivery.objects.filter(notification_id=notification_id).values_list("channel", "state"))


def settled(notification_id: int) -> bool:
    """In-app and SMS delivered (the gateway's receipts), mail sent (SMTP has no receipt)."""
    return states(notification_id) == {
        ("in_app", "delivered"): RECIPIENTS,
        ("sms", "delivered"): RECIPIENTS,
        ("email", "sent"): RECIPIENTS,
    }


def check_at_least_once_shown_once(notification, sim, smtp, recipients) -> dict:
    deliveries = list(Delivery.objects.filter(notification=notification))
    assert len(deliveries) == RECIPIENTS * len(CHANNELS)  # no row lost, none twice
    assert len({(d.channel, d.address) for d in deliveries}) == len(deliveries)
    by_address = {(d.channel, d.address): d for d in deliveries}

    texts = defaultdict(list)
    for message in sim.received:
        texts[message.destination].append(message.reference)
    assert set(texts) == {u.phone for u in recipients}  # everyone texted at least once
    for phone, references in texts.items():  # a resend carries the same reference
        assert set(references) == {by_address[("sms", phone)].pk & 0xFFFF}

    mails = defaultdict(list)
    for mail in smtp.mails():
        mails[mail.to].append(mail.message_id)
    assert set(mails) == {u.email for u in recipients}
    for address, message_ids in mails.items():
        assert set(message_ids) == {message_id_header(by_address[("email", address)])}

    for user in recipients:  # the inbox shows the notice once
        assert [d.notification_id for d in selectors.inbox(user)] == [notification.pk]
    return {
        "sms_duplicates": len(sim.received) - RECIPIENTS,
        "mail_duplicates": sum(len(m) for m in mails.values()) - RECIPIENTS,
    }


def test_a_worker_killed_mid_send_loses_nothing_and_shows_nothing_twice(recipients, channels_and_worker, capsys):
    sim, smtp, worker = channels_and_worker
    notification = services.send(
        sender=User.objects.get(username="operator"), channels=CHANNELS, users=recipients,
        subject="全员通知", body="演练：请各单位于10分钟内确认到岗。",
    )  # fmt: skip
    wait_until(lambda: len(sim.received) >= 30, 60, "the worker to be mid-way through the SMS")
    worker.kill()
    assert len(sim.received) < RECIPIENTS
    worker.start()  # supervisord's restart; the stalled job is run again (core.retry_stalled_jobs)
    wait_until(lambda: settled(notification.pk), 120, "every delivery", lambda: states(notification.pk))

    counts = check_at_least_once_shown_once(notification, sim, smtp, recipients)
    with capsys.disabled():
        print(f"\nworker killed mid-send: the gateway saw {counts['sms_duplicates']} duplicate SMS, the SMTP server "
              f"{counts['mail_duplicates']} duplicate mails (same reference each)")  # fmt: skip
    assert counts["sms_duplicates"] <= 1 and counts["mail_duplicates"] == 0


def test_a_dropped_gateway_and_a_dead_smtp_server_mean_retries_not_losses(recipients, channels_and_worker, capsys):
    sim, smtp, _worker = channels_and_worker
    sim.drop_after = 40  # the 41st submit_sm is never answered: the connection dies
    smtp.stop()  # and the SMTP server is down when the mail is due
    notification = services.send(
        sender=User.objects.get(username="operator"), channels=CHANNELS, users=recipients,
        subject="全员通知", body="演练：请各单位于10分钟内确认到岗。",
    )  # fmt: skip
    wait_until(lambda: sim.drops == 1, 60, "the gateway to drop the connection")
    sim.drop_after = None
    wait_until(
        lambda: Delivery.objects.filter(notification=notification, channel="email", attempts__gte=1).exists(),
        60, "an attempt at the mail while the SMTP server is down",
    )  # fmt: skip
    failed = Delivery.objects.filter(notification=notification, channel="email", state="queued").exclude(last_error="")
    assert "SMTP" in failed.first().last_error
    smtp.start()
    wait_until(lambda: settled(notification.pk), 120, "every delivery", lambda: states(notification.pk))

    counts = check_at_least_once_shown_once(notification, sim, smtp, recipients)
    with capsys.disabled():
        print(f"\ngateway dropped, SMTP down: {counts['sms_duplicates']} duplicate SMS, "
              f"{counts['mail_duplicates']} duplicate mails")  # fmt: skip
    assert counts["mail_duplicates"] == 0
