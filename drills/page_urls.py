"""Drills page."""

from django.urls import path

from . import pages

urlpatterns = [path("drills/", pages.console, name="drills-console")]
