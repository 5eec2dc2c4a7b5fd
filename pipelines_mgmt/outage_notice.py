"""停水停气通知: the customers a repair order's isolation cuts off are texted, sensitive ones (hospitals, schools,
care homes) first, through the notification service. Once per customer and order, however often it is asked."""

from django.utils import translation
from django.utils.translation import gettext as _

from core.errors import Refusal
from core.models import User
from notify import services as notify
from notify.models import Channel, Notification, Severity

from .models import RepairOrder, ServiceConnection, Utility


def outage_text(order: RepairOrder) -> tuple[str, str]:
    """(subject, SMS text) in Chinese, whatever the language of the request that sends it."""
    with translation.override("zh-hans"):
        supply = {
            Utility.WATER: _("water supply"),
            Utility.GAS: _("gas supply"),
            Utility.HEAT: _("heating"),
        }.get(order.network.utility, str(Utility(order.network.utility).label))
        subject = _("Supply interruption notice (%(number)s)") % {"number": order.number}
        body = _(
            "%(owner)s: because of an emergency repair (order %(number)s) your %(supply)s is interrupted until the "
            "repair is finished. We are sorry for the inconvenience."
        ) % {"owner": order.network.owner.name, "number": order.number, "supply": supply}
    return subject, body


def notice_key(order: RepairOrder) -> str:
    """The outage notice's notification key: one per order, so the customers are texted once."""
    return f"pipelines_mgmt.outage:{order.number}"


def notify_customers(actor: User | None, order: RepairOrder) -> tuple[Notification | None, int]:
    """Text every customer of the order's isolation that has a phone number, in the isolation's order (sensitive
    first). Returns the notification (None when nobody has a number) and how many customers it reaches; asking
    again adds only customers not texted before (the notification's key is the order's number)."""
    if order.exercise:
        raise Refusal(
            _("repair order %(number)s belongs to a drill: its customers are not texted") % {"number": order.number}
        )
    ids = [customer["id"] for customer in order.isolation["customers"]["items"]]
    connections = ServiceConnection.objects.in_bulk(ids)
    contacts, seen = [], set()
    for pk in ids:
        connection = connections.get(pk)
        if connection is not None and connection.phone and connection.phone not in seen:
            seen.add(connection.phone)
            contacts.append(notify.Contact(connection.phone, connection.customer_name))
    if not contacts:
        return None, 0
    subject, body = outage_text(order)
    notification = notify.send(
        sender=actor,
        channels=[Channel.SMS],
        contacts=contacts,
        subject=subject,
        body=body,
        severity=Severity.WARNING,
        about=notify.About("pipelines_mgmt", str(order.pk), order.number),
        key=notice_key(order),
    )
    return notification, len(contacts)
