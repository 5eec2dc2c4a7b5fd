"""trips API under /api/trips/."""

urlpatterns = []
