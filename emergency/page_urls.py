"""Response-plan pages."""

from django.urls import path

from . import pages

urlpatterns = [
    path(
        "emergency/incidents/<int:incident_id>/report/", pages.after_action_report, name="emergency-after-action-page"
    ),
]
