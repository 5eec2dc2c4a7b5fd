"""Vector tiles, raster tiles and map styles under /tiles/."""

urlpatterns = []
