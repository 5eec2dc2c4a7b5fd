"""fences API under /api/fences/."""

from django.urls import path

from . import api

urlpatterns = [
    path("", api.FenceListView.as_view(), name="fences"),
    path("options/", api.OptionsView.as_view(), name="fences-options"),
    path("<int:pk>/", api.FenceDetailView.as_view(), name="fence"),
    path("<int:pk>/rules/", api.RuleListView.as_view(), name="fence-rules"),
    path("rules/<int:pk>/", api.RuleDetailView.as_view(), name="fence-rule"),
]
