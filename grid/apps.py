from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GridConfig(AppConfig):
    name = "grid"
    verbose_name = _("Digital city management")

    def ready(self):
        from core.realtime import register_event_filter, register_snapshot
        from gis.geocoder import register_grid_lookup

        from . import layers, places, selectors

        register_snapshot("cases", selectors.snapshot)
        register_event_filter("cases", selectors.case_event_filter)
        layers.register_layers()
        register_grid_lookup(places.grid_cells)
