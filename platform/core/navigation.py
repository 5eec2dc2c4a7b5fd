"""The main navigation: one link per console that this deployment serves and this user's roles may open."""

from django.urls import Resolver404, resolve
from django.utils.translation import gettext_lazy as _

from .models import Role

# (path, label, roles that use it). A console appears only once its page is mounted (resolve succeeds),
# so the menu never links to a page that does not exist yet.
CONSOLES = (
    ("/wall/", _("Command wall"), {Role.OPERATOR, Role.CALL_TAKER, Role.LEADER, Role.ADMIN}),
    ("/dispatch/", _("Dispatch"), {Role.CALL_TAKER, Role.OPERATOR, Role.ADMIN}),
    ("/grid/", _("Case center"), {Role.GRID_DISPATCHER, Role.CALL_TAKER, Role.OPERATOR, Role.LEADER, Role.ADMIN}),
    ("/m/", _("Inspector app"), {Role.INSPECTOR}),
    ("/dept/", _("Department tasks"), {Role.DEPARTMENT_HANDLER}),
    ("/mdt/", _("Crew app"), {Role.CREW}),
    ("/transport/", _("Key vehicles"), {Role.TRANSPORT, Role.OPERATOR, Role.LEADER, Role.ADMIN}),
    ("/planner/", _("Planner workbench"), {Role.PLANNER, Role.OPERATOR, Role.LEADER, Role.ADMIN}),
    ("/leader/", _("Decision maps"), {Role.LEADER, Role.ADMIN}),
    ("/resources/", _("Emergency resources"), {Role.OPERATOR, Role.CALL_TAKER, Role.LEADER, Role.ADMIN}),
    ("/drills/", _("Drills"), {Role.OPERATOR, Role.LEADER, Role.ADMIN}),
    ("/duty/", _("Duty management"), {Role.OPERATOR, Role.CALL_TAKER, Role.GRID_DISPATCHER, Role.LEADER, Role.ADMIN}),
    ("/imports/", _("Data imports"), {Role.PLANNER, Role.ADMIN}),
    ("/replay/", _("Track replay"), {Role.OPERATOR, Role.CALL_TAKER, Role.LEADER, Role.PLANNER, Role.ADMIN}),
    ("/trips/", _("Fleet reports"), {Role.OPERATOR, Role.CALL_TAKER, Role.LEADER, Role.PLANNER, Role.ADMIN}),
    ("/fences/", _("Fences"), {Role.OPERATOR, Role.ADMIN}),
)


def _mounted(path: str) -> bool:
    try:
        resolve(path)
    except Resolver404:
        return False
    return True


def consoles(request):
    """Template context: `consoles` = [(path, label)] for the signed-in user."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"consoles": []}
    roles = set(user.role_names)
    return {
        "consoles": [
            (path, label)
            for path, label, allowed in CONSOLES
            if (user.is_superuser or roles & allowed) and _mounted(path)
        ]
    }
