"""Role checks shared by every app's API."""

from rest_framework.permissions import SAFE_METHODS, BasePermission

from .models import Role


def roles_required(*roles: str, read_roles: tuple[str, ...] | None = None) -> type[BasePermission]:
    """A DRF permission: writes need one of `roles`; reads need one of `read_roles` (default: any role)."""

    class HasRole(BasePermission):
        message = f"requires one of the roles: {', '.join(roles)}"

        def has_permission(self, request, view):
            user = request.user
            if not user or not user.is_authenticated:
                return False
            if request.method in SAFE_METHODS:
                return read_roles is None or user.has_role(*read_roles)
            return user.has_role(*roles)

    return HasRole


ADMIN_ONLY_WRITES = roles_required(Role.ADMIN)
