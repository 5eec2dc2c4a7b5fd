"""emergency API routes."""

urlpatterns = []
