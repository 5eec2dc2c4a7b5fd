"""Server-rendered pages; data comes from the API and the live WebSocket."""

import json

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from core.event_catalog import CATALOG


@login_required
def home(request):
    return render(request, "frontend/home.html")


def event_constant(name: str) -> str:
    """The JavaScript name of an event type: "incident.closed" → INCIDENT_CLOSED."""
    return name.upper().replace(".", "_")


@require_GET
def events_module(request):
    """The live feed's event types as a JavaScript module, made from core.event_catalog: the consoles import
    each type by name (INCIDENT_CLOSED), so a type the catalog renames or drops fails as a missing import."""
    lines = [f"export const {event_constant(name)} = {json.dumps(name)};" for name in sorted(CATALOG)]
    header = "// The live feed's event types, made from core/event_catalog.py by frontend/views.py.\n"
    return HttpResponse(header + "\n".join(lines) + "\n", content_type="text/javascript; charset=utf-8")
