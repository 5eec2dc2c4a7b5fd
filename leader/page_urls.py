"""Leader pages: /leader/ (dashboard) and the situation map of an incident."""

urlpatterns = []
