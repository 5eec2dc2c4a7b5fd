"""transport API under /api/transport/."""

urlpatterns = []
