"""Tables every module shares: who (users, roles, organisations), where (admin areas), what happened."""

from django.contrib.auth.models import AbstractUser
from django.contrib.gis.db import models
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from pyproj import CRS
from pyproj.exceptions import CRSError


class Role(models.TextChoices):
    """Roles are Django groups with these names; a user may hold several."""

    OPERATOR = "operator", _("Command-center operator")
    CALL_TAKER = "call_taker", _("Call taker / dispatcher")
    GRID_DISPATCHER = "grid_dispatcher", _("Grid case dispatcher")
    INSPECTOR = "inspector", _("Field inspector")
    DEPARTMENT_HANDLER = "department_handler", _("Department handler")
    PLANNER = "planner", _("Planner")
    LEADER = "leader", _("Leader")
    CREW = "crew", _("Field crew")
    TRANSPORT = "transport", _("Transport bureau supervisor")
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


def validate_tile_url(value: str) -> None:
    """An XYZ / WMTS-REST tile URL template as MapLibre requests it: http(s), with {z}, {x} and {y}."""
    if not value.startswith(("http://", "https://")) or any(part not in value for part in ("{z}", "{x}", "{y}")):
        raise ValidationError(_("Give an http(s) tile URL template containing {z}, {x} and {y}."), code="tile_url")


def validate_projected_srid(value: int) -> None:
    """An EPSG code of a projected CRS (metres on the ground), the kind metric work needs."""
    try:
        crs = CRS.from_epsg(value)
    except CRSError:
        raise ValidationError(_("EPSG:%(code)s is not a known CRS."), params={"code": value}, code="crs") from None
    if not crs.is_projected:
        raise ValidationError(
            _("EPSG:%(code)s (%(name)s) is not a projected CRS."), params={"code": value, "name": crs.name}, code="crs"
        )


class CityProfile(models.Model):
    """The city this deployment runs: its boundary, projected CRS, country and map home view, all from data.

    One profile per database (its boundary is the one city-level area); `manage.py setup_city` makes it from a
    boundary file or an OSM extract, the demo loader makes the demo city's.
    """

    name = models.CharField(_("name"), max_length=64)
    boundary = models.OneToOneField(
        AdminArea,
        verbose_name=_("boundary"),
        on_delete=models.PROTECT,
        limit_choices_to={"level": AdminArea.Level.CITY},
        help_text=_("The city-level administrative area; incidents outside it are refused."),
    )
    projected_srid = models.PositiveIntegerField(
        _("projected CRS (EPSG code)"),
        validators=[validate_projected_srid],
        help_text=_("Metric work in this city, e.g. 4547 for CGCS2000 3° zone 114°E."),
    )
    country = models.CharField(
        _("country code"), max_length=2, help_text=_("ISO 3166-1 alpha-2; picks the OSM road speed defaults.")
    )
    home_center = models.PointField(_("map home centre"), srid=4326)
    home_zoom = models.FloatField(_("map home zoom"))
    base_layer_url = models.CharField(
        _("external base layer URL"),
        max_length=500,
        blank=True,
        validators=[validate_tile_url],
        help_text=_(
            "Optional Web Mercator tile URL template (XYZ, or WMTS with {z}, {x} and {y} in place of TileMatrix, "
            "TileCol and TileRow), e.g. an intranet Tianditu service; the self-served base map stays the default."
        ),
    )
    base_layer_attribution = models.CharField(_("external base layer attribution"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("city profile")
        verbose_name_plural = _("city profile")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(home_zoom__gte=0, home_zoom__lte=22), name="core_cityprofile_zoom_range"
            ),
        ]

    def __str__(self) -> str:
        return self.name


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
    def display_name(self) -> str:
        """How screens and messages name the person: the full name, else the username."""
        return self.get_full_name() or self.username

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


class Job(models.Model):
    """A background job that people follow: how far it got and how it ended. Its queue row (procrastinate's,
    same id) says whether it waits, runs or ended; this row adds the progress written while it runs."""

    class Stage(models.TextChoices):
        QUEUED = "queued", _("Waiting for a worker")
        READING = "reading", _("Reading the file")
        WRITING = "writing", _("Importing")
        SAVING = "saving", _("Saving")
        DONE = "done", _("Done")

    queue_job = models.OneToOneField(
        "procrastinate.ProcrastinateJob",
        primary_key=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
        verbose_name=_("queue job"),
    )
    kind = models.CharField(_("kind"), max_length=32)
    title = models.CharField(_("title"), max_length=255)
    created_by = models.ForeignKey(User, verbose_name=_("started by"), null=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(_("started"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    options = models.JSONField(_("options"), default=dict)
    stage = models.CharField(_("stage"), max_length=16, choices=Stage.choices, default=Stage.QUEUED)
    done = models.BigIntegerField(_("done"), default=0)
    total = models.BigIntegerField(_("total"), null=True, blank=True)
    result = models.JSONField(_("result"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("background job")
        verbose_name_plural = _("background jobs")

    def __str__(self) -> str:
        return f"#{self.pk} {self.kind} {self.title}"
