from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PipelinesConfig(AppConfig):
    name = "pipelines_mgmt"
    verbose_name = _("Pipelines")

    def ready(self):
        from core import hooks, jobs
        from core.realtime import register_snapshot
        from gis import importing

        from . import layers, tasks
        from .importers import EpanetHandler
        from .services import on_incident_opened, pipeline_snapshot

        importing.register(EpanetHandler())
        register_snapshot("pipeline", pipeline_snapshot)
        hooks.incident_opened.connect(on_incident_opened)
        layers.register_layers()
        jobs.register_import(tasks.EPANET)
        jobs.register_import(tasks.GIS_NETWORK)
        jobs.register_import(tasks.SURVEY)
