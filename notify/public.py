"""The public side of warnings: open to anyone (the public and other alerting systems), read-only."""

from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from . import cap, selectors

FEED_SIZE = 50


def warnings_page(request):
    """公众预警: the current warnings in Chinese, newest first; a drill (Exercise) is marked as one."""
    warnings = list(selectors.public_warnings()[:FEED_SIZE])
    return render(request, "notify/warnings.html", {"warnings": warnings})


def cap_feed(request):
    """An Atom index of the CAP alerts, each entry linking to /warnings/cap/<identifier>.xml."""
    base = request.build_absolute_uri("/").rstrip("/")
    body = cap.feed_xml(selectors.public_warnings()[:FEED_SIZE], base, _("Public warnings"))
    return HttpResponse(body, content_type="application/atom+xml; charset=utf-8")


def cap_alert(request, identifier: str):
    warning = selectors.public_warnings().filter(identifier=identifier).first()
    if warning is None:
        raise Http404(identifier)
    return HttpResponse(cap.alert_xml(warning), content_type="application/cap+xml; charset=utf-8")
