"""State changes of notifications: `send()` (what the domain apps call), the background delivery of each channel,
SMS delivery receipts, acknowledgement, escalation and public warnings.

Delivery is at least once: a delivery is marked `sending` (committed) before the channel is asked, and `sent` only
after the channel accepted it; a worker that dies in between leaves it `sending`, and the job, run again, sends it
again with the same reference (the e-mail's Message-ID, the SMS's user_message_reference). In-app delivery is a row
and a live event written in one transaction: each recipient sees a notification once however often it runs.
"""

import contextlib
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import F, Min, Q
from django.utils import timezone
from procrastinate.exceptions import AlreadyEnqueued

from core.errors import Forbidden, InputError
from core.events import publish, publish_many
from core.models import User
from core.services import record_audit

from . import channels as outside
from .models import Channel, Delivery, Notification, PublicWarning, Severity, Template

MAX_SUBJECT = 200
MAX_BODY = 2000
SMS_MAX_CHARS = 67 * outside.SMS_MAX_PARTS  # UCS-2 parts of a concatenated SMS
MAX_RECIPIENTS = 20000
PHONE = re.compile(r"\+?[0-9]{5,15}")  # E.164 digits, or a national number (e.g. 11 digits for a mobile)
IN_APP_BATCH = 500  # in-app deliveries written (and published) per transaction
SEND_BATCH = 100  # outside deliveries marked `sending` per transaction
RECEIPT_WAIT_S = 1.0
RECEIPT_HORIZON = timedelta(days=1)  # an SMS without a receipt after this long stays `sent`
log = logging.getLogger(__name__)
LIVE = (Delivery.State.SENT, Delivery.State.DELIVERED)  # reached the recipient, not yet acknowledged


@dataclass(frozen=True)
class Contact:
    """A recipient who is not a user (a customer): a phone number (SMS) or an e-mail address."""

    address: str
    name: str = ""

    @property
    def channel(self) -> str:
        return Channel.EMAIL if "@" in self.address else Channel.SMS


@dataclass(frozen=True)
class About:
    """The object a notification is about, as its own app names it (notify imports no domain app)."""

    app: str
    id: str
    label: str = ""


def render(template: Template, context: dict) -> tuple[str, str]:
    """The template's subject and body with {placeholders} filled; a missing one is the caller's error."""
    try:
        return template.subject.format_map(context), template.body.format_map(context)
    except KeyError as exc:
        raise InputError("context", f"the template needs a value for {exc.args[0]!r}") from None
    except (ValueError, IndexError) as exc:
        raise InputError("template", f"the template's placeholders are malformed: {exc}") from None


def check_contact(address: str, field: str) -> str:
    """A contact's address, normalised (phone: digits with an optional leading +), or InputError naming `field`."""
    address = address.strip()
    if "@" in address:
        try:
            validate_email(address)
        except ValidationError:
            raise InputError(field, f"{address!r} is not an e-mail address") from None
        return address
    phone = re.sub(r"[\s-]", "", address)
    if not PHONE.fullmatch(phone):
        raise InputError(field, f"{address!r} is not a phone number (5 to 15 digits, optionally starting with +)")
    return phone


