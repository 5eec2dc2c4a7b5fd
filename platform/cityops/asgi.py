"""ASGI entry point: HTTP through Django, WebSocket `/ws/ops/` through Channels with session auth."""

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
from django.core.asgi import get_asgi_application  # noqa: E402

django_asgi_app = get_asgi_application()

from cityops.routing import websocket_urlpatterns  # noqa: E402
from gis.upload_limit import UploadLimit  # noqa: E402

application = ProtocolTypeRouter(
    {
        # An oversized upload to the import API is refused from its Content-Length before Django reads it.
        "http": UploadLimit(django_asgi_app),
        "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
