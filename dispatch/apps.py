from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DispatchConfig(AppConfig):
    name = "dispatch"
    verbose_name = _("Emergency dispatch")

    def ready(self):
        from core.realtime import register_snapshot

        from . import layers
        from .selectors import alarm_features, incident_features, vehicle_features

        register_snapshot("vehicles", vehicle_features)
        register_snapshot("incidents", incident_features)
        register_snapshot("alarms", alarm_features)
        layers.register_layers()
