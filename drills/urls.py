"""Drills API under /api/drills/."""

from django.urls import path

from . import api

urlpatterns = [
    path("scenarios/", api.ScenarioListView.as_view(), name="drills-scenarios"),
    path("", api.DrillListView.as_view(), name="drills"),
    path("<int:pk>/", api.DrillDetailView.as_view(), name="drills-detail"),
    path("<int:pk>/finish/", api.DrillFinishView.as_view(), name="drills-finish"),
]
