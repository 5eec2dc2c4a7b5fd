"""Who may open the decision maps, and which part of the city each leader sees.

Leaders and administrators only. A leader's organisation with a jurisdiction (a district government)
limits everything to that area; a city-level organisation, or none, sees the whole city.
"""

from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import BasePermission

from core.errors import InputError
from core.models import AdminArea, Role
from core.selectors import jurisdiction

LEADER_ROLES = (Role.LEADER, Role.ADMIN)


class IsLeader(BasePermission):
    message = "requires one of the roles: leader, admin"

    def has_permission(self, request, view):
        user = request.user
        return bool(user and user.is_authenticated and user.has_role(*LEADER_ROLES))


def _within(area: AdminArea, ancestor: AdminArea) -> bool:
    node = area
    while node is not None:
        if node.pk == ancestor.pk:
            return True
        node = node.parent
    return False


def area_for(user, code: str | None) -> AdminArea | None:
    """The area a request asks for (default: the user's jurisdiction).

    An area outside the user's jurisdiction is refused with 403 whether it exists or not, so a district
    leader learns nothing about the rest of the city; an unknown code is a 400 only for a city-wide user.
    """
    own = jurisdiction(user)
    if not code:
        return own
    area = AdminArea.objects.select_related("parent__parent__parent").filter(code=code).first()
    if own is not None and (area is None or not _within(area, own)):
        raise PermissionDenied(f"area {code} is outside your jurisdiction")
    if area is None:
        raise InputError("area", f"no administrative area with code {code!r}")
    if area.level not in (AdminArea.Level.CITY, AdminArea.Level.DISTRICT):
        raise InputError("area", "the decision maps compare the city and its districts: give a district code")
    return area
