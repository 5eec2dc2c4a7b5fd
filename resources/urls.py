"""resources API routes (/api/resources/)."""

from django.urls import path

from . import api

urlpatterns = [
    path("codes/", api.CodesView.as_view(), name="resources-codes"),
    path("search/", api.SearchView.as_view(), name="resources-search"),
    path("experts/", api.ExpertListView.as_view(), name="resources-experts"),
    path("experts/<int:pk>/", api.ExpertDetailView.as_view(), name="resources-expert"),
    path("depots/<int:pk>/stock/", api.StockView.as_view(), name="resources-depot-stock"),
    path("shelters/<int:pk>/check-in/", api.ShelterOccupancyView.as_view(action="check_in"), name="resources-check-in"),
    path(
        "shelters/<int:pk>/check-out/", api.ShelterOccupancyView.as_view(action="check_out"), name="resources-check-out"
    ),
    path("shelters/<int:pk>/status/", api.ShelterStatusView.as_view(), name="resources-shelter-status"),
    path("requests/", api.RequestListView.as_view(), name="resources-requests"),
    path("requests/<int:pk>/allocate/", api.AllocateView.as_view(), name="resources-allocate"),
    path("requests/<int:pk>/cancel/", api.RequestCancelView.as_view(), name="resources-request-cancel"),
    path("allocations/<int:pk>/release/", api.AllocationCloseView.as_view(action="release"), name="resources-release"),
    path("allocations/<int:pk>/consume/", api.AllocationCloseView.as_view(action="consume"), name="resources-consume"),
]
for _kind in api.KINDS:
    _list, _detail = api.layer_views(_kind)
    urlpatterns += [
        path(f"{_kind}/", _list, name=f"resources-{_kind}"),
        path(f"{_kind}/<int:pk>/", _detail, name=f"resources-{_kind[:-1]}"),
    ]
