"""fences pages."""

urlpatterns = []
