"""WebSocket routes."""

from django.urls import path

from core.consumers import OpsConsumer

websocket_urlpatterns = [path("ws/ops/", OpsConsumer.as_asgi())]
