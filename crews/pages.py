"""The crew app /mdt/ (a PWA like the inspector's /m/, with the same service worker and outbox): a unit's MDT for
an agency's crew, the repair orders for a utility's crew. The page is a shell; its data comes from /api/crews/
and /api/pipelines/repair-orders/."""

from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.cache import never_cache

from core.models import Organisation, Role
from grid.pages import field_app_manifest, field_app_worker, role_page

CREW_ROLES = (Role.CREW, Role.ADMIN)
SHELL_STATIC = (
    "frontend/base.css",
    "frontend/favicon.svg",
    "frontend/tablet.css",
    "frontend/crews.css",
    "frontend/crews/crew-app.js",
    "frontend/crews/mdt-steps.js",
    "frontend/crews/mdt.js",
    "frontend/crews/repair.js",
    "frontend/grid/tablet-outbox.js",
    "frontend/grid/grid-map.js",
    "frontend/lib/api.js",
    "frontend/lib/dom.js",
    "frontend/lib/geo.js",
    "frontend/lib/map.js",
    "frontend/pwa/icon-192.png",
    "frontend/pwa/icon-512.png",
    "vendor/maplibre-gl/maplibre-gl.mjs",
    "vendor/maplibre-gl/maplibre-gl.css",
)
PRELOAD_API = ("/api/core/areas/?level=district", "/api/gis/roads/", "/api/crews/mdt/", "/api/crews/vehicles/")
# Reads kept for offline use (network first, the last answer without a network).
OFFLINE_API = (
    "/api/core/areas/",
    "/api/gis/roads/",
    "/api/crews/",
    "/api/pipelines/repair-orders/",
    "/api/dispatch/vehicles/",  # the MDT's messages from the dispatcher
)


def modes(user) -> list[str]:
    """Which side of the app the user works: a unit's MDT (an emergency agency's crew), repair orders (a utility's
    crew); an administrator sees both."""
    if user.has_role(Role.ADMIN):
        return ["unit", "repair"]
    kind = user.organisation.kind if user.organisation_id else None
    return {Organisation.Kind.AGENCY: ["unit"], Organisation.Kind.UTILITY: ["repair"]}.get(kind, [])


def strings() -> dict[str, str]:
    return {
        "online": _("Online"),
        "offline": _("Offline"),
        "allSent": _("Everything sent"),
        "queued": _("{n} waiting to be sent"),
        "queuedOffline": _("Offline: {n} waiting to be sent"),
        "sending": _("Sending…"),
        "failed": _("{n} refused: {reason}"),
        "chooseVehicle": _("Sign on to a vehicle for your shift"),
        "signOn": _("Sign on"),
        "signOff": _("Sign off"),
        "confirmSignOff": _("Sign off from {unit}?"),
        "noVehicles": _("No vehicle of your agency to sign on to."),
        "noJob": _("No assignment. Waiting for the dispatcher."),
        "priority": _("Priority {p}"),
        "eta": _("ETA {min} min"),
        "address": _("Address"),
        "description": _("Description"),
        "caller": _("Caller"),
        "timeline": _("Timeline"),
        "status": _("Status"),
        "pending": _("waiting to be sent"),
        "en_route": _("En route"),
        "on_scene": _("On scene"),
        "transporting": pgettext("unit status", "Transporting"),
        "cleared": _("Cleared"),
        "dispatched": _("Dispatched"),
        "returning": _("Returning"),
        "messages": _("Messages from the dispatcher"),
        "noMessages": _("No messages."),
        "markRead": _("Read"),
        "readAt": _("Read {time}"),
        "orders": _("Repair orders"),
        "noOrders": _("No repair orders under way."),
        "customers": _("{n} customers without supply"),
        "valvesToClose": _("Valves to close, in order"),
        "valveClosed": pgettext("valve", "Closed"),
        "valveFailed": pgettext("valve", "Will not close"),
        "valve_closed": pgettext("crew log", "Valve closed"),
        "valve_failed": pgettext("crew log", "Valve would not close"),
        "confirmFailed": _("Valve {code} will not close? The isolation will be planned again past it."),
        "failedValves": _("Valves that would not close"),
        "replanned": _("Planned again past valve {code}: {n} valves to close."),
        "isolated": pgettext("crew step", "Isolated"),
        "repaired": pgettext("crew step", "Repaired"),
        "restored": pgettext("crew step", "Supply restored"),
        "needsNetwork": _("This needs a connection to the server."),
        "record": _("Repair record"),
        "crew": _("Crew"),
        "duration": _("Duration"),
        "outageEnded": _("Supply restored: the outage has ended."),
        "back": _("Back"),
        "refused": _("Refused: {reason}"),
        "unitMode": _("Unit"),
        "repairMode": _("Repair"),
    }


@role_page(*CREW_ROLES)
def crew_app(request):
    config = {"user": request.user.pk, "modes": modes(request.user), "strings": strings()}
    return render(request, "crews/app.html", {"config": config})


@never_cache
def service_worker(request):
    """The crew app's service worker (grid's field-app worker). Public: it holds no data."""
    return field_app_worker("/mdt/", "cityops-mdt", SHELL_STATIC, OFFLINE_API, PRELOAD_API)


def manifest(request):
    return field_app_manifest(
        request,
        "/mdt/",
        name=_("CityOps crew app"),
        short_name=_("Crew"),
        description=_("The unit's assignment, route and status; the repair crew's valves and steps."),
    )
