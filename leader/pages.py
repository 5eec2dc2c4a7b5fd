"""Leader pages: the decision-map dashboard and the situation map of one incident."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from core.models import AdminArea
from core.selectors import jurisdiction

from . import layers, periods, selectors, services
from .models import Annotation
from .scope import LEADER_ROLES

HEADLINE_LABELS = {
    "reports": _("Cases reported"),
    "filed": _("Cases filed"),
    "closure_rate": _("Closure rate"),
    "on_time_handling_rate": _("On-time handling rate"),
    "overdue": _("Overdue cases"),
    "response_110": _("Police (110) response time, 90th percentile"),
    "response_119": _("Fire (119) response time, 90th percentile"),
    "response_120": _("Ambulance (120) response time, 90th percentile"),
    "response_122": _("Traffic police (122) response time, 90th percentile"),
}


def _leader(request):
    if not request.user.has_role(*LEADER_ROLES):
        raise PermissionDenied("the decision maps are for leaders")


@login_required
def dashboard(request):
    _leader(request)
    area = jurisdiction(request.user)
    districts = AdminArea.objects.filter(level=AdminArea.Level.DISTRICT).order_by("code")
    if area is not None:
        districts = districts.filter(pk=area.pk) if area.level == AdminArea.Level.DISTRICT else districts.none()
    return render(
        request,
        "leader/dashboard.html",
        {
            "jurisdiction": area,
            "districts": districts,
            "periods": periods.KINDS,
            "max_days": periods.MAX_PERIOD_DAYS,
            "case_metrics": [(key, label) for key, (label, _kind) in layers.CASE_METRICS.items()],
            "trend_indicators": list(selectors.TREND_SOURCES),
            "headline_labels": {key: str(label) for key, label in HEADLINE_LABELS.items()},
        },
    )


@login_required
def situation(request, incident_id: int):
    _leader(request)
    incident = selectors.situation_incident(request.user, incident_id)
    if incident is None:
        raise Http404("no such incident in your jurisdiction")
    return render(
        request,
        "leader/situation.html",
        {
            "incident": incident,
            "symbols": Annotation.Symbol.choices,
            "removes_any": services.removes_any(request.user),
        },
    )
