"""Emergency resources (应急资源) — rescue teams, supply depots and their stock, shelters, experts — and hazard
sources (危险源); requests for supplies against an incident and the allocations that fill them from a depot."""

from django.contrib.gis.db import models
from django.contrib.postgres.fields import ArrayField
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from core.models import AdminArea, Organisation, User


class SupplyItem(models.Model):
    """One entry of the supplies code table (data/resources_supplies.csv)."""

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name (Chinese)"), max_length=64)
    name_en = models.CharField(_("name (English)"), max_length=64)
    unit = models.CharField(_("unit"), max_length=8)

    class Meta:
        ordering = ["code"]
        verbose_name = _("supply item")
        verbose_name_plural = _("supply items")

    def __str__(self) -> str:
        return self.name


class Specialty(models.Model):
    """A rescue team's skill or an expert's field (data/resources_specialties.csv)."""

    class Kind(models.TextChoices):
        SKILL = "skill", _("Team skill")
        FIELD = "field", _("Expert field")

    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    code = models.CharField(_("code"), max_length=32)
    name = models.CharField(_("name (Chinese)"), max_length=64)
    name_en = models.CharField(_("name (English)"), max_length=64)

    class Meta:
        ordering = ["kind", "code"]
        constraints = [models.UniqueConstraint(fields=["kind", "code"], name="resources_specialty_unique_code")]
        verbose_name = _("specialty")
        verbose_name_plural = _("specialties")

    def __str__(self) -> str:
        return self.name


class Placed(models.Model):
    """What every resource on the map has: a name, the organisation that holds it, a place and its district."""

    name = models.CharField(_("name"), max_length=128)
    organisation = models.ForeignKey(Organisation, verbose_name=_("organisation"), on_delete=models.PROTECT)
    address = models.CharField(_("address"), max_length=200, blank=True)
    district = models.ForeignKey(AdminArea, verbose_name=_("district"), null=True, blank=True, on_delete=models.PROTECT)
    geom = models.PointField(_("location"), srid=4326)

    class Meta:
        abstract = True
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class RescueTeam(Placed):
    skills = ArrayField(models.CharField(max_length=32), verbose_name=_("skills"), default=list, blank=True)
    headcount = models.PositiveIntegerField(_("headcount"))
    on_duty = models.PositiveIntegerField(_("on duty"))
    phone = models.CharField(_("contact phone"), max_length=32, blank=True)

    class Meta(Placed.Meta):
        constraints = [models.CheckConstraint(condition=Q(on_duty__lte=F("headcount")), name="resources_team_on_duty")]
        verbose_name = _("rescue team")
        verbose_name_plural = _("rescue teams")


class Depot(Placed):
    class Meta(Placed.Meta):
        verbose_name = _("supply depot")
        verbose_name_plural = _("supply depots")


class StockItem(models.Model):
    """A depot's stock of one item: what is on hand, and how much of it is promised to incidents (allocated)."""

    depot = models.ForeignKey(Depot, verbose_name=_("depot"), on_delete=models.CASCADE, related_name="stock")
    item = models.ForeignKey(SupplyItem, verbose_name=_("item"), on_delete=models.PROTECT)
    on_hand = models.PositiveIntegerField(_("on hand"))
    allocated = models.PositiveIntegerField(_("allocated"), default=0)

    class Meta:
        ordering = ["depot", "item"]
        constraints = [
            models.UniqueConstraint(fields=["depot", "item"], name="resources_stock_unique_item"),
            # The last line of defence against oversubscription: the database refuses it whatever the code does.
            models.CheckConstraint(condition=Q(allocated__lte=F("on_hand")), name="resources_stock_not_oversubscribed"),
        ]
        verbose_name = _("stock item")
        verbose_name_plural = _("stock")

    def __str__(self) -> str:
        return f"{self.depot_id}:{self.item_id}"

    @property
    def available(self) -> int:
        return self.on_hand - self.allocated


class Shelter(Placed):
    class Status(models.TextChoices):
        OPEN = "open", pgettext_lazy("shelter status", "Open")
        CLOSED = "closed", pgettext_lazy("shelter status", "Closed")

    footprint = models.MultiPolygonField(_("site area"), srid=4326, null=True, blank=True)
    capacity = models.PositiveIntegerField(_("capacity"))
    occupancy = models.PositiveIntegerField(_("occupancy"), default=0)
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.CLOSED)

    class Meta(Placed.Meta):
        constraints = [
            models.CheckConstraint(condition=Q(occupancy__lte=F("capacity")), name="resources_shelter_not_overfull")
        ]
        verbose_name = _("shelter")
        verbose_name_plural = _("shelters")


