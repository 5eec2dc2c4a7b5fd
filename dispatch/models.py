"""Units and their stations, the GPS track, incidents with their calls, assignments and timeline, alarms."""

from django.contrib.gis.db import models
from django.contrib.postgres.fields import ArrayField
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.models import AdminArea, Organisation, User


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
    # SHA-256 of the device's secret token (what the phone sends as its "id"); the token itself is shown once.
    osmand_token_sha256 = models.CharField(
        _("OsmAnd token (SHA-256)"), max_length=64, unique=True, null=True, blank=True, editable=False
    )
    last_position = models.PointField(_("last position"), srid=4326, null=True, blank=True)
    last_fix_at = models.DateTimeField(_("last fix time"), null=True, blank=True)
    last_speed_kmh = models.FloatField(_("last speed (km/h)"), null=True, blank=True)
    last_heading = models.SmallIntegerField(_("last heading"), null=True, blank=True)
    route = models.LineStringField(
        _("assigned route"),
        srid=4326,
        null=True,
        blank=True,
        help_text=_("A bus line or an approved dangerous-goods route; leaving it raises an off-route alarm."),
    )

    class Meta:
        ordering = ["call_sign"]
        verbose_name = _("vehicle")
        verbose_name_plural = _("vehicles")

    def __str__(self) -> str:
        return self.call_sign


class VehicleGroup(models.Model):
    """A named set of vehicles (a fleet, a bus line, a convoy): the target of a group command or a rule."""

    name = models.CharField(_("name"), max_length=64)
    organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("organisation"),
        on_delete=models.PROTECT,
        help_text=_("The organisation that keeps the group; its staff see and use it."),
    )
    vehicles = models.ManyToManyField(Vehicle, verbose_name=_("vehicles"), related_name="groups", blank=True)
    description = models.CharField(_("description"), max_length=255, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["organisation", "name"], name="dispatch_group_unique_name")]
        verbose_name = _("vehicle group")
        verbose_name_plural = _("vehicle groups")

    def __str__(self) -> str:
        return self.name


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


AGENCY_CODES = Organisation.Agency.values


