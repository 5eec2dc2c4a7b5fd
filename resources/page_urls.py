"""The resources page: /resources/."""

from django.urls import path

from . import pages

urlpatterns = [path("resources/", pages.resources_page, name="resources-page")]
