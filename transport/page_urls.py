"""transport pages: the transport bureau's key-vehicle console /transport/."""

from django.urls import path

from . import pages

urlpatterns = [path("transport/", pages.transport_page, name="transport-page")]
