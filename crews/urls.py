"""crews API under /api/crews/."""

from django.urls import path

from . import api

urlpatterns = [
    path("vehicles/", api.VehicleListView.as_view(), name="crews-vehicles"),
    path("mdt/", api.SignOnView.as_view(), name="crews-mdt"),
    path("mdt/status/", api.StatusView.as_view(), name="crews-mdt-status"),
]
