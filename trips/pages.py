"""The replay screen (/replay/) and the fleet reports (/trips/); their data comes from /api/trips/."""

from django.shortcuts import render
from django.urls import reverse

from core.models import Organisation
from dispatch.pages import role_page

from .api import READ_ROLES
from .selectors import MAX_REPLAY_VEHICLES


@role_page(*READ_ROLES)
def replay_page(request):
    context = {"basemap_url": reverse("tile-style", args=["basemap-dark"]), "max_vehicles": MAX_REPLAY_VEHICLES}
    return render(request, "trips/replay.html", context)


@role_page(*READ_ROLES)
def reports_page(request):
    return render(request, "trips/reports.html", {"agency_choices": Organisation.Agency.choices})
