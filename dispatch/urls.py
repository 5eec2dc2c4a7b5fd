"""Dispatch REST API under /api/dispatch/."""

from django.urls import path

from . import api

urlpatterns = [
    path("incident-types/", api.IncidentTypeListView.as_view(), name="dispatch-incident-types"),
    path("incidents/", api.IncidentListView.as_view(), name="dispatch-incidents"),
    path("incidents/<int:pk>/", api.IncidentDetailView.as_view(), name="dispatch-incident"),
    path("incidents/<int:pk>/recommendation/", api.RecommendationView.as_view(), name="dispatch-recommendation"),
    path("incidents/<int:pk>/dispatch/", api.DispatchView.as_view(), name="dispatch-dispatch"),
    path("incidents/<int:pk>/status/", api.IncidentStatusView.as_view(), name="dispatch-incident-status"),
    path("incidents/<int:pk>/agencies/", api.AgencyLinkView.as_view(), name="dispatch-incident-agencies"),
    path("assignments/<int:pk>/status/", api.AssignmentStatusView.as_view(), name="dispatch-assignment-status"),
    path("units/", api.UnitListView.as_view(), name="dispatch-units"),
    path("vehicles/<int:pk>/track/", api.TrackView.as_view(), name="dispatch-track"),
    path("alarms/", api.AlarmListView.as_view(), name="dispatch-alarms"),
    path("alarms/<int:pk>/acknowledge/", api.AlarmAcknowledgeView.as_view(), name="dispatch-alarm-acknowledge"),
    path("alarms/<int:pk>/close/", api.AlarmCloseView.as_view(), name="dispatch-alarm-close"),
    path("kpis/", api.KpiView.as_view(), name="dispatch-kpis"),
    path("vehicles/<int:pk>/commands/", api.VehicleCommandsView.as_view(), name="dispatch-vehicle-commands"),
    path("command-batches/", api.CommandBatchListView.as_view(), name="dispatch-command-batches"),
    path("command-batches/<int:pk>/", api.CommandBatchView.as_view(), name="dispatch-command-batch"),
    path("vehicle-groups/", api.VehicleGroupListView.as_view(), name="dispatch-vehicle-groups"),
    path("vehicles/<int:pk>/messages/", api.MdtMessagesView.as_view(), name="dispatch-mdt-messages"),
    path(
        "vehicles/<int:pk>/messages/<int:command_id>/read/",
        api.MdtMessageReadView.as_view(),
        name="dispatch-mdt-message-read",
    ),
]
