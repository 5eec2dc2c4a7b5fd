from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GridConfig(AppConfig):
    name = "grid"
    verbose_name = _("Digital city management")

    def ready(self):
        from core.realtime import register_event_filter, register_snapshot

        from . import layers, selectors

        register_snapshot("cases", selectors.snapshot)
        register_event_filter("cases", selectors.case_event_filter)
        layers.register_layers()
