from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FencesConfig(AppConfig):
    """Fences drawn by operators and the rules attached to them, evaluated on every stored fix."""

    name = "fences"
    verbose_name = _("Fences and rules")

    def ready(self):
        from core.hooks import positions_stored

        from .services import judge_positions

        positions_stored.connect(judge_positions)
