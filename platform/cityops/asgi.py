"""ASGI entry point: HTTP through Django (one thread hop per request, core.http_bridge), except the vector tiles of
viewers already verified (gis.tile_server, on the event loop); WebSocket `/ws/ops/` through Channels with session
auth."""

import os
import sys
from pathlib import Path

_ROOT = Path(__file__).resolve().parents[2]
for _path in (str(_ROOT / "platform"), str(_ROOT)):
    if _path not in sys.path:
        sys.path.append(_path)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cityops.settings")

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django import setup  # noqa: E402
from django.conf import settings  # noqa: E402

setup(set_prefix=False)

from cityops.routing import websocket_urlpatterns  # noqa: E402
from core.http_bridge import DjangoHTTP  # noqa: E402
from core.ws_guard import TryAgainLater  # noqa: E402
from gis.tile_server import VectorTiles  # noqa: E402

application = ProtocolTypeRouter(
    {
        # A body larger than its route allows is refused (413) before Django reads it (core/http_bridge.py).
        "http": VectorTiles(DjangoHTTP(), pool_size=settings.CITYOPS_TILE_DB_POOL),
        "websocket": AllowedHostsOriginValidator(TryAgainLater(AuthMiddlewareStack(URLRouter(websocket_urlpatterns)))),
    }
)
