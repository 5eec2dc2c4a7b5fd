"""crews API under /api/crews/."""

urlpatterns = []
