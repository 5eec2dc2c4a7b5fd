from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GisConfig(AppConfig):
    name = "gis"
    label = "geo"  # "gis" is taken by django.contrib.gis
    verbose_name = _("Spatial data")

    def ready(self):
        from core import jobs

        from . import layers, tasks, tiles

        layers.on_register(tiles.watch_tables)
        layers.register_basemap_layers()
        jobs.register_import(tasks.OSM_ROADS)
