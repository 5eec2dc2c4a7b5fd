"""Dispatch pages: /wall/ (command wall) and /dispatch/ (dispatcher console)."""

from django.urls import path

from . import pages

urlpatterns = [
    path("wall/", pages.wall, name="dispatch-wall"),
    path("dispatch/", pages.console, name="dispatch-console"),
]
