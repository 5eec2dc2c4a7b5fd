"""transport API under /api/transport/."""

from django.urls import path

from . import api

urlpatterns = [
    path("vehicles/", api.KeyVehicleListView.as_view(), name="transport-vehicles"),
    path("vehicles/<int:pk>/track/", api.KeyVehicleTrackView.as_view(), name="transport-vehicle-track"),
    path("alarms/", api.KeyAlarmListView.as_view(), name="transport-alarms"),
    path("platforms/", api.PlatformListView.as_view(), name="transport-platforms"),
]
