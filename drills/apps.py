from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DrillsConfig(AppConfig):
    """Drills (预案推演): a scripted scenario injected on a clock as exercise incidents that real consoles watch."""

    name = "drills"
    verbose_name = _("Drills")
