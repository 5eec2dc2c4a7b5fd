"""WebSocket routes."""

from core.consumers import OpsConsumer
from django.urls import path

websocket_urlpatterns = [path("ws/ops/", OpsConsumer.as_asgi())]