def send(
    *,
    sender: User | None,
    channels: Sequence[str],
    users: Iterable[User] = (),
    contacts: Sequence[Contact] = (),
    subject: str = "",
    body: str = "",
    template: Template | None = None,
    context: dict | None = None,
    severity: str | None = None,
    about: About | None = None,
    ack_within: timedelta | None = None,
    escalation: Sequence[User] = (),
    key: str | None = None,
) -> Notification:
    """Queue a notification to users (each over every channel given) and contacts (a phone number by SMS, an
    address by e-mail; in that order, so the caller's order — e.g. sensitive customers first — is the sending order).
    Returns at once; workers deliver it (notify.tasks.deliver). Text from `template` filled with `context`, or
    `subject`/`body`. With `ack_within`, nobody acknowledging in time sends it to the next of `escalation`.
    With `key`, a second call adds only the recipients the first did not have (nobody gets it twice).
    Raises InputError naming the field at fault; then nothing is stored."""
    channels = list(dict.fromkeys(channels))
    if not channels:
        raise InputError("channels", "give at least one channel")
    unknown = [c for c in channels if c not in Channel.values]
    if unknown:
        raise InputError("channels", f"unknown channel {unknown[0]!r}; one of {', '.join(Channel.values)}")
    if template is not None:
        subject, body = render(template, context or {})
        severity = severity or template.severity
    severity = severity or Severity.INFO
    if severity not in Severity.values:
        raise InputError("severity", f"one of {', '.join(Severity.values)}")
    if not subject.strip():
        raise InputError("subject", "the subject is empty")
    if len(subject) > MAX_SUBJECT:
        raise InputError("subject", f"at most {MAX_SUBJECT} characters")
    if not body.strip():
        raise InputError("body", "the body is empty")
    if len(body) > MAX_BODY:
        raise InputError("body", f"at most {MAX_BODY} characters")
    if Channel.SMS in channels and len(body) > SMS_MAX_CHARS:
        raise InputError("body", f"an SMS holds at most {SMS_MAX_CHARS} characters ({len(body)} given)")
    users = list(dict.fromkeys(users))
    contacts = [Contact(check_contact(c.address, f"contacts[{i}]"), c.name) for i, c in enumerate(contacts)]
    for i, contact in enumerate(contacts):
        if contact.channel not in channels:
            raise InputError(f"contacts[{i}]", f"{contact.address} needs the {contact.channel} channel")
    if not users and not contacts:
        raise InputError("recipients", "give at least one recipient")
    if len(users) * len(channels) + len(contacts) > MAX_RECIPIENTS:
        raise InputError("recipients", f"at most {MAX_RECIPIENTS} deliveries per notification")
    if ack_within is not None and ack_within <= timedelta(0):
        raise InputError("ack_within", "must be positive")
    if escalation and ack_within is None:
        raise InputError("escalation", "an escalation list needs an acknowledgement time (ack_within)")

    with transaction.atomic():
        notification = Notification.objects.select_for_update().filter(key=key).first() if key else None
        if notification is None:
            now = timezone.now()
            notification = Notification.objects.create(
                subject=subject,
                body=body,
                template=template,
                severity=severity,
                channels=channels,
                about_app=about.app if about else "",
                about_id=str(about.id) if about else "",
                about_label=about.label if about else "",
                key=key,
                sender=sender,
                sender_org=sender.organisation if sender else None,
                ack_within=ack_within,
                ack_deadline=now + ack_within if ack_within else None,
                escalation=[user.pk for user in escalation],
            )
            record_audit(
                sender, "notify.send", notification, subject, {"channels": channels, "about": notification.about_label}
            )
        _add_deliveries(notification, users, contacts, step=0)
    return notification


def _add_deliveries(notification: Notification, users, contacts, step: int) -> None:
    """Rows for the recipients not yet on this notification, then a delivery job per channel."""
    rows = []
    for user in users:
        for channel in notification.channels:
            address = {Channel.IN_APP: f"user:{user.pk}", Channel.EMAIL: user.email, Channel.SMS: user.phone}[channel]
            missing = not address
            rows.append(
                Delivery(
                    notification=notification,
                    channel=channel,
                    user=user,
                    name=user.display_name,
                    address=address or f"user:{user.pk}",
                    escalation_step=step,
                    state=Delivery.State.FAILED if missing else Delivery.State.QUEUED,
                    last_error=f"{user.username} has no {Channel(channel).label} address" if missing else "",
                )
            )
    rows += [
        Delivery(notification=notification, channel=c.channel, name=c.name, address=c.address, escalation_step=step)
        for c in contacts
    ]
    Delivery.objects.bulk_create(rows, ignore_conflicts=True, batch_size=1000)
    queued = {row.channel for row in rows if row.state == Delivery.State.QUEUED}
    for channel in notification.channels:  # in the sender's order: the first channel is delivered first
        if channel in queued:
            queue_delivery(notification.pk, channel)


def queue_delivery(notification_id: int, channel: str, at: datetime | None = None) -> None:
    """A job delivering what is due of this notification over this channel (one waiting job is enough)."""
    from .tasks import deliver  # the task module imports this one

    # the refused insert rolls back to its own savepoint, not the caller's transaction
    with contextlib.suppress(AlreadyEnqueued), transaction.atomic():
        deliver.configure(queueing_lock=f"notify:{notification_id}:{channel}", schedule_at=at).defer(
            notification_id=notification_id, channel=channel
        )


def _feature(delivery: Delivery, notification: Notification, **extra) -> dict:
    """A delivery as a live event: ids and states only; the recipient reads the text from its inbox."""
    return {
        "type": "Feature",
        "geometry": None,
        "properties": {
            "id": delivery.pk,
            "notification_id": notification.pk,
            "recipient_id": delivery.user_id,
            "sender_id": notification.sender_id,
            "channel": delivery.channel,
            "state": delivery.state,
            "severity": notification.severity,
            **extra,
        },
    }


