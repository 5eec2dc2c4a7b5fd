"""fences API under /api/fences/."""

urlpatterns = []
