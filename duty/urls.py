"""duty API routes."""

urlpatterns = []
