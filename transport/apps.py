from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TransportConfig(AppConfig):
    """Key vehicles (重点车辆) and the JT/T 809 link that brings their positions from transport platforms."""

    name = "transport"
    verbose_name = _("Transport supervision")
