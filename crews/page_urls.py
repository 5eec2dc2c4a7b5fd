"""crews pages: the crew app /mdt/ (a PWA: its worker and manifest are served from its own scope)."""

from django.urls import path

from . import pages

urlpatterns = [
    path("mdt/", pages.crew_app, name="crews-app"),
    path("mdt/sw.js", pages.service_worker, name="crews-app-sw"),
    path("mdt/manifest.webmanifest", pages.manifest, name="crews-app-manifest"),
]
