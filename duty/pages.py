"""Duty pages: /duty/ (the command centre's duty console) and /duty/report/<date>/ (值班日报, printable)."""

from datetime import date

from django.http import Http404
from django.shortcuts import render

from dispatch.pages import role_page

from . import selectors
from .api import READ_ROLES, WRITE_ROLES
from .models import DutyLogEntry


@role_page(*READ_ROLES)
def console(request):
    return render(
        request,
        "duty/console.html",
        {
            "today": selectors.duty_date(),
            "writes": request.user.has_role(*WRITE_ROLES),
            "kinds": DutyLogEntry.Kind.choices,
        },
    )


@role_page(*READ_ROLES)
def report(request, day: str):
    try:
        parsed = date.fromisoformat(day)
    except ValueError:
        raise Http404("not a date") from None
    return render(request, "duty/report.html", {"report": selectors.daily_report(request.user, parsed)})