class IncidentType(models.Model):
    """One entry of an agency's incident code table (shipped in data/dispatch_incident_types.csv)."""

    class Utility(models.TextChoices):
        NONE = "", _("None")
        GAS = "gas", _("Gas")
        WATER = "water", _("Water")

    code = models.CharField(_("code"), max_length=32, unique=True)
    agency = models.CharField(_("agency"), max_length=3, choices=Organisation.Agency.choices)
    name = models.CharField(_("name (Chinese)"), max_length=64)
    name_en = models.CharField(_("name (English)"), max_length=64)
    default_priority = models.PositiveSmallIntegerField(_("default priority"), default=3)
    utility = models.CharField(
        _("utility network"),
        max_length=8,
        choices=Utility.choices,
        blank=True,
        help_text=_("Incidents of this type start the pipeline burst analysis of this network."),
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["agency", "code"]
        verbose_name = _("incident type")
        verbose_name_plural = _("incident types")

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    def label(self, language: str | None) -> str:
        return self.name if (language or "zh").startswith("zh") else self.name_en


class ResponsePlanItem(models.Model):
    """Run card line: for this incident type, send `count` units of `unit_kind` from `agency`."""

    incident_type = models.ForeignKey(
        IncidentType, verbose_name=_("incident type"), on_delete=models.CASCADE, related_name="plan"
    )
    agency = models.CharField(_("agency"), max_length=3, choices=Organisation.Agency.choices)
    unit_kind = models.CharField(_("unit kind"), max_length=24, choices=Vehicle.Kind.choices)
    count = models.PositiveSmallIntegerField(_("count"), default=1)

    class Meta:
        ordering = ["incident_type", "id"]
        constraints = [
            models.UniqueConstraint(fields=["incident_type", "agency", "unit_kind"], name="dispatch_plan_unique_kind")
        ]
        verbose_name = _("response plan line")
        verbose_name_plural = _("response plan")

    def __str__(self) -> str:
        return f"{self.agency} {self.unit_kind} x{self.count}"


class Incident(models.Model):
    """One real-world event; many calls may report it, several agencies may work it (联动)."""

    class Status(models.TextChoices):
        RECEIVED = "received", _("Received")
        DISPATCHED = "dispatched", _("Dispatched")
        EN_ROUTE = "en_route", _("En route")
        ON_SCENE = "on_scene", _("On scene")
        UNDER_CONTROL = "under_control", _("Under control")
        CLOSED = "closed", _("Closed")

    number = models.CharField(_("number"), max_length=24, unique=True)
    incident_type = models.ForeignKey(IncidentType, verbose_name=_("type"), on_delete=models.PROTECT)
    priority = models.PositiveSmallIntegerField(_("priority"))
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.RECEIVED)
    agencies = ArrayField(
        models.CharField(max_length=3, choices=Organisation.Agency.choices),
        verbose_name=_("agencies"),
        help_text=_("Agencies working this incident; their staff see it."),
    )
    address = models.CharField(_("address"), max_length=200, blank=True)
    description = models.TextField(_("description"), blank=True)
    caller_number = models.CharField(_("caller number"), max_length=32, blank=True)
    district = models.ForeignKey(AdminArea, verbose_name=_("district"), null=True, blank=True, on_delete=models.PROTECT)
    geom = models.PointField(_("location"), srid=4326)
    created_by = models.ForeignKey(
        User, verbose_name=_("created by"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    call_received_at = models.DateTimeField(_("call received"))
    created_at = models.DateTimeField(_("created"))
    dispatched_at = models.DateTimeField(_("dispatched"), null=True, blank=True)
    en_route_at = models.DateTimeField(_("en route"), null=True, blank=True)
    on_scene_at = models.DateTimeField(_("on scene"), null=True, blank=True)
    under_control_at = models.DateTimeField(_("under control"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    # A drill's incident (预案推演): shown marked 演练 everywhere, never counted in the KPIs.
    exercise = models.BooleanField(_("exercise"), default=False)
    # Set by a response plan's activation (emergency app); none: the incident type's run card applies.
    response_level = models.PositiveSmallIntegerField(_("response level"), null=True, blank=True)
    response_plan = models.CharField(_("response plan"), max_length=160, blank=True)
    run_card = models.JSONField(
        _("run card"), null=True, blank=True, help_text=_("[[agency, unit kind, count], …] of the level in force.")
    )

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status"]), models.Index(fields=["call_received_at"])]
        verbose_name = _("incident")
        verbose_name_plural = _("incidents")

    def __str__(self) -> str:
        return self.number


class Call(models.Model):
    """One phone call; a repeat call about the same event is attached to the incident, not a new one."""

    incident = models.ForeignKey(Incident, verbose_name=_("incident"), on_delete=models.CASCADE, related_name="calls")
    caller_number = models.CharField(_("caller number"), max_length=32, blank=True)
    received_at = models.DateTimeField(_("received"))
    description = models.TextField(_("description"), blank=True)
    taken_by = models.ForeignKey(User, verbose_name=_("taken by"), null=True, on_delete=models.SET_NULL)

    class Meta:
        ordering = ["received_at"]
        verbose_name = _("call")
        verbose_name_plural = _("calls")


class Assignment(models.Model):
    """A unit sent to an incident; its timestamps feed the response-time KPIs."""

    class Status(models.TextChoices):
        DISPATCHED = "dispatched", _("Dispatched")
        EN_ROUTE = "en_route", _("En route")
        ON_SCENE = "on_scene", _("On scene")
        RETURNING = "returning", _("Returning")
        CLEARED = "cleared", _("Cleared")

    incident = models.ForeignKey(
        Incident, verbose_name=_("incident"), on_delete=models.CASCADE, related_name="assignments"
    )
    vehicle = models.ForeignKey(Vehicle, verbose_name=_("unit"), on_delete=models.PROTECT, related_name="assignments")
    agency = models.CharField(_("agency"), max_length=3, choices=Organisation.Agency.choices)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.DISPATCHED)
    eta_s = models.FloatField(_("ETA at dispatch (s)"), null=True, blank=True)
    dispatched_by = models.ForeignKey(User, verbose_name=_("dispatched by"), null=True, on_delete=models.SET_NULL)
    dispatched_at = models.DateTimeField(_("dispatched"))
    en_route_at = models.DateTimeField(_("en route"), null=True, blank=True)
    on_scene_at = models.DateTimeField(_("on scene"), null=True, blank=True)
    returning_at = models.DateTimeField(_("returning"), null=True, blank=True)
    cleared_at = models.DateTimeField(_("cleared"), null=True, blank=True)

    class Meta:
        ordering = ["dispatched_at", "id"]
        constraints = [  # the database itself refuses a unit on two incidents at once
            models.UniqueConstraint(
                fields=["vehicle"], condition=~Q(status="cleared"), name="dispatch_one_active_assignment_per_unit"
            )
        ]
        verbose_name = _("assignment")
        verbose_name_plural = _("assignments")

    def __str__(self) -> str:
        return f"{self.vehicle_id} → {self.incident_id}"


class TimelineEntry(models.Model):
    """What happened to an incident, in order: calls, dispatches, status changes, links (written by services)."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="timeline")
    at = models.DateTimeField(_("time"))
    type = models.CharField(_("type"), max_length=32)
    text = models.CharField(_("text"), max_length=255)
    actor = models.ForeignKey(User, verbose_name=_("actor"), null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("timeline entry")
        verbose_name_plural = _("timeline")


class RestrictedZone(models.Model):
    """An area dangerous-goods vehicles must not enter (tunnels, the city centre, water protection zones)."""

    name = models.CharField(_("name"), max_length=128)
    geom = models.MultiPolygonField(_("area"), srid=4326)

    class Meta:
        ordering = ["name"]
        verbose_name = _("restricted zone")
        verbose_name_plural = _("restricted zones")

    def __str__(self) -> str:
        return self.name


class Alarm(models.Model):
    """A condition raised by a check (the AVL's, a fence rule's, the terminal's, a provincial platform's).

    Two clocks: ``cleared_at`` is when the condition ended (set by the check); the operator's workflow is
    acknowledged (with a note) and then closed (with a note). An alarm nobody acknowledges in time escalates.
    """

    class Kind(models.TextChoices):
        SPEEDING = "speeding", _("Speeding")
        RESTRICTED_ZONE = "restricted_zone", _("Dangerous goods in a restricted zone")
        STOPPED = "stopped", _("Stopped too long")
        OFF_ROUTE = "off_route", _("Off route")
        SOS = "sos", _("Emergency button (SOS)")
        OFFLINE = "offline", _("Offline")
        LOST_SIGNAL = "lost_signal", _("Lost satellite signal")
        FENCE = "fence", _("Fence rule")
        PLATFORM = "platform", _("Reported by a transport platform")

    vehicle = models.ForeignKey(Vehicle, verbose_name=_("unit"), on_delete=models.CASCADE, related_name="alarms")
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    # Which rule raised it ("" for the built-in checks): e.g. a fence rule's key, so one vehicle may have an
    # open alarm per rule of the same kind.
    rule = models.CharField(_("rule"), max_length=64, blank=True, default="")
    message = models.CharField(_("message"), max_length=255)
    at = models.DateTimeField(_("raised"))
    geom = models.PointField(_("location"), srid=4326)
    cleared_at = models.DateTimeField(_("cleared"), null=True, blank=True)
    acknowledged_at = models.DateTimeField(_("acknowledged"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        User, verbose_name=_("acknowledged by"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    acknowledge_note = models.CharField(_("acknowledgement note"), max_length=500, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    closed_by = models.ForeignKey(
        User, verbose_name=_("closed by"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    close_note = models.CharField(_("closing note"), max_length=500, blank=True)
    escalation_level = models.PositiveSmallIntegerField(_("escalation level"), default=0)
    escalated_at = models.DateTimeField(_("escalated"), null=True, blank=True)

    class Meta:
        ordering = ["-at"]
        constraints = [
            models.UniqueConstraint(
                fields=["vehicle", "kind", "rule"],
                condition=Q(cleared_at__isnull=True),
                name="dispatch_one_open_alarm_per_rule",
            )
        ]
        indexes = [
            models.Index(fields=["at"], name="dispatch_alarm_unacked", condition=Q(acknowledged_at__isnull=True))
        ]
        verbose_name = _("alarm")
        verbose_name_plural = _("alarms")

    def __str__(self) -> str:
        return f"{self.kind} {self.vehicle_id}"


class CommandBatch(models.Model):
    """One operator action sent to many vehicles (a group text, a call to every unit of an agency or an area):
    its per-vehicle commands carry the states."""

    class Target(models.TextChoices):
        VEHICLE = "vehicle", _("One vehicle")
        GROUP = "group", _("Vehicle group")
        AGENCY = "agency", _("All vehicles of an agency")
        AREA = "area", _("All vehicles in an administrative area")
        POLYGON = "polygon", _("All vehicles in a drawn area")

    kind = models.CharField(_("kind"), max_length=24)
    params = models.JSONField(_("parameters"), default=dict)
    target = models.CharField(_("target"), max_length=16, choices=Target.choices)
    target_label = models.CharField(
        _("target description"), max_length=160, help_text=_("What the operator picked, e.g. the group's name.")
    )
    group = models.ForeignKey(VehicleGroup, verbose_name=_("group"), null=True, blank=True, on_delete=models.SET_NULL)
    organisation = models.ForeignKey(
        Organisation, verbose_name=_("agency"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    area = models.ForeignKey(
        AdminArea, verbose_name=_("area"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    polygon = models.PolygonField(_("drawn area"), srid=4326, null=True, blank=True)
    created_by = models.ForeignKey(
        User, verbose_name=_("created by"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created"))

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("command batch")
        verbose_name_plural = _("command batches")

    def __str__(self) -> str:
        return f"{self.kind} → {self.target_label}"


class TerminalCommand(models.Model):
    """A platform→terminal command (JT/T 808 downlink) to one vehicle and what became of it.

    queued → sent (claimed by the ingest holding the terminal's session) → answered / failed; a queued or sent
    command past ``expires_at`` becomes expired. ``serial`` is the platform serial of the last attempt: the
    terminal's answer names it. A vehicle without a JT/T 808 terminal gets texts on its crew's MDT; reading
    one there (``read_at``) is its delivery.
    """

    class Kind(models.TextChoices):
        TEXT = "text", _("Text message")
        POSITION_QUERY = "position_query", _("Position query")
        TRACKING = "tracking", _("Temporary tracking")
        SET_PARAMS = "set_params", _("Set parameters")
        QUERY_PARAMS = "query_params", _("Query parameters")
        CALL_BACK = "call_back", _("Call back")
        VEHICLE_CONTROL = "vehicle_control", _("Vehicle control")

    class State(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENT = "sent", _("Sent")
        ANSWERED = "answered", _("Answered")
        FAILED = "failed", _("Failed")
        EXPIRED = "expired", _("Expired")

    vehicle = models.ForeignKey(Vehicle, verbose_name=_("vehicle"), on_delete=models.CASCADE, related_name="commands")
    batch = models.ForeignKey(
        CommandBatch, verbose_name=_("batch"), null=True, blank=True, on_delete=models.CASCADE, related_name="commands"
    )
    kind = models.CharField(_("kind"), max_length=24, choices=Kind.choices)
    params = models.JSONField(_("parameters"), default=dict)
    state = models.CharField(_("state"), max_length=12, choices=State.choices, default=State.QUEUED)
    serial = models.PositiveIntegerField(_("platform serial"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    created_by = models.ForeignKey(
        User, verbose_name=_("created by"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created"))
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    answered_at = models.DateTimeField(_("answered"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires"))
    result_code = models.SmallIntegerField(_("result code"), null=True, blank=True)
    answer = models.JSONField(_("answer"), null=True, blank=True, help_text=_("e.g. the position or the parameters."))
    error = models.CharField(_("error"), max_length=255, blank=True)
    read_at = models.DateTimeField(_("read on the MDT"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["vehicle", "-created_at"], name="dispatch_command_vehicle"),
            models.Index(
                fields=["vehicle", "created_at"],
                name="dispatch_command_pending",
                condition=Q(state__in=["queued", "sent"]),
            ),
        ]
        verbose_name = _("terminal command")
        verbose_name_plural = _("terminal commands")

    def __str__(self) -> str:
        return f"{self.kind} → {self.vehicle_id} ({self.state})"
