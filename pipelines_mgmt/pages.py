"""The planner workbench (/planner/): the networks on a map, burst isolation, planning analyses.

The page is a shell: the map and the panels are drawn by frontend/static/frontend/planner.js from the
pipelines API, so every analysis a screen shows is one an API client can run too.
"""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from core.models import Role
from gis import io as gis_io
from gis import layers as gis_layers

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


def _query_strings() -> dict:
    """Texts of the query tab (layer catalog, CQL2 builder, results, statistics, export, saved queries)."""
    return {
        "geometryTypes": {
            "Point": _("points"),
            "MultiPoint": _("points"),
            "LineString": _("lines"),
            "MultiLineString": _("lines"),
            "Polygon": _("polygons"),
            "MultiPolygon": _("polygons"),
        },
        "fields": _("fields"),
        "operator": _("operator"),
        "chooseLayer": _("Choose a layer in the catalog."),
        "removeCondition": _("Remove"),
        "value": _("value"),
        "from": _("from"),
        "to": _("to"),
        "listHint": _("comma-separated"),
        "yes": _("yes"),
        "no": _("no"),
        "spatialNone": _("no spatial condition"),
        "spatialOps": {
            "S_INTERSECTS": _("intersects"),
            "S_WITHIN": _("inside"),
            "S_DWITHIN": _("within a distance of"),
        },
        "shapes": {
            "drawn": _("the polygon drawn on the map"),
            "district": _("a district"),
            "grid": _("a unit grid"),
            "feature": _("the selected feature"),
        },
        "drawPolygon": _("Draw polygon"),
        "finishPolygon": _("Finish polygon"),
        "drawHint": _("Click on the map to add corners; finish with a double click or the button."),
        "noPolygon": _("Draw a polygon on the map first."),
        "noZone": _("Pick a district or a unit grid first."),
        "noFeature": _("Select a feature first: click a result on the map or in the table."),
        "selectedFeature": _("Selected feature"),
        "distanceM": _("distance (m)"),
        "matched": _("%(count)s features match"),
        "page": _("page %(page)s of %(pages)s"),
        "noResults": _("No feature matches."),
        "mapLimited": _("The map shows the first %(shown)s of them."),
        "useAsReference": _("Select"),
        "statistics": _("Statistics"),
        "statsBy": {"district": _("by district"), "grid": _("by unit grid")},
        "statsField": _("sum and mean of"),
        "statsNone": _("(count only)"),
        "zone": _("zone"),
        "code": _("code"),
        "count": _("count"),
        "sum": _("sum"),
        "avg": _("mean"),
        "length_m": _("length (m)"),
        "area_m2": _("area (m²)"),
        "noStats": _("No feature of the result lies in a zone."),
        "statsNote": _(
            "%(matched)s features match. A feature counts in each zone it lies in; one that only runs along a "
            "zone's boundary counts in none. Lengths and areas are split at the boundaries."
        ),
        "export": _("Export"),
        "saved": _("Saved queries"),
        "load": _("Load"),
        "delete": _("Delete"),
        "sharedBy": _("shared by %(owner)s"),
        "noSaved": _("No saved query yet."),
        "savedDone": _("Query saved."),
        "formats": {
            "gpkg": "GeoPackage",
            "geojson": "GeoJSON",
            "csv": "CSV",
            "shp": _("Shapefile (zip)"),
            "kml": "KML",
        },
    }


def _catalog(user) -> list[dict]:
    """The layers the user may read, with their queryable fields, in the interface language."""
    chinese = (get_language() or "zh-hans").startswith("zh")
    return [
        {
            "id": layer.id,
            "title": layer.title_zh if chinese else layer.title_en,
            "geometryType": layer.geometry_type,
            "fields": [
                {"name": name, "type": prop.type, "title": prop.title or name}
                for name, prop in layer.properties.items()
            ],
        }
        for layer in gis_layers.layers_for(user)
    ]


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
                "query": {
                    "layers": _catalog(request.user),
                    "exportFormats": list(gis_io.FORMATS),
                    "strings": _query_strings(),
                },
            },
        },
    )
