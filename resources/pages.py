"""The resources page (/resources/): the resource layers on a map, and the search from an incident or a point."""

from django.shortcuts import render
from django.urls import reverse

from dispatch.pages import role_page

from . import selectors
from .api import READ_ROLES
from .models import HazardSource


@role_page(*READ_ROLES)
def resources_page(request):
    return render(
        request,
        "resources/page.html",
        {
            "basemap_url": reverse("tile-style", args=["basemap-dark"]),
            "supplies": selectors.supply_items(),
            "skills": selectors.specialties("skill"),
            "hazard_kinds": HazardSource.Kind.choices,
        },
    )
