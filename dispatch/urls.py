"""Dispatch REST API under /api/dispatch/."""

urlpatterns = []
