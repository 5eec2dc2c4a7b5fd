from django.urls import path

from . import api

urlpatterns = [
    path("roads/", api.RoadListView.as_view(), name="road-list"),
    path("rasters/", api.RasterListView.as_view(), name="raster-list"),
    path("rasters/<str:name>/value/", api.RasterValueView.as_view(), name="raster-value"),
    path("rasters/<str:name>/profile/", api.RasterProfileView.as_view(), name="raster-profile"),
    path("rasters/<str:name>/zonal/", api.RasterZonalView.as_view(), name="raster-zonal"),
]
urlpatterns += [
    path("imports/", api.ImportListView.as_view(), name="import-list"),
    path("imports/rasters/<str:name>/", api.RasterImportView.as_view(), name="raster-import"),
    path("imports/<uuid:preview_id>/", api.ImportDetailView.as_view(), name="import-detail"),
    path("imports/<uuid:preview_id>/commit/", api.ImportCommitView.as_view(), name="import-commit"),
    path("layers/<str:layer_id>/export/", api.ExportView.as_view(), name="layer-export"),
]
urlpatterns += [path("transform/", api.TransformView.as_view(), name="crs-transform")]
urlpatterns += [
    path("layers/<str:layer_id>/stats/", api.LayerStatsView.as_view(), name="layer-stats"),
    path("zones/", api.ZoneListView.as_view(), name="zone-list"),
    path("saved-queries/", api.SavedQueryListView.as_view(), name="saved-query-list"),
    path("saved-queries/<int:pk>/", api.SavedQueryDetailView.as_view(), name="saved-query-detail"),
]
urlpatterns += [
    path("geocode/", api.GeocodeView.as_view(), name="geocode"),
    path("reverse/", api.ReverseGeocodeView.as_view(), name="reverse-geocode"),
]
