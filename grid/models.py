"""Tables of 数字城管: the category table, unit grids, components (部件), cases (案卷), their history and photos.

Codes follow grid-standards.md: a unit grid is 15 digits (county 6 + street 3 + community 3 + sequence 3);
a component is 17 digits under GB/T 47678.5-2026 (county 6 + class 5 + serial 6) — the older 16-digit
CJ/T 214 identifiers are mapped on import and kept in ``legacy_ident``.

A case's ``stage`` is a state of ``grid/workflow.py``; every change goes through ``grid/services.py``, which
appends a :class:`CaseTransition` (the record) and keeps the case's stage timestamps and deadlines in step
(the columns the evaluation in ``grid/selectors.py`` aggregates, named after ``grid/kpi.py``'s ``CaseHistory``).
"""

from django.conf import settings
from django.contrib.gis.db import models
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GistIndex
from django.core.validators import RegexValidator
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from core.models import AdminArea, Organisation

from . import workflow
from .calendar import LimitUnit

GRID_CODE = RegexValidator(r"^\d{15}$", _("a unit-grid code has 15 digits"))
COMPONENT_IDENT = RegexValidator(r"^\d{17}$", _("a component identifier has 17 digits (GB/T 47678.5-2026)"))


class Scheme(models.TextChoices):
    GBT47678 = "gbt47678", _("GB/T 47678.5-2026")
    CJT214 = "cjt214", _("CJ/T 214-2007")


class Kind(models.TextChoices):
    COMPONENT = "component", _("Component")
    EVENT = "event", _("Event / matter")


class DepartmentType(models.TextChoices):
    """Which kind of body fixes a class; :class:`Responsibility` maps each type to a real organisation."""

    WATER_SUPPLY = "water_supply", _("Water supply")
    DRAINAGE = "drainage", _("Drainage")
    WATER_AFFAIRS = "water_affairs", _("Water affairs")
    GAS = "gas", _("Gas")
    POWER = "power", _("Power")
    HEATING = "heating", _("Heating")
    TELECOM = "telecom", _("Telecom")
    LIGHTING = "lighting", _("Street lighting")
    TRANSPORT = "transport", _("Roads and transport")
    TRAFFIC_POLICE = "traffic_police", _("Traffic police")
    POLICE = "police", _("Public security")
    FIRE = "fire", _("Fire and rescue")
    SANITATION = "sanitation", _("Sanitation")
    LANDSCAPING = "landscaping", _("Landscaping")
    ENFORCEMENT = "enforcement", _("Urban management enforcement")
    CONSTRUCTION = "construction", _("Housing and construction")
    ENVIRONMENT = "environment", _("Ecology and environment")
    STREET_OFFICE = "street_office", _("Sub-district office (territorial)")


