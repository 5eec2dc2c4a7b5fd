"""Open311 GeoReport v2 under /open311/v2/ (JSON and XML)."""

from django.urls import path

from . import open311

urlpatterns = [
    path("discovery.<str:fmt>", open311.DiscoveryView.as_view(), name="open311-discovery"),
    path("services.<str:fmt>", open311.ServiceListView.as_view(), name="open311-services"),
    path("services/<str:code>.<str:fmt>", open311.ServiceDefinitionView.as_view(), name="open311-service"),
    path("requests.<str:fmt>", open311.RequestListView.as_view(), name="open311-requests"),
    path("requests/<str:number>.<str:fmt>", open311.RequestDetailView.as_view(), name="open311-request"),
    path("media/<int:pk>", open311.MediaView.as_view(), name="open311-media"),
]
