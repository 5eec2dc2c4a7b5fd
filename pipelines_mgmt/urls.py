"""Pipeline API routes (mounted at /api/pipelines/)."""

urlpatterns: list = []
