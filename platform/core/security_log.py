"""The security side of the audit log: sign-ins and their failures, lock-outs, and changes of who may do what.

Written from Django's and django-axes' signals, so every path (the sign-in form, OGC Basic auth, the admin, a shell)
is logged the same way; devices and exports log from their own services. An administrator reads them in the admin's
audit log, filtered by the "security" category (SECURITY_ACTIONS).
"""

from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import m2m_changed, pre_save

from .models import User
from .services import record_audit

# The action prefixes an administrator reviews as security events.
SECURITY_ACTIONS = ("auth.", "permission.", "device.", "export.")


def source_of(request) -> str | None:
    """The client's address as the server saw it (a proxy in front must pass it on, see the README)."""
    return request.META.get("REMOTE_ADDR") if request is not None else None


def _signed_in(sender, request, user, **kwargs) -> None:
    record_audit(user, "auth.signed_in", user, user.username, source=source_of(request))


def _signed_out(sender, request, user, **kwargs) -> None:
    if user is not None:
        record_audit(user, "auth.signed_out", user, user.username, source=source_of(request))


def _sign_in_failed(sender, credentials, request=None, **kwargs) -> None:
    """The name tried (never the password); the account, when there is one."""
    username = str(credentials.get("username", ""))[:150]
    account = User.objects.filter(username=username).first()
    record_audit(None, "auth.sign_in_failed", account, username, source=source_of(request))


def _locked_out(sender, request, username=None, ip_address=None, **kwargs) -> None:
    account = User.objects.filter(username=username).first() if username else None
    record_audit(None, "auth.locked_out", account, str(username or "")[:150], source=ip_address or source_of(request))


def _roles_changed(sender, instance, action, pk_set, model, **kwargs) -> None:
    """Roles (groups) and single permissions given or taken, by any path."""
    if action not in ("post_add", "post_remove", "post_clear") or not isinstance(instance, User):
        return
    names = sorted(str(obj) for obj in model.objects.filter(pk__in=pk_set or ()))
    what = "roles" if sender is User.groups.through else "permissions"
    verb = {"post_add": "added", "post_remove": "removed", "post_clear": "cleared"}[action]
    record_audit(None, f"permission.{what}_{verb}", instance, instance.username, {what: names})


WATCHED_FIELDS = ("is_superuser", "is_staff", "is_active", "organisation")


def _flags_changed(sender, instance: User, update_fields=None, **kwargs) -> None:
    """Administrator and staff flags and the organisation (which decides what a user sees)."""
    if instance.pk is None or (
        update_fields is not None and not set(update_fields) & {*WATCHED_FIELDS, "organisation_id"}
    ):
        return
    before = User.objects.filter(pk=instance.pk).values(*WATCHED_FIELDS).first()
    if before is None:
        return
    now = {
        "is_superuser": instance.is_superuser,
        "is_staff": instance.is_staff,
        "is_active": instance.is_active,
        "organisation": instance.organisation_id,
    }
    changes = {field: [before[field], value] for field, value in now.items() if before[field] != value}
    if changes:
        record_audit(None, "permission.account_changed", instance, instance.username, changes)


def connect() -> None:
    user_logged_in.connect(_signed_in, dispatch_uid="security-log-signed-in")
    user_logged_out.connect(_signed_out, dispatch_uid="security-log-signed-out")
    user_login_failed.connect(_sign_in_failed, dispatch_uid="security-log-sign-in-failed")
    user_locked_out.connect(_locked_out, dispatch_uid="security-log-locked-out")
    m2m_changed.connect(_roles_changed, sender=User.groups.through, dispatch_uid="security-log-roles")
    m2m_changed.connect(_roles_changed, sender=User.user_permissions.through, dispatch_uid="security-log-perms")
    pre_save.connect(_flags_changed, sender=User, dispatch_uid="security-log-flags")
