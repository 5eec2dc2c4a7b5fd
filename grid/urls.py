"""City-management REST API under /api/grid/."""

urlpatterns = []
