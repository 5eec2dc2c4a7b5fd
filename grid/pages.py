"""The three city-management screens: case center /grid/, inspector tablet app /m/ (a PWA), department /dept/.

The pages are shells: their data comes from /api/grid/ and the live feed /ws/ops/. The server only hands
the scripts what they cannot know: translated labels and which workflow actions the user's roles allow.
"""

import hashlib
import json
from functools import lru_cache, wraps
from pathlib import Path

from django.contrib.auth.decorators import login_required
from django.contrib.staticfiles import finders
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.cache import never_cache

from core.models import AdminArea, Role

from . import selectors, services, survey, workflow
from .config import HANDLING_MAX, HOURS_MAX, RADIUS_MAX, WINDOW_MAX
from .models import Component, ComponentClass, DepartmentType

CENTER_ROLES = (Role.GRID_DISPATCHER, Role.CALL_TAKER, Role.OPERATOR, Role.LEADER, Role.ADMIN)
TABLET_ROLES = (Role.INSPECTOR, Role.ADMIN)
DEPARTMENT_ROLES = (Role.DEPARTMENT_HANDLER, Role.ADMIN)
# Who files a caller's report at the centre (新建受理): roles that may both report (workflow.REPORTING_ROLES) and
# write cases (api.CASE_ACCESS); inspectors report from the tablet.
INTAKE_ROLES = (Role.CALL_TAKER, Role.ADMIN)

# What the tablet app needs to start without a network: its page, scripts, styles, icons and MapLibre.
TABLET_SHELL_STATIC = (
    "frontend/base.css",
    "frontend/favicon.svg",
    "frontend/grid-ui.css",
    "frontend/tablet.css",
    "frontend/grid/tablet.js",
    "frontend/grid/tablet-outbox.js",
    "frontend/grid/tablet-duplicates.js",
    "frontend/grid/grid-ui.js",
    "frontend/grid/grid-map.js",
    "frontend/lib/address-lookup.js",
    "frontend/lib/api.js",
    "frontend/lib/dom.js",
    "frontend/lib/geo.js",
    "frontend/lib/geocode.js",
    "frontend/lib/map.js",
    "frontend/lib/ops-socket.js",
    "frontend/fences/shapes.js",
    "frontend/patrol/position-queue.js",
    "frontend/pwa/icon-192.png",
    "frontend/pwa/icon-512.png",
    "vendor/maplibre-gl/maplibre-gl.mjs",
    "vendor/maplibre-gl/maplibre-gl.css",
)
# What the app reads at start, fetched when the worker installs: the first visit is not yet under its control.
TABLET_PRELOAD_API = (
    "/api/core/areas/?level=district",
    "/api/gis/roads/",
    "/api/grid/categories/",
    "/api/grid/my-grids/",
    "/api/grid/my-tasks/",
)
# API reads the tablet keeps for offline use (network first, the last answer when offline).
TABLET_OFFLINE_API = (
    "/api/core/areas/",
    "/api/gis/roads/",
    "/api/grid/categories/",
    "/api/grid/my-grids/",
    "/api/grid/my-tasks/",
    "/api/grid/cases/",
    "/api/grid/photos/",
)


def role_page(*roles):
    """A page for signed-in users holding one of `roles`; anyone else signed in gets 403."""

    def decorate(view):
        @login_required
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.has_role(*roles):
                raise PermissionDenied(_("This page is for another role."))
            return view(request, *args, **kwargs)

        return wrapped

    return decorate


def action_labels() -> dict[str, str]:
    # Contexts keep these apart from the same English words elsewhere ("File" is not a document here).
    return {
        workflow.Action.SEND_CONFIRMATION: pgettext("case action", "Send for confirmation"),
        workflow.Action.SUBMIT_CONFIRMATION: pgettext("case action", "Submit confirmation"),
        workflow.Action.FILE: pgettext("case action", "File"),
        workflow.Action.REJECT: pgettext("case action", "Reject"),
        workflow.Action.DISPATCH: pgettext("case action", "Dispatch"),
        workflow.Action.RETURN_TO_CENTER: pgettext("case action", "Return to the center"),
        workflow.Action.HANDLE: pgettext("case action", "Report the fix"),
        workflow.Action.REQUEST_POSTPONEMENT: pgettext("case action", "Request postponement"),
        workflow.Action.APPROVE_POSTPONEMENT: pgettext("case action", "Approve postponement"),
        workflow.Action.DENY_POSTPONEMENT: pgettext("case action", "Deny postponement"),
        workflow.Action.SUSPEND: pgettext("case action", "Suspend"),
        workflow.Action.RESUME: pgettext("case action", "Resume"),
        workflow.Action.VERIFY_OK: pgettext("case action", "Verified: fixed"),
        workflow.Action.VERIFY_FAIL: pgettext("case action", "Not fixed: rework"),
        workflow.Action.CLOSE: pgettext("case action", "Close"),
    }


