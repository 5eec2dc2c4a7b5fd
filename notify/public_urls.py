"""Public warnings (公众预警), no sign-in: the page, the CAP feed and each CAP alert (mounted at /warnings/)."""

from django.urls import path

from . import public

urlpatterns = [
    path("", public.warnings_page, name="public-warnings"),
    path("cap/", public.cap_feed, name="public-warnings-cap"),
    path("cap/<slug:identifier>.xml", public.cap_alert, name="public-warning-cap"),
]
