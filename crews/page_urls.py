"""crews pages."""

urlpatterns = []
