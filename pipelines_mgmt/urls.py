"""Pipeline API routes (mounted at /api/pipelines/)."""

from django.urls import path

from . import api

urlpatterns = [
    path("networks/", api.NetworkListView.as_view(), name="pipelines-network-list"),
    path("networks/<slug:code>/topology/", api.TopologyView.as_view(), name="pipelines-topology"),
    path("isolation/", api.IsolationView.as_view(), name="pipelines-isolation"),
    path("repair-orders/", api.RepairOrderListView.as_view(), name="pipelines-repair-order-list"),
    path("repair-orders/<str:number>/", api.RepairOrderDetailView.as_view(), name="pipelines-repair-order"),
    path("repair-orders/<str:number>/print/", api.RepairOrderPrintView.as_view(), name="pipelines-repair-order-print"),
    path("valves/<int:pk>/", api.ValveDetailView.as_view(), name="pipelines-valve"),
]
