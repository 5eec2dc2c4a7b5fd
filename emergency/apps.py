from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EmergencyConfig(AppConfig):
    """Response plans with levels (应急预案, 分级响应) run on incidents."""

    name = "emergency"
    verbose_name = _("Response plans")
