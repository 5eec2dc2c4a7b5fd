from django.urls import path

from . import api

urlpatterns = [
    path("roads/", api.RoadListView.as_view(), name="road-list"),
]
