"""Duty REST API under /api/duty/."""

from django.urls import path

from . import api

urlpatterns = [
    path("desks/", api.DeskListView.as_view(), name="duty-desks"),
    path("now/", api.NowView.as_view(), name="duty-now"),
    path("roster/", api.RosterView.as_view(), name="duty-roster"),
    path("roster/import/", api.RosterImportView.as_view(), name="duty-roster-import"),
    path("desks/<int:pk>/sign-on/", api.SignOnView.as_view(), name="duty-sign-on"),
    path("desks/<int:pk>/items/", api.ItemListView.as_view(), name="duty-items"),
    path("desks/<int:pk>/log/", api.LogView.as_view(), name="duty-log"),
    path("sessions/<int:pk>/hand-over/", api.HandoverView.as_view(), name="duty-hand-over"),
    path("items/<int:pk>/done/", api.ItemDoneView.as_view(), name="duty-item-done"),
]
