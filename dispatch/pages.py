"""Dispatch pages: the command wall and the dispatcher console. Data comes from the API and /ws/ops/."""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.urls import reverse

from core.api import HealthView
from core.models import Organisation, Role

from .models import Incident, Vehicle

WALL_ROLES = (Role.OPERATOR, Role.LEADER, Role.ADMIN, Role.CALL_TAKER)
CONSOLE_ROLES = (Role.CALL_TAKER, Role.OPERATOR, Role.ADMIN)


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


def _labels() -> dict:
    """Code → label tables the page scripts show, in the interface language."""
    return {
        "agency": {code: str(label) for code, label in Organisation.Agency.choices},
        "incident_status": {code: str(label) for code, label in Incident.Status.choices},
        "vehicle_status": {code: str(label) for code, label in Vehicle.Status.choices},
        "vehicle_kind": {code: str(label) for code, label in Vehicle.Kind.choices},
    }


def _may_read_health(request) -> bool:
    """Whether the page shows the system-health panel: only to those the health API answers (a GET there)."""
    return all(permission().has_permission(request, None) for permission in HealthView.permission_classes)


@role_page(*WALL_ROLES)
def wall(request):
    context = {
        "labels": _labels(),
        # The gis app's dark vector-tile base map, served by this same server (offline intranet).
        "basemap_url": reverse("tile-style", args=["basemap-dark"]),
        "agencies": Organisation.Agency.values,
        "agency_choices": Organisation.Agency.choices,
        "health_panel": _may_read_health(request),
    }
    return render(request, "dispatch/wall.html", context)


@role_page(*CONSOLE_ROLES)
def console(request):
    return render(request, "dispatch/console.html", {"labels": _labels(), "health_panel": _may_read_health(request)})
