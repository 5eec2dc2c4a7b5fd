from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TripsConfig(AppConfig):
    """Track replay and the fleet reports (trips, stops, mileage, speeding, time in fence) over the track table."""

    name = "trips"
    verbose_name = _("Replay and fleet reports")
