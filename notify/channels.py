"""The outside channels behind one small interface: `open_channel(channel)` gives a session whose `send(delivery)`
returns the provider's message id once the channel has accepted the message, or raises ChannelError. A session
holds one connection for a batch (one SMTP connection, one SMPP bind), so a fan-out does not reconnect per message.

In-app delivery is not here: it is a row and a live event, written by notify.services.
"""

import contextlib
import logging
import time
from collections.abc import Callable, Iterator

import smpplib.client
import smpplib.exceptions
import smpplib.gsm
from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from smpplib import consts

from .models import Channel, Delivery

log = logging.getLogger(__name__)
SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"  # named: the test runner swaps the default backend
UCS2 = consts.SMPP_ENCODING_ISO10646
SMS_MAX_PARTS = 5  # a longer text is refused when the notification is created (services.SMS_MAX_CHARS)
Receipt = Callable[[str, bool], None]  # (provider message id, delivered?) from an SMSC delivery receipt


class ChannelError(Exception):
    """The channel did not accept the message (or could not say that it did): the delivery is tried again."""


class NotConfigured(ChannelError):
    """The channel has no server configured: nothing will ever be accepted, so the delivery fails at once."""


def message_id_header(delivery: Delivery) -> str:
    return f"<{delivery.reference}@cityops.notify>"


def sms_reference(delivery: Delivery) -> int:
    """The SMS's user_message_reference (16 bits, SMPP 3.4 5.3.2.17): from the delivery, so a resend carries it too."""
    return delivery.pk & 0xFFFF


class EmailSession:
    def __init__(self):
        if not settings.CITYOPS_SMTP_HOST:
            raise NotConfigured("e-mail is not configured (CITYOPS_SMTP_HOST)")
        self.connection = get_connection(
            SMTP_BACKEND,
            host=settings.CITYOPS_SMTP_HOST,
            port=settings.CITYOPS_SMTP_PORT,
            username=settings.CITYOPS_SMTP_USER or None,
            password=settings.CITYOPS_SMTP_PASSWORD or None,
            use_tls=settings.CITYOPS_SMTP_TLS,
            timeout=10,
        )
        try:
            self.connection.open()
        except OSError as exc:
            raise ChannelError(f"SMTP {settings.CITYOPS_SMTP_HOST}:{settings.CITYOPS_SMTP_PORT}: {exc}") from exc

    def send(self, delivery: Delivery) -> str:
        notification = delivery.notification
        header = message_id_header(delivery)
        message = EmailMessage(
            subject=notification.subject,
            body=notification.body,
            from_email=settings.CITYOPS_MAIL_FROM,
            to=[delivery.address],
            headers={"Message-ID": header},
            connection=self.connection,
        )
        try:
            message.send()
        except Exception as exc:  # smtplib's and socket errors alike: the server did not take it
            self.connection.close()  # a broken connection is not reused; the next send opens a new one
            raise ChannelError(f"SMTP: {exc}") from exc
        return header

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.connection.close()


class SmsSession:
    """One SMPP 3.4 transceiver bind (smpplib). Delivery receipts arriving on it are handed to `on_receipt`."""

    def __init__(self, on_receipt: Receipt):
        if not settings.CITYOPS_SMS_HOST:
            raise NotConfigured("SMS is not configured (CITYOPS_SMS_HOST)")
        self.on_receipt = on_receipt
        self.receipts = 0
        self._accepted: dict[int, str] = {}  # submit_sm sequence → the SMSC's message id
        self.client = smpplib.client.Client(
            settings.CITYOPS_SMS_HOST, settings.CITYOPS_SMS_PORT, timeout=10, allow_unknown_opt_params=True
        )
        self.client.set_message_sent_handler(self._on_submit_sm_resp)
        self.client.set_message_received_handler(self._on_deliver_sm)
        try:
            self.client.connect()
            self.client.bind_transceiver(
                system_id=settings.CITYOPS_SMS_SYSTEM_ID, password=settings.CITYOPS_SMS_PASSWORD
            )
        except (OSError, smpplib.exceptions.ConnectionError, smpplib.exceptions.PDUError) as exc:
            self.client.disconnect()
            raise ChannelError(f"SMPP {settings.CITYOPS_SMS_HOST}:{settings.CITYOPS_SMS_PORT}: {exc!r}") from exc

    def send(self, delivery: Delivery) -> str:
        """submit_sm per part (UCS-2, concatenated with a UDH when long); the first part's message id is the SMS's."""
        parts, coding, esm_class = smpplib.gsm.make_parts(delivery.notification.body, encoding=UCS2)
        ids = []
        try:
            for part in parts:
                pdu = self.client.send_message(
                    source_addr=settings.CITYOPS_SMS_SOURCE_ADDR,
                    source_addr_ton=consts.SMPP_TON_ALNUM,
                    dest_addr_ton=consts.SMPP_TON_INTL if delivery.address.startswith("+") else consts.SMPP_TON_UNK,
                    destination_addr=delivery.address.removeprefix("+"),
                    short_message=part,
                    data_coding=coding,
                    esm_class=esm_class,
                    registered_delivery=consts.SMPP_SMSC_DELIVERY_RECEIPT_BOTH,
                    user_message_reference=sms_reference(delivery),
                )
                ids.append(self._answer_to(pdu.sequence))
        except (OSError, smpplib.exceptions.ConnectionError, smpplib.exceptions.PDUError) as exc:
            raise ChannelError(f"SMPP: {exc!r}") from exc
        return ids[0]

    def _answer_to(self, sequence: int) -> str:
        """Read PDUs until the submit_sm_resp of `sequence` (smpplib answers receipts and enquire_links meanwhile)."""
        while sequence not in self._accepted:
            self.client.read_once(auto_send_enquire_link=False)
        return self._accepted.pop(sequence)

    def _on_submit_sm_resp(self, pdu, **_):
        message_id = pdu.message_id
        self._accepted[pdu.sequence] = message_id.decode() if isinstance(message_id, bytes) else message_id

    def _on_deliver_sm(self, pdu, **_):
        receipted = getattr(pdu, "receipted_message_id", None)
        if receipted:
            receipted = receipted.decode() if isinstance(receipted, bytes) else receipted
            self.on_receipt(receipted, pdu.message_state == consts.SMPP_MESSAGE_STATE_DELIVERED)
            self.receipts += 1

    def wait_for_receipts(self, quiet_seconds: float) -> None:
        """Take the receipts that arrive until none has for `quiet_seconds` (those of what was just sent)."""
        try:
            seen, quiet_since = self.receipts, time.monotonic()
            while time.monotonic() - quiet_since < quiet_seconds:
                self.client.poll(auto_send_enquire_link=False)
                if self.receipts != seen:
                    seen, quiet_since = self.receipts, time.monotonic()
                time.sleep(0.02)
        except (OSError, smpplib.exceptions.ConnectionError, smpplib.exceptions.PDUError):
            log.warning("SMPP bind lost while waiting for receipts; they come on a later bind")

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.client.unbind()
        with contextlib.suppress(Exception):
            self.client.disconnect()


@contextlib.contextmanager
def open_channel(channel: str, on_receipt: Receipt) -> Iterator[EmailSession | SmsSession]:
    """A session of an outside channel (raises NotConfigured or ChannelError if it cannot be opened)."""
    session = EmailSession() if channel == Channel.EMAIL else SmsSession(on_receipt)
    try:
        yield session
    finally:
        session.close()