def stage_labels() -> dict[str, str]:
    return {
        workflow.State.REPORTED: pgettext("case stage", "Reported"),
        workflow.State.CONFIRMING: pgettext("case stage", "Being confirmed"),
        workflow.State.FILED: pgettext("case stage", "Filed"),
        workflow.State.INVALID: pgettext("case stage", "Invalid"),
        workflow.State.DISPATCHED: pgettext("case stage", "Dispatched"),
        workflow.State.POSTPONEMENT_REQUESTED: pgettext("case stage", "Postponement requested"),
        workflow.State.POSTPONED: pgettext("case stage", "Postponed"),
        workflow.State.SUSPENDED: pgettext("case stage", "Suspended"),
        workflow.State.HANDLED: pgettext("case stage", "Handled"),
        workflow.State.REWORK: pgettext("case stage", "Rework"),
        workflow.State.VERIFIED: pgettext("case stage", "Verified"),
        workflow.State.CLOSED: pgettext("case stage", "Closed"),
    }


def common_strings() -> dict[str, str]:
    """Labels every grid screen's script shows (timers, case details, action forms, photo viewer)."""
    return {
        "loadFailed": _("The data could not be loaded. Check the connection and try again."),
        "refused": _("Refused: {reason}"),
        "networkError": _("No connection to the server."),
        "left": _("{time} left"),
        "overdueBy": _("{time} overdue"),
        "noDeadline": _("No deadline"),
        "timerGreen": _("On time"),
        "timerYellow": _("Due soon"),
        "timerRed": _("Overdue"),
        "days": _("{n} d"),
        "number": _("Case number"),
        "stage": _("Stage"),
        "category": _("Category"),
        "grid": _("Unit grid"),
        "noGrid": _("No unit grid at this position: filing will be refused."),
        "address": _("Address"),
        "description": _("Description"),
        "department": _("Department"),
        "reporter": _("Reporter"),
        "channel": _("Channel"),
        "reportedAt": _("Reported at"),
        "deadline": _("Deadline"),
        "history": _("History"),
        "photos": _("Photos"),
        "noPhotos": _("No photos"),
        "photoOf": _("Photo {n} of {total}"),
        "previousPhoto": _("Previous photo"),
        "nextPhoto": _("Next photo"),
        "close": _("Close"),
        "note": _("Note"),
        "noteRequired": _("Reason (required)"),
        "postponeHours": _("Extra working hours"),
        "addPhoto": _("Add a photo"),
        "searchCategory": _("Search category by name or code"),
        "chooseDepartment": _("Department"),
        "responsibleDepartment": _("The department responsible for the category"),
        "submit": _("Submit"),
        "cancel": _("Cancel"),
        "done": _("Done: {action}"),
        "noCases": _("No cases"),
        "liveConnecting": _("Connecting…"),
        "liveLive": _("Live"),
        "liveReconnecting": _("Reconnecting…"),
        "liveError": _("Live feed refused"),
        "liveStopped": _("Offline"),
        "channelInspector": _("Inspector"),
        "channelHotline": _("Hotline"),
        "channelOpen311": _("Citizen (Open311)"),
        "zoomIn": _("Zoom in"),
        "zoomOut": _("Zoom out"),
        "resetBearing": _("Drag to rotate the map, click to reset north"),
        "mapTitle": _("City map"),
    }


def page_config(request, strings: dict[str, str]) -> dict:
    """Everything a grid screen's script reads at start, passed with json_script."""
    roles = sorted(request.user.role_names)
    return {
        "user": request.user.pk,
        "roles": roles,
        "actions": {
            state.value: [action.value for action in workflow.allowed_actions(state, roles)] for state in workflow.State
        },
        "actionLabels": {
            "report": pgettext("case action", "Report"),
            **{str(k): v for k, v in action_labels().items()},
        },
        "stageLabels": {str(k): v for k, v in stage_labels().items()},
        "strings": {**common_strings(), **strings},
    }


