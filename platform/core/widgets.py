"""The admin's map widget without the internet: OpenLayers from our static files, our areas as base map."""

from django.contrib.gis.forms import OSMWidget


class OfflineMapWidget(OSMWidget):
    template_name = "core/offline_map_widget.html"
    default_lon = 114.05
    default_lat = 22.54
    default_zoom = 11

    class Media:
        extend = False  # drop the parent's CDN links
        css = {"all": ("vendor/ol/ol.css", "gis/css/ol3.css")}
        js = ("vendor/ol/dist/ol.js", "gis/js/OLMapWidget.js")
