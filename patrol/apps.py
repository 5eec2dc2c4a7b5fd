from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PatrolConfig(AppConfig):
    """Inspector patrol (监督员巡查): positions from the tablet kept as tracks, patrol shifts and attendance, and the
    patrol effort (time on duty, time and distance in one's own grids) the inspector KPIs count."""

    name = "patrol"
    verbose_name = _("Inspector patrol")

    def ready(self):
        from core.realtime import register_event_filter, register_snapshot

        from . import selectors

        register_snapshot("inspectors", selectors.snapshot)
        register_event_filter("inspectors", selectors.inspector_event_filter)
