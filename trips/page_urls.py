"""trips pages: /replay/ (track replay) and /trips/ (fleet reports)."""

from django.urls import path

from . import pages

urlpatterns = [
    path("replay/", pages.replay_page, name="trips-replay-page"),
    path("trips/", pages.reports_page, name="trips-reports-page"),
]