class ComponentClass(models.Model):
    """A component class of GB/T 47678.5-2026 (5 digits), with the CJ/T 214 class it replaces, if any."""

    code = models.CharField(_("code"), max_length=5, unique=True)
    legacy_code = models.CharField(_("CJ/T 214 code"), max_length=4, blank=True, db_index=True)
    major_code = models.CharField(_("major class"), max_length=2)
    major_name = models.CharField(_("major class name"), max_length=32)
    name = models.CharField(_("name"), max_length=64)
    name_en = models.CharField(_("English name"), max_length=128, blank=True)
    department_type = models.CharField(_("department type"), max_length=32, choices=DepartmentType.choices)

    class Meta:
        ordering = ["code"]
        verbose_name = _("component class")
        verbose_name_plural = _("component classes")

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Category(models.Model):
    """A class a case is filed under (大类/小类), with its responsible department type and time limits.

    ``code`` is unique across both schemes: GB/T 47678.5-2026 matters keep their 5 digits; CJ/T 214 reuses
    the same 4 digits for a component class and an event class, so those carry a letter (C0101 上水井盖,
    E0101 私搭乱建). Limits are city configuration (data/grid_categories.csv documents each default's source).
    """

    code = models.CharField(_("code"), max_length=8, unique=True)
    standard_code = models.CharField(_("code in the standard"), max_length=5)
    scheme = models.CharField(_("scheme"), max_length=16, choices=Scheme.choices)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    major_code = models.CharField(_("major class"), max_length=2)
    major_name = models.CharField(_("major class name"), max_length=32)
    name = models.CharField(_("name"), max_length=64)
    name_en = models.CharField(_("English name"), max_length=128, blank=True)
    equivalent_code = models.CharField(_("equivalent in the other scheme"), max_length=8, blank=True)
    component_class = models.ForeignKey(
        ComponentClass, verbose_name=_("component class"), null=True, blank=True, on_delete=models.SET_NULL
    )
    department_type = models.CharField(_("department type"), max_length=32, choices=DepartmentType.choices)
    confirmation_hours = models.FloatField(_("confirmation limit (working hours)"), default=1)
    dispatch_hours = models.FloatField(_("dispatch limit (working hours)"), default=1)
    handling_limit = models.FloatField(_("handling limit"), default=2)
    handling_unit = models.CharField(
        _("handling limit unit"), max_length=16, choices=[(u.value, u.value) for u in LimitUnit], default="working_days"
    )
    verification_hours = models.FloatField(_("verification limit (working hours)"), default=2)
    limit_source = models.CharField(_("source of the limits"), max_length=200, blank=True)
    # two reports of this class this close in space and time are probably one problem (shown before filing)
    duplicate_radius_m = models.FloatField(_("duplicate radius (m)"), default=50)
    duplicate_window_hours = models.FloatField(_("duplicate time window (h)"), default=72)
    # 回访: the reporter is called back before the case closes (always for hotline and citizen reports)
    callback_required = models.BooleanField(_("call-back before closing"), default=False)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["scheme", "code"]
        verbose_name = _("case category")
        verbose_name_plural = _("case categories")

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Responsibility(models.Model):
    """Who fixes what: a department type → an organisation, city-wide or for one district."""

    department_type = models.CharField(_("department type"), max_length=32, choices=DepartmentType.choices)
    organisation = models.ForeignKey(Organisation, verbose_name=_("organisation"), on_delete=models.CASCADE)
    district = models.ForeignKey(AdminArea, verbose_name=_("district"), null=True, blank=True, on_delete=models.CASCADE)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["department_type", "district"], name="grid_responsibility_unique", nulls_distinct=False
            )
        ]
        verbose_name = _("responsibility")
        verbose_name_plural = _("responsibilities")

    def __str__(self) -> str:
        return f"{self.department_type} → {self.organisation}"


class UnitGrid(models.Model):
    """A unit grid (单元网格, ~10,000 m²) inside one community; its inspectors form the 责任网格."""

    code = models.CharField(_("code"), max_length=15, unique=True, validators=[GRID_CODE])
    community = models.ForeignKey(
        AdminArea, verbose_name=_("community"), on_delete=models.PROTECT, related_name="unit_grids"
    )
    street = models.ForeignKey(AdminArea, verbose_name=_("sub-district"), on_delete=models.PROTECT, related_name="+")
    district = models.ForeignKey(AdminArea, verbose_name=_("district"), on_delete=models.PROTECT, related_name="+")
    geom = models.PolygonField(_("boundary"), srid=4326)
    area_m2 = models.FloatField(_("area (m²)"))
    land_use = models.CharField(_("land use"), max_length=32, blank=True)
    inspectors = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("inspectors"), blank=True, related_name="unit_grids"
    )

    class Meta:
        ordering = ["code"]
        verbose_name = _("unit grid")
        verbose_name_plural = _("unit grids")

    def __str__(self) -> str:
        return self.code


