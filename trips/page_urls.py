"""trips pages."""

urlpatterns = []
