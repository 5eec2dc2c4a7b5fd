"""The import screen (/imports/): start an import as a background job and watch its progress bar; the page is
a shell, frontend/static/frontend/imports/imports.js polls /api/core/jobs/ (no live feed needed, works offline)."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from . import jobs
from .jobs_api import IMPORT_ROLES

STATES = {
    "todo": gettext_lazy("Waiting"),
    "doing": gettext_lazy("Running"),
    "cancelling": gettext_lazy("Cancelling…"),
    "succeeded": gettext_lazy("Finished"),
    "failed": gettext_lazy("Failed"),
    "cancelled": gettext_lazy("Cancelled"),
    "aborted": gettext_lazy("Cancelled: nothing was written"),
}


def _strings() -> dict:
    """Every text the page's script shows, in the user's language."""
    return {
        "states": {state: str(label) for state, label in STATES.items()},
        "cancel": _("Cancel"),
        "retry": _("Retry"),
        "started": _("Import started: its progress is shown below."),
        "noJobs": _("No import yet."),
        "requestFailed": _("The request failed"),
        "result": _("Result"),
    }


@login_required
def imports(request):
    if not request.user.has_role(*IMPORT_ROLES):
        raise PermissionDenied
    return render(
        request,
        "core/imports.html",
        {"kinds": jobs.IMPORT_KINDS.values(), "imports_config": {"strings": _strings()}},
    )
