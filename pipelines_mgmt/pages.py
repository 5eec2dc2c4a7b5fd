"""The planner workbench (/planner/): the networks on a map, burst isolation, planning analyses.

The page is a shell: the map and the panels are drawn by frontend/static/frontend/planner.js from the
pipelines API, so every analysis a screen shows is one an API client can run too.
"""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.utils.translation import gettext as _

from core.models import Role

from . import selectors
from .api import REPAIR_ORDER_ROLES
from .models import Utility

PAGE_ROLES = (Role.PLANNER, Role.OPERATOR, Role.ADMIN, Role.LEADER)


def _strings() -> dict:
    """Every text the workbench script shows, in the user's language."""
    return {
        "mapTitle": _("Pipeline network map"),
        "zoomIn": _("Zoom in"),
        "zoomOut": _("Zoom out"),
        "resetBearing": _("Drag to rotate the map, click to reset north"),
        "closePopup": _("Close"),
        "loadFailed": _("Map data could not be loaded. Reload the page to try again."),
        "requestFailed": _("The request failed"),
        "working": _("Computing…"),
        "clickPipe": _("Click a pipe or a point on the map to plan the isolation of a burst there."),
        "clickStart": _("Click the first point of the run."),
        "clickEnd": _("Click the second point of the run."),
        "burstPipe": _("Burst pipe"),
        "valvesToClose": _("Valves to close, in order"),
        "noValves": _("No valve can isolate this pipe: call the duty dispatcher."),
        "closedBoundary": _("Normally-closed valves on the boundary (keep closed)"),
        "failedValves": _("Reported as not closing"),
        "markFailed": _("Will not close"),
        "undoFailed": _("Undo"),
        "unverified": _("not exercised: try first"),
        "farSide": {
            "supplied": _("supply side"),
            "cut_off": _("cut-off side"),
            "unsupplied": _("already unsupplied"),
        },
        "metres": _("m"),
        "isolatedArea": _("Shut-in area"),
        "outageArea": _("Secondary outage (cut off from every source)"),
        "pipes": _("pipes"),
        "customers": _("Customers losing supply"),
        "sensitive": _("sensitive"),
        "noCustomers": _("No customer loses supply."),
        "causeIsolated": _("in the shut-in area"),
        "causeOutage": _("secondary outage"),
        "moreCustomers": _("and %(count)s more"),
        "openRepairOrder": _("Open repair order"),
        "repairOrderOpened": _("Repair order %(number)s opened"),
        "printOrder": _("Print page"),
        "pdfOrder": _("PDF"),
        "profile": _("Longitudinal profile"),
        "profileOfPipe": _("Profile of this pipe"),
        "profileOfRun": _("Profile of this run"),
        "ground": _("Ground"),
        "crown": _("Pipe crown"),
        "invert": _("Pipe invert"),
        "groundFromNodes": _("No DEM available: ground from node elevations"),
        "groundFromDem": _("Ground from the DEM"),
        "distance": _("Distance (m)"),
        "elevation": _("Elevation (m)"),
        "closeProfile": _("Close the profile"),
        "connected": _("Connected in service"),
        "connectedPhysically": _("Connected only through normally-closed valves"),
        "notConnected": _("Not connected"),
        "runLength": _("Run length"),
        "violations": _("Clearance violations (GB 50289)"),
        "checks": {
            "horizontal": _("horizontal clearance"),
            "vertical": _("vertical clearance"),
            "cover": _("cover depth"),
        },
        "status": {"error": _("error"), "warning": _("to verify"), "review": _("depth unknown")},
        "required": _("required"),
        "measured": _("measured"),
        "noViolations": _("No violation found."),
        "warnings": _("Replacement warnings"),
        "levels": {"replace": _("replace"), "inspect": _("inspect")},
        "noWarnings": _("Nothing is due."),
        "pipe": _("Pipe"),
        "valve": _("Valve"),
        "installed": _("installed"),
        "shown": _("showing %(shown)s of %(total)s"),
    }


@login_required
def planner(request):
    """The workbench; leaders see it read-only (no repair orders), others by their API permissions."""
    if not request.user.has_role(*PAGE_ROLES):
        raise PermissionDenied
    networks = [
        {"code": n.code, "name": n.name, "utility": n.utility, "utility_label": str(Utility(n.utility).label)}
        for n in selectors.networks()
    ]
    # Clicks away from a pipe go to the chosen network: water and gas first, the utilities bursts happen in.
    first = {Utility.WATER: 0, Utility.GAS: 1}
    analysis_order = sorted(networks, key=lambda n: (first.get(n["utility"], 2), n["code"]))
    return render(
        request,
        "pipelines_mgmt/planner.html",
        {
            "networks": networks,
            "analysis_networks": analysis_order,
            "planner_config": {
                "networks": networks,
                "canOpenRepairOrders": request.user.has_role(*REPAIR_ORDER_ROLES),
                "strings": _strings(),
            },
        },
    )
