"""Upward exchange REST API under /api/exchange/."""

from django.urls import path

from . import api

urlpatterns = [
    path("tasks/", api.TaskView.as_view(), name="exchange-tasks"),
    path("status/", api.StatusView.as_view(), name="exchange-status"),
    path("records/<str:record_id>/retry/", api.RetryView.as_view(), name="exchange-retry"),
]
