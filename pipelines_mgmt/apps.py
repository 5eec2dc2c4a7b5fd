from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PipelinesConfig(AppConfig):
    name = "pipelines_mgmt"
    verbose_name = _("Pipelines")

    def ready(self):
        from core.realtime import register_snapshot

        from . import layers
        from .services import pipeline_snapshot

        register_snapshot("pipeline", pipeline_snapshot)
        layers.register_layers()
