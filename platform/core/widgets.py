"""The admin's map widget without the internet: OpenLayers from our static files, our areas as base map."""

from django.contrib.gis.forms import OSMWidget

from .selectors import city_home


class OfflineMapWidget(OSMWidget):
    """Starts at the city profile's home view (read when drawn: the widget is made once, at import)."""

    template_name = "core/offline_map_widget.html"

    def get_context(self, name, value, attrs):
        home = city_home()
        lon, lat = home["center"]
        # the home zoom is MapLibre's (512 px tiles); OpenLayers' 256 px tiles count one level more for the same view
        self.attrs.update(default_lon=lon, default_lat=lat, default_zoom=home["zoom"] + 1)
        return super().get_context(name, value, attrs)

    class Media:
        extend = False  # drop the parent's CDN links
        css = {"all": ("vendor/ol/ol.css", "gis/css/ol3.css")}
        js = ("vendor/ol/dist/ol.js", "gis/js/OLMapWidget.js")
