"""transport pages."""

urlpatterns = []
