from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DutyConfig(AppConfig):
    """Duty management (值班管理): rosters, sign-on and hand-over, the duty log."""

    name = "duty"
    verbose_name = _("Duty")
