"""Leader pages: /leader/ (dashboard) and the situation map of an incident."""

from django.urls import path

from . import pages

urlpatterns = [
    path("leader/", pages.dashboard, name="leader-dashboard"),
    path("leader/incidents/<int:incident_id>/", pages.situation, name="leader-situation-page"),
]
