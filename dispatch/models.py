"""Where emergency units are based."""

from django.contrib.gis.db import models
from django.utils.translation import gettext_lazy as _

from core.models import AdminArea, Organisation


class Station(models.Model):
    class Kind(models.TextChoices):
        POLICE_STATION = "police_station", _("Police station")
        FIRE_STATION = "fire_station", _("Fire station")
        HOSPITAL = "hospital", _("Hospital / ambulance station")
        TRAFFIC_POST = "traffic_post", _("Traffic police post")

    name = models.CharField(_("name"), max_length=128)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    agency = models.ForeignKey(Organisation, verbose_name=_("agency"), on_delete=models.PROTECT)
    address = models.CharField(_("address"), max_length=128, blank=True)
    district = models.ForeignKey(AdminArea, verbose_name=_("district"), on_delete=models.PROTECT)
    geom = models.PointField(_("location"), srid=4326)

    class Meta:
        ordering = ["name"]
        verbose_name = _("station")
        verbose_name_plural = _("stations")

    def __str__(self) -> str:
        return self.name


class Vehicle(models.Model):
    """An agency's unit or another key vehicle, its GPS terminal and its latest known position.

    The last position lives on the row (small, indexed, read by every console snapshot); the history is
    in the day-partitioned track table, which only the ingest writes.
    """

    class Kind(models.TextChoices):
        POLICE_CAR = "police_car", _("Police car")
        FIRE_ENGINE = "fire_engine", _("Fire engine")
        LADDER = "ladder", _("Aerial ladder")
        RESCUE = "rescue", _("Rescue vehicle")
        AMBULANCE = "ambulance", _("Ambulance")
        TRAFFIC_MOTORCYCLE = "traffic_motorcycle", _("Traffic police motorcycle")
        TRAFFIC_CAR = "traffic_car", _("Traffic police car")
        BUS = "bus", _("Bus")
        COACH = "coach", _("Coach")
        DANGEROUS_GOODS = "dangerous_goods", _("Dangerous-goods tanker")
        CASH_VAN = "cash_van", _("Cash van")

    class Status(models.TextChoices):
        AVAILABLE = "available", _("Available")
        DISPATCHED = "dispatched", _("Dispatched")
        EN_ROUTE = "en_route", _("En route")
        ON_SCENE = "on_scene", _("On scene")
        RETURNING = "returning", _("Returning")
        OUT_OF_SERVICE = "out_of_service", _("Out of service")

    call_sign = models.CharField(_("call sign"), max_length=32, unique=True)
    kind = models.CharField(_("kind"), max_length=24, choices=Kind.choices)
    agency = models.ForeignKey(Organisation, verbose_name=_("agency"), on_delete=models.PROTECT)
    plate = models.CharField(_("plate"), max_length=16, blank=True)
    station = models.ForeignKey(
        Station, verbose_name=_("station"), null=True, blank=True, on_delete=models.SET_NULL, related_name="vehicles"
    )
    crew = models.PositiveSmallIntegerField(_("crew"), default=0, help_text=_("Persons on board when staffed."))
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.AVAILABLE)
    # Terminal ids are credentials for the ingest: NULL (not "") when absent, so uniqueness holds.
    jt808_phone = models.CharField(
        _("JT/T 808 terminal phone"),
        max_length=20,
        unique=True,
        null=True,
        blank=True,
        help_text=_("Digits without leading zeros, as the terminal's header carries them."),
    )
    jt808_auth_code = models.CharField(_("JT/T 808 auth code"), max_length=32, blank=True, editable=False)
    osmand_id = models.CharField(_("OsmAnd device id"), max_length=64, unique=True, null=True, blank=True)
    last_position = models.PointField(_("last position"), srid=4326, null=True, blank=True)
    last_fix_at = models.DateTimeField(_("last fix time"), null=True, blank=True)
    last_speed_kmh = models.FloatField(_("last speed (km/h)"), null=True, blank=True)
    last_heading = models.SmallIntegerField(_("last heading"), null=True, blank=True)

    class Meta:
        ordering = ["call_sign"]
        verbose_name = _("vehicle")
        verbose_name_plural = _("vehicles")

    def __str__(self) -> str:
        return self.call_sign


class TrackPoint(models.Model):
    """One stored fix. The table is created by raw SQL (native partitioning by day on ``fix_time``), so
    Django only reads it; the ingest writes it with COPY. ``(terminal, fix_time)`` de-duplicates resends.
    """

    pk = models.CompositePrimaryKey("terminal", "fix_time")
    terminal = models.CharField(max_length=64)
    fix_time = models.DateTimeField()
    vehicle = models.ForeignKey(Vehicle, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    geom = models.PointField(srid=4326)
    speed_kmh = models.FloatField()
    heading = models.SmallIntegerField()
    altitude = models.IntegerField()
    alarm = models.BigIntegerField()
    status = models.BigIntegerField()
    received_at = models.DateTimeField()

    class Meta:
        managed = False
        db_table = "dispatch_track"