def deliver_pending(notification_id: int, channel: str) -> datetime | None:
    """Deliver this notification's due deliveries of one channel; returns when the next retry is due (or None).
    Run by the notify.deliver job; also safe to call directly (a test, a shell)."""
    notification = Notification.objects.get(pk=notification_id)
    if channel == Channel.IN_APP:
        _deliver_in_app(notification)
        return None
    now = timezone.now()
    due = list(
        notification.deliveries.filter(channel=channel, state__in=[Delivery.State.QUEUED, Delivery.State.SENDING])
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if due:
        receipts: list[tuple[str, bool]] = []
        try:
            with outside.open_channel(channel, _receipt_taker(receipts)) as session:
                _send_due(session, due, receipts)
                if channel == Channel.SMS:
                    session.wait_for_receipts(RECEIPT_WAIT_S)
                    apply_receipts(receipts)
        except outside.NotConfigured as exc:
            _fail_all(notification, channel, str(exc))
        except outside.ChannelError as exc:  # could not connect: one attempt spent by each due delivery
            _connect_failed(notification, due, str(exc))
    waiting = notification.deliveries.filter(channel=channel, state=Delivery.State.QUEUED)
    if not waiting.exists():
        return None
    return waiting.aggregate(at=Min("next_attempt_at"))["at"] or timezone.now()


def _deliver_in_app(notification: Notification) -> None:
    """Each queued in-app delivery delivered and published in one transaction: exactly once per recipient."""
    while True:
        with transaction.atomic():
            batch = list(
                notification.deliveries.select_for_update(skip_locked=True)
                .filter(channel=Channel.IN_APP, state=Delivery.State.QUEUED)
                .order_by("pk")[:IN_APP_BATCH]
            )
            if not batch:
                return
            now = timezone.now()
            Delivery.objects.filter(pk__in=[d.pk for d in batch]).update(
                state=Delivery.State.DELIVERED, attempts=F("attempts") + 1, sent_at=now, delivered_at=now
            )
            for delivery in batch:
                delivery.state = Delivery.State.DELIVERED
            publish_many("notices", [("notification.sent", _feature(d, notification), None, ()) for d in batch])


def _send_due(session, due: list[int], receipts: list[tuple[str, bool]]) -> None:
    """Send in batches: a batch is marked `sending` (its attempts counted) and committed, then each delivery is
    sent and marked `sent` on its own. When the channel fails one, the rest are given back to the queue untried
    (their attempt not spent) to wait as long as it does."""
    for start in range(0, len(due), SEND_BATCH):
        batch = _start_attempts(due[start : start + SEND_BATCH])
        for i, delivery in enumerate(batch):
            try:
                provider_id = session.send(delivery)
            except outside.ChannelError as exc:
                _attempt_failed(delivery, str(exc))
                untried = [d.pk for d in batch[i + 1 :]]
                Delivery.objects.filter(pk__in=untried).update(
                    state=Delivery.State.QUEUED, attempts=F("attempts") - 1, next_attempt_at=delivery.next_attempt_at
                )
                Delivery.objects.filter(pk__in=due[start + SEND_BATCH :], state=Delivery.State.QUEUED).update(
                    next_attempt_at=delivery.next_attempt_at
                )
                return
            _mark_sent(delivery, provider_id)
            apply_receipts(receipts)


def _start_attempts(pks: list[int]) -> list[Delivery]:
    """Mark these deliveries `sending` and count an attempt each, committed before the channel is asked."""
    with transaction.atomic():
        batch = list(
            Delivery.objects.select_for_update(skip_locked=True)
            .select_related("notification")
            .filter(pk__in=pks, state__in=[Delivery.State.QUEUED, Delivery.State.SENDING])
            .order_by("pk")
        )
        Delivery.objects.filter(pk__in=[d.pk for d in batch]).update(
            state=Delivery.State.SENDING, attempts=F("attempts") + 1
        )
    for delivery in batch:
        delivery.state, delivery.attempts = Delivery.State.SENDING, delivery.attempts + 1
    return batch


def _mark_sent(delivery: Delivery, provider_id: str) -> None:
    with transaction.atomic():
        delivery.state, delivery.provider_id, delivery.sent_at = Delivery.State.SENT, provider_id, timezone.now()
        delivery.last_error, delivery.next_attempt_at = "", None
        delivery.save(update_fields=["state", "provider_id", "sent_at", "last_error", "next_attempt_at"])
        publish("notices", "notification.delivery_updated", _feature(delivery, delivery.notification))


RETRY_FIELDS = ["state", "attempts", "last_error", "next_attempt_at"]


def _retry_or_fail(delivery: Delivery, error: str) -> None:
    """Back to the queue with an exponential back-off, or failed for good after the last attempt (not saved)."""
    delivery.last_error = error[:500]
    if delivery.attempts >= settings.CITYOPS_NOTIFY_MAX_ATTEMPTS:
        delivery.state, delivery.next_attempt_at = Delivery.State.FAILED, None
    else:
        delay = settings.CITYOPS_NOTIFY_RETRY_SECONDS * 2 ** max(delivery.attempts - 1, 0)
        delivery.state, delivery.next_attempt_at = Delivery.State.QUEUED, timezone.now() + timedelta(seconds=delay)


def _attempt_failed(delivery: Delivery, error: str) -> None:
    with transaction.atomic():
        _retry_or_fail(delivery, error)
        delivery.save(update_fields=RETRY_FIELDS)
        publish("notices", "notification.delivery_updated", _feature(delivery, delivery.notification))


def _connect_failed(notification: Notification, pks: list[int], error: str) -> None:
    """The channel could not be opened: each of these deliveries spends an attempt, in one transaction."""
    with transaction.atomic():
        failed = list(
            notification.deliveries.select_for_update()
            .filter(pk__in=pks, state__in=[Delivery.State.QUEUED, Delivery.State.SENDING])
            .order_by("pk")
        )
        for delivery in failed:
            delivery.attempts += 1
            _retry_or_fail(delivery, error)
        Delivery.objects.bulk_update(failed, RETRY_FIELDS, batch_size=1000)
        publish_many(
            "notices", [("notification.delivery_updated", _feature(d, notification), None, ()) for d in failed]
        )


def _fail_all(notification: Notification, channel: str, error: str) -> None:
    with transaction.atomic():
        failed = list(
            notification.deliveries.select_for_update().filter(
                channel=channel, state__in=[Delivery.State.QUEUED, Delivery.State.SENDING]
            )
        )
        Delivery.objects.filter(pk__in=[d.pk for d in failed]).update(
            state=Delivery.State.FAILED, last_error=error, next_attempt_at=None
        )
        for delivery in failed:
            delivery.state = Delivery.State.FAILED
        publish_many(
            "notices", [("notification.delivery_updated", _feature(d, notification), None, ()) for d in failed]
        )


def _receipt_taker(unmatched: list[tuple[str, bool]]):
    """The handler of an SMS session's receipts: each is committed before smpplib answers the gateway (an answered
    receipt is not sent again); one for a message whose id is not stored yet waits in `unmatched`."""

    def take(message_id: str, delivered: bool) -> None:
        unmatched.append((message_id, delivered))
        apply_receipts(unmatched)

    return take


def apply_receipts(receipts: list[tuple[str, bool]]) -> None:
    """SMSC delivery receipts: a sent SMS becomes delivered (or failed). Applied receipts leave the list; one
    whose message id is not stored yet (its submit_sm_resp not yet recorded) stays for the next call."""
    kept = []
    for message_id, delivered in receipts:
        with transaction.atomic():
            delivery = (
                Delivery.objects.select_for_update()
                .select_related("notification")
                .filter(channel=Channel.SMS, provider_id=message_id)
                .first()
            )
            if delivery is None:
                kept.append((message_id, delivered))
                continue
            if delivery.state != Delivery.State.SENT:
                continue  # already delivered, acknowledged or escalated: a receipt does not go back
            if delivered:
                delivery.state, delivery.delivered_at = Delivery.State.DELIVERED, timezone.now()
            else:
                delivery.state, delivery.last_error = Delivery.State.FAILED, "the gateway reported it undeliverable"
            delivery.save(update_fields=["state", "delivered_at", "last_error"])
            publish("notices", "notification.delivery_updated", _feature(delivery, delivery.notification))
    receipts[:] = kept


def collect_sms_receipts() -> int:
    """Bind to the gateway and take the receipts it kept for us (those sent to a worker that died before it
    answered them), while SMS of the last RECEIPT_HORIZON are still only `sent`. Returns how many were applied."""
    if not Delivery.objects.filter(
        channel=Channel.SMS, state=Delivery.State.SENT, sent_at__gte=timezone.now() - RECEIPT_HORIZON
    ).exists():
        return 0
    receipts: list[tuple[str, bool]] = []
    try:
        with outside.open_channel(Channel.SMS, _receipt_taker(receipts)) as session:
            session.wait_for_receipts(RECEIPT_WAIT_S)
    except outside.ChannelError as exc:
        log.warning("SMS receipts not collected: %s", exc)
        return 0
    return session.receipts - len(receipts)


def acknowledge(user: User, delivery_id: int) -> Delivery:
    """确认: the user acknowledges a notification (through one of its deliveries to them); every delivery of it to
    that user is acknowledged, and its escalation stops. Acknowledging twice changes nothing."""
    with transaction.atomic():
        delivery = Delivery.objects.select_for_update().select_related("notification").filter(pk=delivery_id).first()
        if delivery is None or delivery.user_id != user.pk:
            raise Forbidden(f"delivery {delivery_id} is not a notification to you")
        notification = Notification.objects.select_for_update().get(pk=delivery.notification_id)
        if delivery.state == Delivery.State.ACKNOWLEDGED:
            return delivery
        now = timezone.now()
        notification.deliveries.filter(user=user).exclude(state=Delivery.State.FAILED).update(
            state=Delivery.State.ACKNOWLEDGED, acknowledged_at=now
        )
        if notification.acknowledged_at is None:
            notification.acknowledged_at, notification.ack_deadline = now, None
            notification.save(update_fields=["acknowledged_at", "ack_deadline"])
        delivery.refresh_from_db()
        record_audit(user, "notify.acknowledge", notification, notification.subject)
        publish("notices", "notification.acknowledged", _feature(delivery, notification, acknowledged_by=user.pk))
    return delivery


def escalate_overdue(now: datetime | None = None) -> list[Notification]:
    """Notifications past their acknowledgement deadline, nobody having acknowledged: the deliveries of the
    current round become `escalated` and the next person of the escalation list gets it on the same channels,
    with a new deadline. With nobody left, the deadline is cleared (the escalated rows show it)."""
    now = now or timezone.now()
    escalated = []
    with transaction.atomic():
        overdue = Notification.objects.select_for_update(skip_locked=True).filter(
            ack_deadline__lte=now, acknowledged_at__isnull=True
        )
        for notification in overdue:
            round_ = notification.deliveries.filter(escalation_step=notification.escalation_step)
            round_.filter(state__in=LIVE).update(state=Delivery.State.ESCALATED)
            nxt = None
            if notification.escalation_step < len(notification.escalation):
                nxt = User.objects.filter(pk=notification.escalation[notification.escalation_step]).first()
                notification.escalation_step += 1
            notification.ack_deadline = now + notification.ack_within if nxt is not None else None
            notification.save(update_fields=["escalation_step", "ack_deadline"])
            if nxt is not None:
                _add_deliveries(notification, [nxt], [], step=notification.escalation_step)
            record_audit(
                None, "notify.escalate", notification, notification.subject, {"to": nxt.username if nxt else None}
            )
            feature = {
                "type": "Feature",
                "geometry": None,
                "properties": {
                    "id": notification.pk,
                    "notification_id": notification.pk,
                    "recipient_id": nxt.pk if nxt else None,
                    "sender_id": notification.sender_id,
                    "step": notification.escalation_step,
                },
            }
            publish("notices", "notification.escalated", feature)
            escalated.append(notification)
    return escalated


def issue_warning(actor: User, *, source: str | None = None, **fields) -> PublicWarning:
    """公众预警: store a CAP 1.2 alert (fields as the model's; `identifier` and `sent` are made here), audited.
    An Update or Cancel names the alert it follows in `references`."""
    msg_type = fields.get("msg_type", PublicWarning.MsgType.ALERT)
    if msg_type != PublicWarning.MsgType.ALERT and fields.get("references") is None:
        raise InputError("references", f"an {msg_type} names the alert it updates or cancels")
    if fields.get("polygon") is None and fields.get("circle_center") is None:
        raise InputError("area", "give the area as a polygon or a circle")
    sent = timezone.now().replace(microsecond=0)
    with transaction.atomic():
        warning = PublicWarning.objects.create(identifier="pending", sent=sent, issued_by=actor, **fields)
        warning.identifier = f"cityops-{sent:%Y%m%d}-{warning.pk:06d}"
        warning.save(update_fields=["identifier"])
        record_audit(actor, "notify.public_warning", warning, warning.headline, {"status": warning.status}, source)
    return warning