class Expert(models.Model):
    """An expert on call; the phone is personal data (only command-centre staff read it)."""

    name = models.CharField(_("name"), max_length=64)
    fields = ArrayField(models.CharField(max_length=32), verbose_name=_("fields"), default=list, blank=True)
    organisation = models.ForeignKey(Organisation, verbose_name=_("organisation"), on_delete=models.PROTECT)
    employer = models.CharField(_("employer"), max_length=128, blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("expert")
        verbose_name_plural = _("experts")

    def __str__(self) -> str:
        return self.name


class HazardSource(models.Model):
    """A fixed source of danger (危险源): what it holds, and how far its consequences reach."""

    class Kind(models.TextChoices):
        CHEMICAL_PLANT = "chemical_plant", _("Chemical plant")
        GAS_STATION = "gas_station", _("Filling station")
        DG_DEPOT = "dg_depot", _("Dangerous-goods depot")
        GAS_STORAGE = "gas_storage", _("Gas storage and distribution station")
        EXPLOSIVES = "explosives", _("Explosives store")
        OTHER = "other", _("Other")

    class Grade(models.IntegerChoices):  # GB 18218 major hazard grades, 1 the most severe
        ONE = 1, _("Grade 1")
        TWO = 2, _("Grade 2")
        THREE = 3, _("Grade 3")
        FOUR = 4, _("Grade 4")

    name = models.CharField(_("name"), max_length=128)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    operator = models.CharField(_("operating company"), max_length=128, blank=True)
    substances = models.JSONField(
        _("substances"), default=list, blank=True, help_text=_('[{"name": "液化石油气", "un_number": "1075"}, …]')
    )
    radius_m = models.PositiveIntegerField(_("hazard radius (m)"))
    grade = models.PositiveSmallIntegerField(_("grade"), choices=Grade.choices)
    address = models.CharField(_("address"), max_length=200, blank=True)
    district = models.ForeignKey(AdminArea, verbose_name=_("district"), null=True, blank=True, on_delete=models.PROTECT)
    geom = models.PointField(_("location"), srid=4326)
    zone = models.PolygonField(
        _("hazard zone"), srid=4326, null=True, blank=True, editable=False,
        help_text=_("The hazard radius around the location, buffered in the city's metric CRS (kept by the services)."),
    )  # fmt: skip

    class Meta:
        ordering = ["name"]
        verbose_name = _("hazard source")
        verbose_name_plural = _("hazard sources")

    def __str__(self) -> str:
        return self.name


class SupplyRequest(models.Model):
    """An operator's request for N of an item for an incident (a plain reference: dispatch owns incidents)."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        FILLED = "filled", _("Filled")
        CANCELLED = "cancelled", _("Cancelled")

    incident_id = models.IntegerField(_("incident id"), db_index=True)
    incident_number = models.CharField(_("incident number"), max_length=24)
    item = models.ForeignKey(SupplyItem, verbose_name=_("item"), on_delete=models.PROTECT)
    quantity = models.PositiveIntegerField(_("quantity"))
    note = models.CharField(_("note"), max_length=255, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.OPEN)
    requested_by = models.ForeignKey(User, verbose_name=_("requested by"), null=True, on_delete=models.SET_NULL)
    requested_at = models.DateTimeField(_("requested"))

    class Meta:
        ordering = ["-requested_at", "-id"]
        verbose_name = _("supply request")
        verbose_name_plural = _("supply requests")

    def __str__(self) -> str:
        return f"{self.incident_number} {self.item_id}×{self.quantity}"


class Allocation(models.Model):
    """Part of a request taken from one depot's stock: allocated, then released back or consumed."""

    class Status(models.TextChoices):
        ALLOCATED = "allocated", _("Allocated")
        RELEASED = "released", _("Released")
        CONSUMED = "consumed", _("Consumed")

    request = models.ForeignKey(
        SupplyRequest, verbose_name=_("request"), on_delete=models.PROTECT, related_name="allocations"
    )
    stock = models.ForeignKey(StockItem, verbose_name=_("stock"), on_delete=models.PROTECT, related_name="allocations")
    quantity = models.PositiveIntegerField(_("quantity"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.ALLOCATED)
    allocated_by = models.ForeignKey(User, verbose_name=_("allocated by"), null=True, on_delete=models.SET_NULL)
    allocated_at = models.DateTimeField(_("allocated"))
    closed_at = models.DateTimeField(_("released or consumed"), null=True, blank=True)

    class Meta:
        ordering = ["allocated_at", "id"]
        constraints = [models.CheckConstraint(condition=Q(quantity__gt=0), name="resources_allocation_positive")]
        verbose_name = _("allocation")
        verbose_name_plural = _("allocations")

    def __str__(self) -> str:
        return f"{self.request_id}←{self.stock_id}×{self.quantity}"
