"""City-management pages: /grid/ (case center), /m/ (inspector tablet PWA), /dept/ (department handler)."""

urlpatterns = []
