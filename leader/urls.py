"""Leader REST API under /api/leader/."""

urlpatterns = []
