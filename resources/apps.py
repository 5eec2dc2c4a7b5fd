from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ResourcesConfig(AppConfig):
    """Emergency resources (应急资源) and hazard sources (危险源)."""

    name = "resources"
    verbose_name = _("Emergency resources")

    def ready(self):
        from core.realtime import register_snapshot

        from . import layers
        from .selectors import snapshot

        register_snapshot("resources", snapshot)
        layers.register_layers()
