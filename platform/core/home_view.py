"""Where every map starts: the city profile's home view, handed to the page scripts by the server (frontend's
map_page.html puts it on `#map-controls`, lib/map.js reads it), and the Content-Security-Policy that lets such a
page fetch the profile's external base layer, when it has one, from that layer's host and no other.
"""

import json
from urllib.parse import urlsplit

from .selectors import city_home


def home_view(request):
    """Template context: `city_home`, the home view as JSON; read only by the pages that render it."""

    def as_json() -> str:
        request.city_home = city_home()
        return json.dumps(request.city_home)

    return {"city_home": as_json}


class BaseLayerPolicyMiddleware:
    """Lets a page that rendered the home view load tiles from the external base layer's origin (and only that)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        layer = (getattr(request, "city_home", None) or {}).get("baseLayer")
        if layer:
            parts = urlsplit(layer["url"])
            origin = f"{parts.scheme}://{parts.netloc}"
            response._csp_update = {"img-src": [origin], "connect-src": [origin]}
        return response