@role_page(*CENTER_ROLES)
def case_center(request):
    strings = {
        "queueReported": _("To accept"),
        "queueFiled": _("To dispatch"),
        "queueHandling": _("Being handled"),
        "queueHandled": _("To verify"),
        "queueVerified": _("To close"),
        "queueOnHold": _("On hold"),
        "newCase": _("New case {number}"),
        "openCases": _("Open cases"),
        "selectCase": _("Select a case in a queue or on the map."),
        "gridsHint": _("Zoom in to see the unit grids."),
        "kpiEmpty": _("No cases in this period."),
        "kpiName": _("Name"),
        "kpiScore": _("Score"),
        "kpiGrade": _("Grade"),
        "kpiReports": _("Reports"),
        "kpiValidReportRate": _("Valid report rate"),
        "kpiFiled": _("Filed"),
        "kpiAccurateFilingRate": _("Accurate filing rate"),
        "kpiOnTimeDispatchRate": _("On-time dispatch rate"),
        "kpiHandlingRate": _("Handling rate"),
        "kpiOnTimeHandlingRate": _("On-time handling rate"),
        "kpiClosureRate": _("Closure rate"),
        "kpiReworkRate": _("Rework rate"),
        "kpiOverdue": _("Overdue cases"),
        "kpiPostponementRate": _("Postponement rate"),
        "kpiOnTimeCheckRate": _("On-time verification rate"),
        "kpiMissedRate": _("Missed report rate"),
        "kpiOnTimeConfirmationRate": _("On-time confirmation rate"),
        "kpiTotal": _("Total"),
    }
    config = page_config(request, strings)
    config["mayReport"] = request.user.has_role(*INTAKE_ROLES)
    config["mayMerge"] = request.user.has_role(*services.MERGE_ROLES)
    config["mayCallBack"] = request.user.has_role(*services.CALLBACK_ROLES)
    return render(request, "grid/case_center.html", {"config": config})


SURVEY_ROLES = (Role.GRID_DISPATCHER, Role.ADMIN)  # the component API's writers (grid/api.py COMPONENT_SURVEY)


@role_page(*SURVEY_ROLES)
def component_survey(request):
    """部件普查 and 变更: components on the map by class; add, move, edit and retire them, with their history."""
    strings = {
        "selectComponent": _("Tap a component on the map to see and edit it, or add a new one."),
        "zoomInComponents": _("Zoom in to see the components."),
        "tooMany": _("Only the first {n} components are shown: zoom in."),
        "addMode": _("Tap the map where the new component stands."),
        "newComponent": _("New component"),
        "position": _("Position"),
        "chooseClass": _("Choose a class"),
        "ownerDefault": _("The department responsible for the class"),
        "noOwner": _("None"),
        "save": _("Save"),
        "saved": _("Saved"),
        "added": _("Added {ident}"),
        "moved": _("Moved {ident}"),
        "retired": _("Retired {ident}"),
        "moveHint": _("Drag the marker to move the component."),
        "confirmMove": _("Move the component here?"),
        "confirmMoveButton": _("Move here"),
        "retire": _("Retire"),
        "retireReason": _("Reason"),
        "confirmRetire": _("Retire the component"),
        "noHistory": _("No changes recorded since the import."),
        "surveyedOn": _("Surveyed on"),
        "changedOn": _("Changed on"),
        "source": _("Data source"),
        "allClasses": _("All classes"),
    }
    config = page_config(request, strings)
    config["actionLabels"].update(
        {
            "component.add": _("Added"),
            "component.move": _("Moved"),
            "component.edit": _("Edited"),
            "component.retire": _("Retired"),
        }
    )
    # in the order the history lists a change's fields
    config["fieldLabels"] = {
        "component_class": str(ComponentClass._meta.verbose_name),  # the field's "class" is 等级 in another app
        "location": str(Component._meta.get_field("geom").verbose_name),
        **{f: str(Component._meta.get_field(f).verbose_name) for f in survey.HISTORY_FIELDS},
    }
    config["statuses"] = {value: str(label) for value, label in Component.Status.choices}
    config["retiredStatuses"] = [str(s) for s in survey.RETIRED]
    config["classes"] = selectors.component_classes()
    return render(request, "grid/components.html", {"config": config})


