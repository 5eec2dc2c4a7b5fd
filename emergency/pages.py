"""The printable after-action report (总结评估) of an incident's response plan."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import render

from core.realtime import Viewer
from dispatch.selectors import timeline, visible_incident

from . import selectors
from .api import INCIDENT_READERS


@login_required
def after_action_report(request, incident_id: int):
    if not request.user.has_role(*INCIDENT_READERS):
        raise PermissionDenied("the incidents are for the command centre, desks and leaders")
    incident = visible_incident(Viewer.for_user(request.user), incident_id)
    activation = selectors.activation_of(incident) if incident is not None else None
    if activation is None:
        raise Http404("no response plan ran on this incident")
    report = selectors.after_action(incident, activation)
    context = {
        "incident": incident,
        "activation": activation,
        "report": report,
        "duration_min": round(report["duration_s"] / 60, 1),
        "timeline": timeline(incident),
    }
    return render(request, "emergency/after_action.html", context)
