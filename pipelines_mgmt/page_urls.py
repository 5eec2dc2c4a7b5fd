"""Planner workbench page: /planner/."""

from django.urls import path

from . import pages

urlpatterns = [path("planner/", pages.planner, name="planner")]
