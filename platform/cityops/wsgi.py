"""WSGI entry point (HTTP only; production uses ASGI for WebSockets)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cityops.settings")
application = get_wsgi_application()
