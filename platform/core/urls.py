from django.urls import path

from . import api

urlpatterns = [
    path("areas/", api.AreaListView.as_view(), name="area-list"),
    path("areas/<str:code>/", api.AreaDetailView.as_view(), name="area-detail"),
    path("locate/", api.LocateView.as_view(), name="locate"),
    path("me/", api.MeView.as_view(), name="me"),
    path("health/", api.HealthView.as_view(), name="health"),
]