def tablet_strings() -> dict[str, str]:
    return {
        "allSent": _("All reports sent"),
        "queued": _("{n} waiting to be sent"),
        "queuedOffline": _("Offline: {n} waiting to be sent"),
        "sending": _("Sending…"),
        "failed": _("{n} refused: {reason}"),
        "retryIn": _("Retrying in {s} s"),
        "online": _("Online"),
        "offline": _("Offline"),
        "outboxEmpty": _("Nothing waiting."),
        "statusQueued": _("Waiting"),
        "statusSending": _("Sending"),
        "statusFailed": _("Refused"),
        "statusSent": _("Sent"),
        "sentAs": _("Case {number}"),
        "retry": _("Send again"),
        "discard": _("Discard"),
        "confirmDiscard": _("Discard this report? It will not be sent."),
        "saved": _("Saved. It is sent as soon as there is a connection."),
        "needPhoto": _("Take a photo first."),
        "needCategory": _("Choose a category."),
        "needPosition": _("No position yet: wait for GPS or tap the map."),
        "gpsWaiting": _("Waiting for GPS…"),
        "gpsFix": _("GPS ±{m} m"),
        "gpsDenied": _("GPS not allowed: tap the map to place the problem."),
        "gpsUnavailable": _("No GPS: tap the map to place the problem."),
        "mapPosition": _("Placed on the map"),
        "useGps": _("Use GPS again"),
        "kindReport": _("Report"),
        "noTasks": _("No cases to verify."),
        "verifyAt": _("Verify at the place: take a photo, then decide."),
        "nearAddress": _("Near {address}"),
        "addressPosition": _("Placed at the address"),
        "searchOffline": _("Offline: address search needs the network"),
        "noAddressFound": _("No address found."),
        "duplicatesFound": _("{n} open cases of this category nearby: already reported?"),
        "duplicatesHint": _("If it is the same problem, it is not reported again."),
        "duplicateDistance": _("{m} m away"),
        "duplicatePhoto": _("Photo of the reported case"),
        "sameProblem": _("This is the same problem"),
        "notSameProblem": _("No, report it"),
        "notFiled": _("Not reported again: the problem is case {number}."),
        "justNow": _("just now"),
        "minutesAgo": _("{n} min ago"),
        "hoursAgo": _("{n} h ago"),
        "daysAgo": _("{n} days ago"),
    }


@role_page(*TABLET_ROLES)
def tablet(request):
    return render(request, "grid/tablet.html", {"config": page_config(request, tablet_strings())})


@role_page(*DEPARTMENT_ROLES)
def department(request):
    strings = {
        "assigned": _("Assigned to my department"),
        "selectCase": _("Select a case."),
    }
    return render(request, "grid/dept.html", {"config": page_config(request, strings)})


@lru_cache(maxsize=8)
def _shell_version(stamps: tuple) -> str:
    digest = hashlib.sha256()
    for name, _mtime, _size in stamps:
        digest.update(name.encode())
        digest.update(Path(finders.find(name)).read_bytes())
    return digest.hexdigest()[:16]


def shell_version(files=TABLET_SHELL_STATIC) -> str:
    """A hash of the shell's files: a deploy that changes any of them installs a new worker and cache."""
    stamps = []
    for name in files:
        stat = Path(finders.find(name)).stat()
        stamps.append((name, stat.st_mtime_ns, stat.st_size))
    return _shell_version(tuple(stamps))


def field_app_worker(page: str, cache: str, shell_static, offline_api, preload_api) -> HttpResponse:
    """A field app's service worker (grid/sw.js) for its page, cache name, shell files and API reads."""
    body = render_to_string(
        "grid/sw.js",
        {
            "page": page,
            "cache": cache,
            "version": shell_version(tuple(shell_static)),
            "shell": json.dumps([page, *(static(name) for name in shell_static)]),
            "offline_api": json.dumps(offline_api),
            "preload_api": json.dumps(preload_api),
        },
    )
    return HttpResponse(body, content_type="text/javascript; charset=utf-8")


@never_cache
def service_worker(request):
    """The tablet's service worker. Public: it holds no data, and must update even after a session ends."""
    return field_app_worker("/m/", "cityops-m", TABLET_SHELL_STATIC, TABLET_OFFLINE_API, TABLET_PRELOAD_API)


def manifest(request):
    """Web app manifest: makes /m/ installable on the tablet's home screen. Browsers fetch it without cookies."""
    return field_app_manifest(
        request,
        "/m/",
        name=_("CityOps inspector"),
        short_name=_("Inspector"),
        description=_("Report city-management problems and verify fixes, also without a network."),
    )


def field_app_manifest(request, page: str, *, name: str, short_name: str, description: str) -> JsonResponse:
    """A field app's web app manifest (installable on the device's home screen, scoped to its page)."""
    icons = [
        {"src": static(f"frontend/pwa/icon-{size}.png"), "sizes": f"{size}x{size}", "type": "image/png", "purpose": p}
        for size in (192, 512)
        for p in ("any", "maskable")
    ]
    return JsonResponse(
        {
            "name": name,
            "short_name": short_name,
            "description": description,
            "lang": request.LANGUAGE_CODE,
            "id": page,
            "start_url": page,
            "scope": page,
            "display": "standalone",
            "orientation": "any",
            "background_color": "#0b1a33",
            "theme_color": "#12264a",
            "icons": icons,
        },
        content_type="application/manifest+json",
        json_dumps_params={"ensure_ascii": False},
    )


