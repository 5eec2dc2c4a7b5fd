"""The transport bureau's console (/transport/): key vehicles live, their alarms, the JT/T 809 links."""

from django.shortcuts import render
from django.urls import reverse

from dispatch.pages import role_page

from .api import READ_ROLES


@role_page(*READ_ROLES)
def transport_page(request):
    return render(request, "transport/page.html", {"basemap_url": reverse("tile-style", args=["basemap-dark"])})
