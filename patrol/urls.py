"""Inspector patrol REST API under /api/patrol/."""

from django.urls import path

from . import api

urlpatterns = [
    path("positions/", api.PositionBatchView.as_view(), name="patrol-positions"),
    path("on-duty/", api.OnDutyView.as_view(), name="patrol-on-duty"),
    path("effort/", api.EffortView.as_view(), name="patrol-effort"),
]