class Component(models.Model):
    """A city asset (部件) with its standard identifier, owner and state."""

    class Status(models.TextChoices):
        INTACT = "intact", _("Intact")
        DAMAGED = "damaged", _("Damaged")
        LOST = "lost", _("Lost")
        ABANDONED = "abandoned", _("Abandoned")
        REMOVED = "removed", _("Removed")

    ident = models.CharField(_("identifier"), max_length=17, unique=True, validators=[COMPONENT_IDENT])
    legacy_ident = models.CharField(_("CJ/T 214 identifier"), max_length=16, blank=True, db_index=True)
    component_class = models.ForeignKey(ComponentClass, verbose_name=_("class"), on_delete=models.PROTECT)
    name = models.CharField(_("name"), max_length=64, blank=True)
    owner = models.ForeignKey(
        Organisation, verbose_name=_("owner department"), null=True, blank=True, on_delete=models.SET_NULL
    )
    maintainer = models.CharField(_("maintainer"), max_length=100, blank=True)
    grid = models.ForeignKey(UnitGrid, verbose_name=_("unit grid"), null=True, blank=True, on_delete=models.SET_NULL)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.INTACT)
    geom = models.PointField(_("location"), srid=4326)
    photo = models.ImageField(_("photo"), upload_to="grid/components/%Y/%m/", blank=True)
    surveyed_on = models.DateField(_("initial date"), null=True, blank=True)
    changed_on = models.DateField(_("change date"), null=True, blank=True)
    source = models.CharField(_("data source"), max_length=32, blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        ordering = ["ident"]
        # the nearest component of a class to a case's position: one index walk by class and distance (btree_gist)
        indexes = [GistIndex(fields=["component_class", "geom"], name="grid_component_class_geom")]
        verbose_name = _("component")
        verbose_name_plural = _("components")

    def __str__(self) -> str:
        return self.ident


class Open311Client(models.Model):
    """A system allowed to create Open311 requests (the 12345 hotline, a 311 app); the key is stored hashed."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    key_sha256 = models.CharField(_("API key (SHA-256)"), max_length=64, unique=True)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("Open311 client")
        verbose_name_plural = _("Open311 clients")

    def __str__(self) -> str:
        return self.name


class Case(models.Model):
    """A case (案卷). ``stage`` is the workflow state; the columns below it follow ``kpi.CaseHistory``."""

    class Channel(models.TextChoices):
        INSPECTOR = "inspector", _("Inspector")
        HOTLINE = "hotline", _("Hotline")
        OPEN311 = "open311", _("Citizen (Open311)")
        UPPER_PLATFORM = "upper_platform", _("Assigned by the upper platform")

    class Timer(models.TextChoices):
        GREEN = "green", _("Green")
        YELLOW = "yellow", _("Yellow")
        RED = "red", _("Red")

    number = models.CharField(_("number"), max_length=20, unique=True)
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    stage = models.CharField(
        _("stage"), max_length=32, choices=[(s.value, workflow.STATE_LABELS[s]) for s in workflow.State], db_index=True
    )
    category = models.ForeignKey(Category, verbose_name=_("category"), on_delete=models.PROTECT)
    # grid and department are indexed by the (grid, stage) and (department, stage) indexes below; every index
    # is paid for by every report
    grid = models.ForeignKey(
        UnitGrid, verbose_name=_("unit grid"), null=True, blank=True, on_delete=models.PROTECT, db_index=False
    )
    component = models.ForeignKey(
        Component, verbose_name=_("component"), null=True, blank=True, on_delete=models.SET_NULL
    )
    geom = models.PointField(_("position"), srid=4326)  # with its GiST index
    address = models.CharField(_("address"), max_length=200, blank=True)
    description = models.TextField(_("description"), blank=True)
    district = models.ForeignKey(
        AdminArea, verbose_name=_("district"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    street = models.ForeignKey(
        AdminArea, verbose_name=_("sub-district"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    department = models.ForeignKey(
        Organisation, verbose_name=_("department"), null=True, blank=True, on_delete=models.PROTECT, db_index=False
    )
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reporter"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="reported_cases",
    )
    reporter_contact = models.JSONField(_("citizen contact"), default=dict, blank=True)
    open311_client = models.ForeignKey(Open311Client, null=True, blank=True, on_delete=models.SET_NULL)
    idempotency_key = models.CharField(_("idempotency key"), max_length=100, null=True, blank=True, unique=True)
    request_hash = models.CharField(_("request hash"), max_length=64, blank=True)
    # a duplicate report merged into another case (closed as invalid); the kept case's merged_reports
    merged_into = models.ForeignKey(
        "self", verbose_name=_("merged into"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="merged_reports",
    )  # fmt: skip
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    satisfaction = models.CharField(_("satisfaction (last call-back)"), max_length=24, blank=True, db_default="")
    # the configuration (time limits, routing) the case was filed under; None: filed before any was published
    config_version = models.ForeignKey(
        "ConfigVersion", verbose_name=_("configuration version"), null=True, blank=True, on_delete=models.PROTECT,
        db_index=False, related_name="+",
    )  # fmt: skip

    # the running stage clock (None when no clock runs): deadline, when it turns yellow, paused time
    deadline_at = models.DateTimeField(_("deadline"), null=True, blank=True, db_index=True)
    yellow_at = models.DateTimeField(_("warning from"), null=True, blank=True)
    clock = models.CharField(_("running clock"), max_length=16, blank=True)
    clock_seconds = models.FloatField(_("length of the running clock's limit (s)"), null=True, blank=True)
    paused_seconds = models.FloatField(_("remaining time when suspended (s)"), null=True, blank=True)
    alerted = models.CharField(_("last published warning"), max_length=8, blank=True)
    requested_extension_hours = models.FloatField(_("requested extension (h)"), null=True, blank=True)
    previous_stage = models.CharField(_("stage before suspension/postponement"), max_length=32, blank=True)

    # kpi.CaseHistory
    reported_at = models.DateTimeField(_("reported at"), db_index=True)
    filed_at = models.DateTimeField(_("filed at"), null=True, blank=True, db_index=True)
    voided_at = models.DateTimeField(null=True, blank=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    dispatch_deadline = models.DateTimeField(null=True, blank=True)
    returned_count = models.PositiveIntegerField(default=0)
    handled_at = models.DateTimeField(null=True, blank=True)
    handling_deadline = models.DateTimeField(null=True, blank=True)
    postponed_count = models.PositiveIntegerField(default=0)
    checker = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="checked_cases"
    )
    checked_at = models.DateTimeField(null=True, blank=True)
    verification_deadline = models.DateTimeField(null=True, blank=True)
    rework_count = models.PositiveIntegerField(default=0)
    closed_at = models.DateTimeField(null=True, blank=True)
    confirmer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="confirmed_cases"
    )
    confirmation_sent_at = models.DateTimeField(null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    confirmation_deadline = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-reported_at"]
        indexes = [
            models.Index(fields=["department", "stage"]),
            models.Index(fields=["grid", "stage"]),
        ]
        verbose_name = _("case")
        verbose_name_plural = _("cases")

    def __str__(self) -> str:
        return self.number


class CaseTransition(models.Model):
    """One step of a case (who, when, what, why, where): the record the case's columns are derived from."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="transitions")
    at = models.DateTimeField(_("time"), db_index=True)
    action = models.CharField(_("action"), max_length=32)  # a workflow.Action, or "report"
    from_stage = models.CharField(_("from"), max_length=32, blank=True)
    to_stage = models.CharField(_("to"), max_length=32)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    actor_name = models.CharField(_("actor name"), max_length=100, blank=True)
    roles = ArrayField(models.CharField(max_length=32), default=list, blank=True)
    note = models.TextField(_("note"), blank=True)
    position = models.PointField(_("position"), srid=4326, null=True, blank=True)
    department = models.ForeignKey(Organisation, null=True, blank=True, on_delete=models.SET_NULL)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("case transition")
        verbose_name_plural = _("case transitions")

    def __str__(self) -> str:
        return f"{self.case_id} {self.action} {self.at:%Y-%m-%d %H:%M}"


class CaseCallback(models.Model):
    """A call-back to the reporter (回访): whether they were reached and, if so, how satisfied they are."""

    class Result(models.TextChoices):
        REACHED = "reached", _("Reached")
        NO_ANSWER = "no_answer", _("No answer")
        DECLINED = "declined", _("Declined to answer")

    class Satisfaction(models.TextChoices):
        SATISFIED = "satisfied", _("Satisfied")
        BASICALLY_SATISFIED = "basically_satisfied", _("Basically satisfied")
        DISSATISFIED = "dissatisfied", _("Dissatisfied")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="callbacks")
    at = models.DateTimeField(_("time"))
    result = models.CharField(_("result"), max_length=16, choices=Result.choices)
    satisfaction = models.CharField(_("satisfaction"), max_length=24, choices=Satisfaction.choices, blank=True)
    note = models.TextField(_("note"), blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    by_name = models.CharField(_("called back by"), max_length=100, blank=True)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("call-back")
        verbose_name_plural = _("call-backs")

    def __str__(self) -> str:
        return f"{self.case_id} {self.result} {self.at:%Y-%m-%d %H:%M}"


class CasePhoto(models.Model):
    """A photo of a case, checked by content (Pillow) and size before it is stored under MEDIA_ROOT."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="photos")
    transition = models.ForeignKey(
        CaseTransition, null=True, blank=True, on_delete=models.CASCADE, related_name="photos"
    )
    image = models.ImageField(_("image"), upload_to="grid/cases/%Y/%m/")
    content_type = models.CharField(max_length=32)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["uploaded_at", "id"]
        verbose_name = _("case photo")
        verbose_name_plural = _("case photos")


class ConfigVersion(models.Model):
    """A version of the case configuration: every category's time limits and settings, and the routing rules (派遣规则).

    An edit is made in the draft (``number`` None, at most one); publishing numbers it and makes it the
    version new cases are filed under. A case keeps the version it was filed under (``Case.config_version``),
    so a change never moves the deadline, the department or the call-back rule of a case already open
    (grid/config.py).
    """

    number = models.PositiveIntegerField(_("number"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    published_at = models.DateTimeField(_("published"), null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("published by"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )  # fmt: skip
    note = models.CharField(_("note"), max_length=200, blank=True)
    # what publishing changed against the version before (config.diff), kept so the history costs no recount
    changes = models.JSONField(_("changes"), default=dict, blank=True)

    class Meta:
        ordering = ["-number"]
        # published numbers are unique, and the draft (no number) counts as 0: one draft at a time
        constraints = [models.UniqueConstraint(Coalesce("number", 0), name="grid_configversion_number_one_draft")]
        verbose_name = _("configuration version")
        verbose_name_plural = _("configuration versions")

    def __str__(self) -> str:
        return f"v{self.number}" if self.number else "draft"


class CategoryLimits(models.Model):
    """A category as it is in one configuration version (the fields of :class:`Category` that are configuration):
    its time limits, the department type its cases go to when no category rule applies, the call-back (回访), the
    duplicate check at intake and whether it takes new reports."""

    version = models.ForeignKey(ConfigVersion, on_delete=models.CASCADE, related_name="limits")
    category = models.ForeignKey(Category, verbose_name=_("category"), on_delete=models.CASCADE, related_name="+")
    confirmation_hours = models.FloatField(_("confirmation limit (working hours)"))
    dispatch_hours = models.FloatField(_("dispatch limit (working hours)"))
    handling_limit = models.FloatField(_("handling limit"))
    handling_unit = models.CharField(
        _("handling limit unit"), max_length=16, choices=[(u.value, u.value) for u in LimitUnit]
    )
    verification_hours = models.FloatField(_("verification limit (working hours)"))
    department_type = models.CharField(_("department type"), max_length=32, choices=DepartmentType.choices)
    duplicate_radius_m = models.FloatField(_("duplicate radius (m)"))
    duplicate_window_hours = models.FloatField(_("duplicate time window (h)"))
    callback_required = models.BooleanField(_("call-back before closing"))
    active = models.BooleanField(_("active"))

    class Meta:
        constraints = [models.UniqueConstraint(fields=["version", "category"], name="grid_categorylimits_unique")]
        verbose_name = _("category time limits")
        verbose_name_plural = _("category time limits")


class RoutingRule(models.Model):
    """A routing rule of one configuration version: a category (or every category of a department type) goes
    to an organisation, city-wide or in one district. The most specific rule wins: category before type,
    district before city-wide."""

    version = models.ForeignKey(ConfigVersion, on_delete=models.CASCADE, related_name="rules")
    category = models.ForeignKey(
        Category, verbose_name=_("category"), null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    department_type = models.CharField(_("department type"), max_length=32, choices=DepartmentType.choices, blank=True)
    district = models.ForeignKey(
        AdminArea, verbose_name=_("district"), null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    organisation = models.ForeignKey(
        Organisation, verbose_name=_("organisation"), on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["version", "category", "department_type", "district"], name="grid_routingrule_unique",
                nulls_distinct=False,
            ),
            models.CheckConstraint(
                condition=models.Q(category__isnull=True, department_type__gt="")
                | models.Q(category__isnull=False, department_type=""),
                name="grid_routingrule_category_or_type",
            ),
        ]  # fmt: skip
        verbose_name = _("routing rule")
        verbose_name_plural = _("routing rules")
