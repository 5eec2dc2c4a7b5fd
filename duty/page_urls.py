"""Duty pages: /duty/ and the daily duty report."""

from django.urls import path

from . import pages

urlpatterns = [
    path("duty/", pages.console, name="duty-console"),
    path("duty/report/<str:day>/", pages.report, name="duty-report"),
]
