"""Pipeline API routes (mounted at /api/pipelines/)."""

from django.urls import path

from . import api

urlpatterns = [
    path("networks/", api.NetworkListView.as_view(), name="pipelines-network-list"),
    path("networks/import/", api.NetworkImportView.as_view(), name="pipelines-network-import"),
    path("networks/import/survey/", api.NetworkSurveyImportView.as_view(), name="pipelines-network-import-survey"),
    path("networks/<slug:code>/export.gpkg", api.NetworkExportView.as_view(), name="pipelines-network-export"),
    path("networks/<slug:code>/features/", api.NetworkFeaturesView.as_view(), name="pipelines-network-features"),
    path("networks/<slug:code>/topology/", api.TopologyView.as_view(), name="pipelines-topology"),
    path("isolation/", api.IsolationView.as_view(), name="pipelines-isolation"),
    path("clearances/", api.ClearanceView.as_view(), name="pipelines-clearances"),
    path("maintenance-warnings/", api.MaintenanceWarningsView.as_view(), name="pipelines-maintenance-warnings"),
    path("connectivity/", api.ConnectivityView.as_view(), name="pipelines-connectivity"),
    path("profile/", api.ProfileView.as_view(), name="pipelines-profile"),
    path("repair-orders/", api.RepairOrderListView.as_view(), name="pipelines-repair-order-list"),
    path("repair-orders/<str:number>/", api.RepairOrderDetailView.as_view(), name="pipelines-repair-order"),
    path(
        "repair-orders/<str:number>/valves-closed/",
        api.RepairOrderValveClosedView.as_view(),
        name="pipelines-repair-order-valve-closed",
    ),
    path("repair-orders/<str:number>/map/", api.RepairOrderMapView.as_view(), name="pipelines-repair-order-map"),
    path(
        "repair-orders/<str:number>/valves-failed/",
        api.RepairOrderValveFailedView.as_view(),
        name="pipelines-repair-order-valve-failed",
    ),
    path("repair-orders/<str:number>/step/", api.RepairOrderStepView.as_view(), name="pipelines-repair-order-step"),
    path(
        "repair-orders/<str:number>/notify-customers/",
        api.RepairOrderNotifyCustomersView.as_view(),
        name="pipelines-repair-order-notify-customers",
    ),
    path("repair-orders/<str:number>/print/", api.RepairOrderPrintView.as_view(), name="pipelines-repair-order-print"),
    path("repair-orders/<str:number>/pdf/", api.RepairOrderPdfView.as_view(), name="pipelines-repair-order-pdf"),
    path("valves/<int:pk>/", api.ValveDetailView.as_view(), name="pipelines-valve"),
]
