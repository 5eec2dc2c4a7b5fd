"""The fence editor (/fences/): draw fences on the city map and attach their rules; its data comes from /api/fences/."""

from django.shortcuts import render
from django.urls import reverse

from core.models import Role
from dispatch.pages import role_page

from .services import MAX_RADIUS_M

# Who writes fences through the API (fences.api EDITORS): the screen is an editor, so it is theirs.
EDITOR_ROLES = (Role.OPERATOR, Role.ADMIN)


@role_page(*EDITOR_ROLES)
def fences_page(request):
    context = {"basemap_url": reverse("tile-style", args=["basemap-dark"]), "max_radius_m": int(MAX_RADIUS_M)}
    return render(request, "fences/fences.html", context)
