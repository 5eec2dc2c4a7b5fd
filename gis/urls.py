from django.urls import path

from . import api

urlpatterns = [
    path("roads/", api.RoadListView.as_view(), name="road-list"),
    path("rasters/", api.RasterListView.as_view(), name="raster-list"),
    path("rasters/<str:name>/value/", api.RasterValueView.as_view(), name="raster-value"),
    path("rasters/<str:name>/profile/", api.RasterProfileView.as_view(), name="raster-profile"),
    path("rasters/<str:name>/zonal/", api.RasterZonalView.as_view(), name="raster-zonal"),
]