WALL_ROLES = (Role.OPERATOR, Role.GRID_DISPATCHER, Role.LEADER, Role.ADMIN)


@role_page(*WALL_ROLES)
def wall(request):
    """The city-management wall (大屏监督指挥): open cases by stage and timer, hot spots, league tables and the
    inspectors on duty, for a 1920×1080 or 3840×2160 screen; kept current by the live feed."""
    strings = {
        "wallDistricts": _("Districts"),
        "wallDepartments": _("Departments"),
        "wallInspectors": _("Inspectors on duty"),
        "wallNoInspectors": _("No inspector on shift."),
        "wallLatest": _("Latest cases"),
        "wallScore": _("Score"),
        "wallHandlingRate": _("Handling rate"),
        "wallOverdue": _("Overdue cases"),
    }
    return render(request, "grid/wall.html", {"config": page_config(request, strings)})


CONFIG_ROLES = (Role.ADMIN,)


@role_page(*CONFIG_ROLES)
def config_screen(request):
    """应用维护: each category's time limits and settings and the routing rules, edited in a draft and published as
    a version that applies to cases filed afterwards (grid/config.py); the data comes from /api/grid/config/."""
    strings = {
        "draftNone": _("No draft: the published version applies."),
        "draftOpen": _("Draft with unpublished changes (started {time})."),
        "discardConfirm": _("Throw away every unpublished change?"),
        "published": _("Version {number} published: cases filed from now on use it."),
        "discarded": _("Draft discarded."),
        "saved": _("Saved in the draft."),
        "code": _("Code"),
        "name": _("Name"),
        "departmentType": _("Department type"),
        "confirmationHours": _("Confirmation (working h)"),
        "dispatchHours": _("Dispatch (working h)"),
        "handlingLimit": _("Handling limit"),
        "verificationHours": _("Verification (working h)"),
        "duplicateRadius": _("Duplicate radius (m)"),
        "duplicateWindow": _("Duplicate window (h)"),
        "callbackRequired": _("Call-back"),
        "active": _("Active"),
        "yes": _("Yes"),
        "no": _("No"),
        "edit": _("Edit"),
        "save": _("Save"),
        "cancel": _("Cancel"),
        "inDraft": _("changed in the draft"),
        "shownOf": _("{shown} of {total} categories shown; search to narrow."),
        "ruleTarget": _("Category or department type"),
        "district": _("District"),
        "cityWide": _("City-wide"),
        "organisation": _("Organisation"),
        "remove": _("Remove"),
        "addRule": _("Add rule"),
        "ruleByCategory": _("Category code"),
        "ruleByType": _("Department type"),
        "rulesOf": _("Rules of {version}"),
        "draftName": _("the draft"),
        "versionName": _("version {number}"),
        "noRules": _("No rules."),
        "publishedAt": _("Published"),
        "publishedBy": _("Published by {name}"),
        "baseline": _("Baseline: the category table and responsibilities as they were"),
        "noChanges": _("No changes."),
        "limitChange": _("{code} {name}: {field} {from} → {to}"),
        "ruleAdded": _("Rule added: {target} in {district} → {to}"),
        "ruleRemoved": _("Rule removed: {target} in {district} (was {from})"),
        "ruleChanged": _("Rule changed: {target} in {district}: {from} → {to}"),
        "unpublished": _("Draft (unpublished)"),
        "working_hours": _("working hours"),
        "working_days": _("working days"),
        "natural_hours": _("natural hours"),
    }
    context = page_config(request, strings)
    context["departmentTypes"] = {value: str(label) for value, label in DepartmentType.choices}
    context["districts"] = list(
        AdminArea.objects.filter(level=AdminArea.Level.DISTRICT).order_by("code").values("id", "code", "name")
    )
    context["organisations"] = [{"id": o["id"], "name": o["name"]} for o in selectors.departments()]
    context["bounds"] = {
        "hours": HOURS_MAX,
        "handling": {str(k): v for k, v in HANDLING_MAX.items()},
        "radius": RADIUS_MAX,
        "window": WINDOW_MAX,
    }
    return render(request, "grid/config.html", {"config": context})
