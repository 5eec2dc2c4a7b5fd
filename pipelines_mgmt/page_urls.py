"""Planner workbench page: /planner/."""

urlpatterns = []
