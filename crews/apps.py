from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CrewsConfig(AppConfig):
    """Crew apps: the unit's mobile data terminal (MDT) and the repair crew's work order on a tablet or phone."""

    name = "crews"
    verbose_name = _("Crew apps")
