"""resources API routes."""

urlpatterns = []
