from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ExchangeConfig(AppConfig):
    """数据交换: cases and their steps reported up to the provincial/national 城市运行管理服务平台, tasks taken from it.

    grid does not know this app: each line grid writes into a case's history fires ``core.hooks.case_steps_recorded``
    inside its transaction, and the handler connected here writes the outbox row in that same transaction."""

    name = "exchange"
    verbose_name = _("Data exchange")

    def ready(self):
        from core import hooks

        from . import services

        hooks.case_steps_recorded.connect(services.record_steps)
