"""The monitoring platforms below the city (JT/T 809 lower platforms) and the key vehicles (重点车辆) they report.

Row rule: a key vehicle's ``dispatch.Vehicle.agency`` is its carrier, an Organisation under the transport bureau.
dispatch's one rule (``unit_visibility``: a viewer sees the units of its organisation and those below it) then
gives a transport-bureau supervisor exactly the key vehicles, and police, fire, ambulance and traffic-police
staff none of them; a command centre that oversees dispatch sees all.
"""

from django.contrib.auth.hashers import check_password, make_password
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils.translation import gettext_lazy as _

from core.models import Organisation
from dispatch.models import Vehicle


class LowerPlatform(models.Model):
    """An enterprise or industry monitoring platform that logs in to our JT/T 809 main link (we are its 上级)."""

    class Version(models.IntegerChoices):
        V2011 = 2011, "JT/T 809-2011"
        V2019 = 2019, "JT/T 809-2019"

    class LinkState(models.TextChoices):
        DOWN = "down", _("Down")
        MAIN_ONLY = "main_only", _("Main link only")
        SUB_ONLY = "sub_only", _("Sub link only")
        UP = "up", _("Both links up")

    name = models.CharField(_("name"), max_length=128)
    access_code = models.PositiveIntegerField(
        _("access code"), unique=True, help_text=_("MSG_GNSSCENTERID (接入码) assigned to the platform.")
    )
    user_id = models.PositiveIntegerField(_("user id"))
    password_hash = models.CharField(_("password (hash)"), max_length=128, editable=False)
    allowed_addresses = ArrayField(
        models.GenericIPAddressField(),
        verbose_name=_("allowed source addresses"),
        default=list,
        blank=True,
        help_text=_("Logins from any other address are refused (result 1)."),
    )
    version = models.PositiveSmallIntegerField(_("protocol version"), choices=Version.choices, default=Version.V2011)
    encrypted = models.BooleanField(_("encrypt bodies"), default=False)
    m1 = models.PositiveIntegerField("M1", default=0)
    ia1 = models.PositiveIntegerField("IA1", default=0)
    ic1 = models.PositiveIntegerField("IC1", default=0)
    carrier = models.ForeignKey(
        Organisation,
        verbose_name=_("default carrier"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        help_text=_("Vehicles this platform reports that are not on record yet are created under this carrier; "
                    "empty: their messages are refused (logged)."),
    )  # fmt: skip
    enabled = models.BooleanField(_("enabled"), default=True)
    link_state = models.CharField(
        _("link state"), max_length=16, choices=LinkState.choices, default=LinkState.DOWN, editable=False
    )
    last_seen_at = models.DateTimeField(_("last message"), null=True, blank=True, editable=False)

    class Meta:
        ordering = ["name"]
        verbose_name = _("lower platform (JT/T 809)")
        verbose_name_plural = _("lower platforms (JT/T 809)")

    def __str__(self) -> str:
        return f"{self.name} ({self.access_code})"

    def set_password(self, raw: str) -> None:
        self.password_hash = make_password(raw)

    def check_password(self, raw: str) -> bool:
        return bool(self.password_hash) and check_password(raw, self.password_hash)


class KeyVehicle(models.Model):
    """A 重点营运车辆: the dispatch unit (position, alarms, track) plus what transport supervision needs."""

    class Category(models.TextChoices):
        COACH = "coach", _("Coach (客车)")
        TOUR_BUS = "tour_bus", _("Chartered tour bus (旅游包车)")
        DANGEROUS_GOODS = "dangerous_goods", _("Dangerous goods (危险品运输)")
        CASH_VAN = "cash_van", _("Cash van (运钞车)")
        AMBULANCE = "ambulance", _("Ambulance (急救)")
        OTHER = "other", _("Other commercial vehicle (其他营运车辆)")

    vehicle = models.OneToOneField(
        Vehicle, verbose_name=_("vehicle"), on_delete=models.CASCADE, related_name="key_vehicle"
    )
    category = models.CharField(_("category"), max_length=24, choices=Category.choices)
    plate_colour = models.PositiveSmallIntegerField(
        _("plate colour"),
        default=2,
        choices=[(1, _("Blue")), (2, _("Yellow")), (3, _("Black")), (4, _("White")), (9, _("Other"))],
    )
    platform = models.ForeignKey(
        LowerPlatform,
        verbose_name=_("reporting platform"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="vehicles",
    )
    cargo = models.CharField(_("cargo"), max_length=64, blank=True)
    un_number = models.CharField(
        _("UN number"), max_length=6, blank=True, help_text=_("Dangerous goods: e.g. UN1203 (gasoline).")
    )
    permit = models.CharField(_("operating permit (道路运输证)"), max_length=32, blank=True)
    route_description = models.CharField(_("approved route"), max_length=255, blank=True)
    terminal_id = models.CharField(_("terminal id (809)"), max_length=32, blank=True)
    static_info = models.JSONField(_("static information (0x1601)"), default=dict, blank=True)
    registered_at = models.DateTimeField(_("registered (0x1201)"), null=True, blank=True)

    class Meta:
        ordering = ["vehicle__call_sign"]
        verbose_name = _("key vehicle")
        verbose_name_plural = _("key vehicles")

    def __str__(self) -> str:
        return self.vehicle.plate or self.vehicle.call_sign


# The dispatch kind of each category: it picks the AVL rules (speed limit; the restricted-zone check applies to
# dangerous goods).
VEHICLE_KIND = {
    KeyVehicle.Category.COACH: Vehicle.Kind.COACH,
    KeyVehicle.Category.TOUR_BUS: Vehicle.Kind.COACH,
    KeyVehicle.Category.DANGEROUS_GOODS: Vehicle.Kind.DANGEROUS_GOODS,
    KeyVehicle.Category.CASH_VAN: Vehicle.Kind.CASH_VAN,
    KeyVehicle.Category.AMBULANCE: Vehicle.Kind.AMBULANCE,
    KeyVehicle.Category.OTHER: Vehicle.Kind.COACH,
}
