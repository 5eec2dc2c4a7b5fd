"""Reads of notify: who may see which notification, a user's inbox, and the helpers that resolve roles,
organisations and areas to users (the domain apps resolve their own rosters and plans)."""

from collections.abc import Iterable

from django.db.models import Case, IntegerField, Q, QuerySet, Value, When

from core.models import AdminArea, Domain, Organisation, User
from core.realtime import Viewer
from core.trees import subtree

from .models import Channel, Delivery, Notification, PublicWarning

INBOX_LIMIT = 100


def visible_notifications(user: User) -> QuerySet[Notification]:
    """Row rule: a command centre (city-wide dispatch) and admins see all; others those sent from their organisation
    (or below it), those they sent, and those sent to them."""
    viewer = Viewer.for_user(user)
    notifications = Notification.objects.select_related("sender", "sender_org")
    if viewer.org_ids is None or Domain.DISPATCH in viewer.oversees:
        return notifications
    to_me = Delivery.objects.filter(user=user).values("notification_id")
    return notifications.filter(Q(sender_org__in=viewer.org_ids) | Q(sender=user) | Q(pk__in=to_me))


def inbox(user: User) -> QuerySet[Delivery]:
    """The user's in-app notices: unacknowledged first, newest first."""
    unacknowledged_first = Case(
        When(state=Delivery.State.ACKNOWLEDGED, then=Value(1)), default=Value(0), output_field=IntegerField()
    )
    return (
        Delivery.objects.filter(user=user, channel=Channel.IN_APP)
        .exclude(state__in=[Delivery.State.QUEUED, Delivery.State.FAILED])
        .select_related("notification", "notification__sender")
        .order_by(unacknowledged_first, "-notification__created_at", "-pk")[:INBOX_LIMIT]
    )


def users_with_roles(
    roles: Iterable[str], organisation: Organisation | None = None, area: AdminArea | None = None
) -> QuerySet[User]:
    """Active users holding any of `roles`, within an organisation (and those below it) and/or in an area (the
    organisations whose jurisdiction lies in it, or that area's own)."""
    users = User.objects.filter(is_active=True, groups__name__in=list(roles))
    if organisation is not None:
        users = users.filter(organisation__in=subtree(Organisation, [organisation.pk]))
    if area is not None:
        users = users.filter(organisation__area__in=subtree(AdminArea, [area.pk]))
    return users.distinct().order_by("pk")


def public_warnings() -> QuerySet[PublicWarning]:
    return PublicWarning.objects.select_related("references")
