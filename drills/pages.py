"""The drills page (/drills/): scenarios to start, drills running and done, each step and the after-action link."""

from django.shortcuts import render

from core.models import Role
from dispatch.pages import role_page


@role_page(Role.OPERATOR, Role.LEADER, Role.ADMIN)
def console(request):
    return render(request, "drills/console.html", {"starts": request.user.has_role(Role.OPERATOR, Role.ADMIN)})
