"""Tables every module shares: who (users, roles, organisations), where (admin areas), what happened."""

from django.contrib.auth.models import AbstractUser
from django.contrib.gis.db import models
from django.contrib.postgres.fields import ArrayField
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    """Roles are Django groups with these names; a user may hold several."""

    OPERATOR = "operator", _("Command-center operator")
    CALL_TAKER = "call_taker", _("Call taker / dispatcher")
    GRID_DISPATCHER = "grid_dispatcher", _("Grid case dispatcher")
    INSPECTOR = "inspector", _("Field inspector")
    DEPARTMENT_HANDLER = "department_handler", _("Department handler")
    PLANNER = "planner", _("Planner")
    LEADER = "leader", _("Leader")
    ADMIN = "admin", _("Administrator")


class AdminArea(models.Model):
    """City → district → street (街道) → community (社区), coded in the GB/T 2260 style."""

    class Level(models.TextChoices):
        CITY = "city", _("City")
        DISTRICT = "district", _("District")
        STREET = "street", _("Sub-district")
        COMMUNITY = "community", _("Community")

    code = models.CharField(_("code"), max_length=12, unique=True)
    name = models.CharField(_("name"), max_length=64)
    level = models.CharField(_("level"), max_length=16, choices=Level.choices, db_index=True)
    parent = models.ForeignKey(
        "self", verbose_name=_("parent"), null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    geom = models.MultiPolygonField(_("boundary"), srid=4326)

    class Meta:
        ordering = ["code"]
        verbose_name = _("administrative area")
        verbose_name_plural = _("administrative areas")

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class Domain(models.TextChoices):
    """The operations a command centre can oversee city-wide: declared per organisation, never inferred."""

    DISPATCH = "dispatch", _("Joint dispatch: every agency's incidents and units")
    GRID = "grid", _("City management: every department's cases")


class Organisation(models.Model):
    """A government body, department, emergency agency or utility; a tree, optionally tied to an area."""

    class Kind(models.TextChoices):
        GOVERNMENT = "government", _("Government / command center")
        DEPARTMENT = "department", _("Department")
        AGENCY = "agency", _("Emergency agency")
        UTILITY = "utility", _("Utility company")

    class Agency(models.TextChoices):
        POLICE = "110", _("Police (110)")
        FIRE = "119", _("Fire and rescue (119)")
        AMBULANCE = "120", _("Emergency medical (120)")
        TRAFFIC = "122", _("Traffic police (122)")

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=128)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    agency = models.CharField(_("agency"), max_length=3, choices=Agency.choices, blank=True)
    parent = models.ForeignKey(
        "self", verbose_name=_("parent"), null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    area = models.ForeignKey(
        AdminArea,
        verbose_name=_("jurisdiction"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        help_text=_("Empty means the whole city."),
    )
    oversees = ArrayField(
        models.CharField(max_length=16, choices=Domain.choices),
        verbose_name=_("city-wide command over"),
        default=list,
        blank=True,
        help_text=_(
            "Its people see every organisation's rows in these domains (a city command centre); "
            "otherwise only their own organisation and those below it."
        ),
    )

    class Meta:
        ordering = ["code"]
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    """A person; roles are groups, `organisation` scopes what they see."""

    organisation = models.ForeignKey(
        Organisation, verbose_name=_("organisation"), null=True, blank=True, on_delete=models.PROTECT
    )
    phone = models.CharField(_("phone"), max_length=32, blank=True)

    @property
    def role_names(self) -> set[str]:
        if not hasattr(self, "_role_names"):
            self.set_role_names(self.groups.values_list("name", flat=True))
        return self._role_names

    def set_role_names(self, group_names) -> None:
        """Roles from the names of the user's groups (a superuser is also an admin)."""
        self._role_names = {name for name in group_names if name}
        if self.is_superuser:
            self._role_names.add(Role.ADMIN)

    @property
    def role_labels(self) -> list[str]:
        """The user's roles in the interface language, in the order of `Role`."""
        return [str(role.label) for role in Role if role.value in self.role_names]

    def has_role(self, *roles: str) -> bool:
        return bool(self.role_names & set(roles))


class AuditEntry(models.Model):
    """Who changed what and when; written by services in the same transaction as the change."""

    at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(User, verbose_name=_("actor"), null=True, on_delete=models.SET_NULL)
    action = models.CharField(_("action"), max_length=64)
    target_type = models.CharField(_("object type"), max_length=64, blank=True)
    target_id = models.CharField(_("object id"), max_length=64, blank=True)
    summary = models.CharField(_("summary"), max_length=255, blank=True)
    changes = models.JSONField(_("changes"), default=dict, blank=True)
    source = models.GenericIPAddressField(_("source address"), null=True, blank=True)

    class Meta:
        ordering = ["-at"]
        indexes = [models.Index(fields=["target_type", "target_id"])]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit log")

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor} {self.action} {self.target_type}:{self.target_id}"


class Event(models.Model):
    """The durable event log behind every live screen.

    `seq` is allocated under a transaction-level lock held until commit (see core.events.publish),
    so seq order is commit order and "everything after seq N" is exactly what a console missed.
    """

    seq = models.BigAutoField(primary_key=True)
    at = models.DateTimeField(auto_now_add=True)
    topic = models.CharField(max_length=32)
    type = models.CharField(max_length=64)
    data = models.JSONField()
    geom = models.GeometryField(srid=4326, null=True, blank=True)
    orgs = ArrayField(
        models.BigIntegerField(), default=list, blank=True, help_text="Organisations that may see it; empty: all."
    )

    class Meta:
        ordering = ["seq"]
        indexes = [models.Index(fields=["topic", "seq"])]
        verbose_name = _("event")
        verbose_name_plural = _("event log")

    def __str__(self) -> str:
        return f"#{self.seq} {self.topic}/{self.type}"
