"""Leader REST API under /api/leader/."""

from django.urls import path

from . import api

urlpatterns = [
    path("summary/", api.SummaryView.as_view(), name="leader-summary"),
    path("layers/<str:layer>/", api.LayerView.as_view(), name="leader-layer"),
    path("trends/<str:indicator>/", api.TrendView.as_view(), name="leader-trend"),
    path("incidents/<int:incident_id>/situation/", api.SituationView.as_view(), name="leader-situation"),
    path("incidents/<int:incident_id>/annotations/", api.AnnotationListView.as_view(), name="leader-annotations"),
    path(
        "incidents/<int:incident_id>/annotations/<int:annotation_id>/",
        api.AnnotationDetailView.as_view(),
        name="leader-annotation",
    ),
    path("reports/<str:view>.<str:fmt>", api.ReportView.as_view(), name="leader-report"),
]
