"""Vector tiles, raster tiles and map styles under /tiles/."""

from django.urls import path, register_converter

from . import tile_views


class _Signed:
    regex = "[0-9]{1,8}"

    def to_python(self, value):
        return int(value)

    def to_url(self, value):
        return str(value)


register_converter(_Signed, "tile")

urlpatterns = [
    path("raster/<str:name>/<tile:z>/<tile:x>/<tile:y>.png", tile_views.raster_tile, name="raster-tile"),
    path("styles/<str:name>.json", tile_views.style, name="tile-style"),
    path("preview/", tile_views.preview, name="basemap-preview"),
    path("<str:layer>/<tile:z>/<tile:x>/<tile:y>.pbf", tile_views.vector_tile, name="vector-tile"),
]
