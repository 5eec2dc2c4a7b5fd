"""trips API under /api/trips/."""

from django.urls import path

from . import api

urlpatterns = [
    path("vehicles/", api.VehicleSearchView.as_view(), name="trips-vehicles"),
    path("groups/", api.GroupListView.as_view(), name="trips-groups"),
    path("replay/", api.ReplayView.as_view(), name="trips-replay"),
    path("reports/<str:kind>/", api.ReportView.as_view(), name="trips-report"),
]
