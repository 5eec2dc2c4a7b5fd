"""notify API routes."""

urlpatterns = []
