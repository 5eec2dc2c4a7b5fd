from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotifyConfig(AppConfig):
    """Notifications (信息发布): one service, channels behind adapters. A shared service below the domain apps."""

    name = "notify"
    verbose_name = _("Notifications")
