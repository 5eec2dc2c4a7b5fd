"""The main navigation: one link per console that this deployment serves and this user's roles may open."""

from django.urls import Resolver404, resolve
from django.utils.translation import gettext_lazy as _

from .models import Role

# The menu's groups, in order: a group with one console the user may open is a plain link, with more a drop-down,
# so an operator's dozen consoles fit one bar on a laptop.
GROUPS = {
    "command": _("Command and dispatch"),
    "city": _("City management"),
    "fleet": _("Vehicle supervision"),
    "analysis": _("Analysis and data"),
}

# (path, label, roles that use it, group). A console appears only once its page is mounted (resolve succeeds),
# so the menu never links to a page that does not exist yet.
CONSOLES = (
    ("/wall/", _("Command wall"), {Role.OPERATOR, Role.CALL_TAKER, Role.LEADER, Role.ADMIN}, "command"),
    ("/dispatch/", _("Dispatch"), {Role.CALL_TAKER, Role.OPERATOR, Role.ADMIN}, "command"),
    ("/resources/", _("Emergency resources"), {Role.OPERATOR, Role.CALL_TAKER, Role.LEADER, Role.ADMIN}, "command"),
    ("/duty/", _("Duty management"), {Role.OPERATOR, Role.CALL_TAKER, Role.GRID_DISPATCHER, Role.LEADER, Role.ADMIN},
     "command"),
    ("/drills/", _("Drills"), {Role.OPERATOR, Role.LEADER, Role.ADMIN}, "command"),
    ("/grid/", _("Case center"), {Role.GRID_DISPATCHER, Role.CALL_TAKER, Role.OPERATOR, Role.LEADER, Role.ADMIN},
     "city"),
    ("/grid/wall/", _("City-management wall"), {Role.OPERATOR, Role.GRID_DISPATCHER, Role.LEADER, Role.ADMIN}, "city"),
    ("/grid/config/", _("Case configuration"), {Role.ADMIN}, "city"),
    ("/grid/components/", _("Component survey"), {Role.GRID_DISPATCHER, Role.ADMIN}, "city"),
    ("/m/", _("Inspector app"), {Role.INSPECTOR}, "city"),
    ("/dept/", _("Department tasks"), {Role.DEPARTMENT_HANDLER}, "city"),
    ("/mdt/", _("Crew app"), {Role.CREW}, "fleet"),
    ("/transport/", _("Key vehicles"), {Role.TRANSPORT, Role.OPERATOR, Role.LEADER, Role.ADMIN}, "fleet"),
    ("/replay/", _("Track replay"), {Role.OPERATOR, Role.CALL_TAKER, Role.LEADER, Role.PLANNER, Role.ADMIN}, "fleet"),
    ("/trips/", _("Fleet reports"), {Role.OPERATOR, Role.CALL_TAKER, Role.LEADER, Role.PLANNER, Role.ADMIN}, "fleet"),
    ("/fences/", _("Fences"), {Role.OPERATOR, Role.ADMIN}, "fleet"),
    ("/planner/", _("Planner workbench"), {Role.PLANNER, Role.OPERATOR, Role.LEADER, Role.ADMIN}, "analysis"),
    ("/leader/", _("Decision maps"), {Role.LEADER, Role.ADMIN}, "analysis"),
    ("/imports/", _("Data imports"), {Role.PLANNER, Role.ADMIN}, "analysis"),
)  # fmt: skip


def _mounted(path: str) -> bool:
    try:
        resolve(path)
    except Resolver404:
        return False
    return True


def consoles(request):
    """Template context: `menu` = [(group label, [(path, label)])] of the consoles the signed-in user may open, in
    the groups' order (a group label of None: a single console, shown as a plain link)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"menu": []}
    roles = set(user.role_names)
    grouped: dict[str, list[tuple[str, str]]] = {group: [] for group in GROUPS}
    for path, label, allowed, group in CONSOLES:
        if (user.is_superuser or roles & allowed) and _mounted(path):
            grouped[group].append((path, label))
    return {"menu": [(GROUPS[group] if len(links) > 1 else None, links) for group, links in grouped.items() if links]}
