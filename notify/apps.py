from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotifyConfig(AppConfig):
    """Notifications (信息发布): one service, channels behind adapters. A shared service below the domain apps."""

    name = "notify"
    verbose_name = _("Notifications")

    def ready(self):
        from core import realtime

        realtime.register_event_filter("notices", notice_filter)


def notice_filter(viewer):
    """A notice event reaches its recipient and its sender only, never another console of the organisation."""
    return lambda data: viewer.user_id in (data["properties"].get("recipient_id"), data["properties"].get("sender_id"))
