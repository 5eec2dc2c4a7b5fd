from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = _("Core")

    def ready(self) -> None:
        from django.core.signals import request_started
        from django.db.models.signals import post_delete, post_save

        from . import security_log
        from .models import CityProfile
        from .selectors import forget_metric_srid

        security_log.connect()
        for signal in (post_save, post_delete):
            signal.connect(forget_metric_srid, sender=CityProfile, dispatch_uid="forget_metric_srid")
        request_started.connect(forget_metric_srid, dispatch_uid="forget_metric_srid")
