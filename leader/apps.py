from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LeaderConfig(AppConfig):
    """Leaders' decision maps (领导辅助决策): dashboards, trends, situation maps, offline map reports."""

    name = "leader"
    verbose_name = _("Decision maps")
