"""Dispatch pages: the command wall and the dispatcher console. Data comes from the API and /ws/ops/."""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.urls import Resolver404, resolve
from django.utils.translation import gettext_lazy as _

from core.models import Organisation, Role

from .models import Vehicle

WALL_ROLES = (Role.OPERATOR, Role.LEADER, Role.ADMIN, Role.CALL_TAKER)
CONSOLE_ROLES = (Role.CALL_TAKER, Role.OPERATOR, Role.ADMIN)
# The dark vector-tile style of the gis app; the wall draws districts and roads itself while it is not served.
BASEMAP_DARK = "/tiles/styles/basemap-dark.json"
INCIDENT_STATUS_LABELS = {
    "received": _("Received"),
    "dispatched": _("Dispatched"),
    "en_route": _("En route"),
    "on_scene": _("On scene"),
    "under_control": _("Under control"),
    "closed": _("Closed"),
}


def role_page(*roles: str):
    """A page for signed-in users holding one of `roles`; others get 403 (the login page for anonymous)."""

    def decorate(view):
        @login_required
        @wraps(view)
        def checked(request, *args, **kwargs):
            if not request.user.has_role(*roles):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return checked

    return decorate


def _served(path: str) -> bool:
    try:
        resolve(path)
    except Resolver404:
        return False
    return True


def _labels() -> dict:
    """Code → label tables the page scripts show, in the interface language."""
    return {
        "agency": {code: str(label) for code, label in Organisation.Agency.choices},
        "incident_status": {code: str(label) for code, label in INCIDENT_STATUS_LABELS.items()},
        "vehicle_status": {code: str(label) for code, label in Vehicle.Status.choices},
        "vehicle_kind": {code: str(label) for code, label in Vehicle.Kind.choices},
    }


@role_page(*WALL_ROLES)
def wall(request):
    basemap = BASEMAP_DARK if _served(BASEMAP_DARK) else ""
    context = {
        "labels": _labels(),
        "basemap_url": basemap,
        "agencies": Organisation.Agency.values,
        "agency_choices": Organisation.Agency.choices,
    }
    return render(request, "dispatch/wall.html", context)


@role_page(*CONSOLE_ROLES)
def console(request):
    return render(request, "dispatch/console.html", {"labels": _labels()})
