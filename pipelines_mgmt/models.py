"""Underground utility networks: nodes, pipes, isolation valves, customers' service connections, repair orders.

Pipes and nodes form the graph; a valve sits on one pipe at the end touching one node (WNTR's valve-layer
convention), so isolation works on pipe ends (see isolation.py). Every change to the pipes, nodes or
valves of a network must bump `Network.version` (services.bump_network_version): the in-memory analysis
graph of each process is keyed by it (graph.py).
"""

from django.conf import settings
from django.contrib.gis.db import models
from django.utils.translation import gettext_lazy as _

from core.models import Organisation


class Utility(models.TextChoices):
    WATER = "water", _("Water supply")
    DRAINAGE = "drainage", _("Drainage")
    GAS = "gas", _("Gas")
    HEAT = "heat", _("District heating")
    POWER = "power", _("Power")
    TELECOM = "telecom", _("Telecom")


class Network(models.Model):
    """One utility's network in the city, owned by a utility company."""

    code = models.SlugField(_("code"), max_length=32, unique=True, help_text=_("Stable id used by the API."))
    name = models.CharField(_("name"), max_length=128)
    utility = models.CharField(_("utility"), max_length=16, choices=Utility.choices, db_index=True)
    owner = models.ForeignKey(Organisation, verbose_name=_("owner"), on_delete=models.PROTECT)
    version = models.BigIntegerField(
        _("version"), default=0, editable=False, help_text=_("Changes whenever pipes, nodes or valves change.")
    )

    class Meta:
        ordering = ["code"]
        verbose_name = _("pipe network")
        verbose_name_plural = _("pipe networks")

    def __str__(self) -> str:
        return self.name


class Node(models.Model):
    """A point of the network graph: junction, fitting, valve chamber, hydrant, meter or source."""

    class Kind(models.TextChoices):
        JUNCTION = "junction", _("Junction")
        VALVE = "valve", _("Valve")
        HYDRANT = "hydrant", _("Hydrant")
        TEE = "tee", _("Tee")
        METER = "meter", _("Meter")
        SOURCE = "source", _("Source")

    class SourceKind(models.TextChoices):
        TREATMENT_PLANT = "treatment_plant", _("Water treatment plant")
        RESERVOIR = "reservoir", _("Reservoir")
        TANK = "tank", _("Tank")
        GAS_GATE = "gas_gate", _("Gas gate station")
        REGULATOR_STATION = "regulator_station", _("Regulator station")

    network = models.ForeignKey(Network, verbose_name=_("network"), on_delete=models.CASCADE, related_name="nodes")
    code = models.CharField(_("code"), max_length=64)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.JUNCTION)
    source_kind = models.CharField(_("source kind"), max_length=20, choices=SourceKind.choices, blank=True)
    name = models.CharField(_("name"), max_length=128, blank=True)
    elevation_m = models.FloatField(_("elevation (m)"), null=True, blank=True)
    geom = models.PointField(_("location"), srid=4326)

    class Meta:
        ordering = ["network", "code"]
        constraints = [
            models.UniqueConstraint(fields=["network", "code"], name="pipeline_node_code_unique"),
            models.CheckConstraint(
                condition=models.Q(kind="source", source_kind__gt="")
                | (~models.Q(kind="source") & models.Q(source_kind="")),
                name="pipeline_node_source_kind",
                violation_error_message=_("A source needs a source kind; other nodes have none."),
            ),
        ]
        verbose_name = _("network node")
        verbose_name_plural = _("network nodes")

    def __str__(self) -> str:
        return self.name or self.code


class Pipe(models.Model):
    """A pipe body between two nodes; pumps and control valves of a hydraulic model are links here too."""

    class LinkType(models.TextChoices):
        PIPE = "pipe", _("Pipe")
        PUMP = "pump", _("Pump")
        CONTROL_VALVE = "control_valve", _("Control valve")

    class Material(models.TextChoices):
        DUCTILE_IRON = "ductile_iron", _("Ductile iron")
        CAST_IRON = "cast_iron", _("Grey cast iron")
        STEEL = "steel", _("Steel")
        PE = "pe", _("Polyethylene (PE)")
        PVC = "pvc", _("PVC")
        CONCRETE = "concrete", _("Concrete")
        OTHER = "other", _("Other")

    class PressureClass(models.TextChoices):
        GRAVITY = "gravity", _("Gravity flow")
        PN10 = "pn10", _("PN10 (1.0 MPa)")
        PN16 = "pn16", _("PN16 (1.6 MPa)")
        GAS_LOW = "low", _("Gas low pressure (≤0.01 MPa)")
        GAS_MEDIUM_B = "medium_b", _("Gas medium B (≤0.2 MPa)")
        GAS_MEDIUM_A = "medium_a", _("Gas medium A (≤0.4 MPa)")
        GAS_SUBHIGH_B = "subhigh_b", _("Gas sub-high B (≤0.8 MPa)")
        GAS_SUBHIGH_A = "subhigh_a", _("Gas sub-high A (≤1.6 MPa)")

    network = models.ForeignKey(Network, verbose_name=_("network"), on_delete=models.CASCADE, related_name="pipes")
    code = models.CharField(_("code"), max_length=64)
    link_type = models.CharField(_("link type"), max_length=16, choices=LinkType.choices, default=LinkType.PIPE)
    start_node = models.ForeignKey(Node, verbose_name=_("start node"), on_delete=models.PROTECT, related_name="+")
    end_node = models.ForeignKey(Node, verbose_name=_("end node"), on_delete=models.PROTECT, related_name="+")
    diameter_mm = models.FloatField(_("diameter (mm)"), null=True, blank=True)
    material = models.CharField(_("material"), max_length=16, choices=Material.choices, blank=True)
    depth_start_m = models.FloatField(_("depth at start (m)"), null=True, blank=True)
    depth_end_m = models.FloatField(_("depth at end (m)"), null=True, blank=True)
    pressure_class = models.CharField(_("pressure class"), max_length=16, choices=PressureClass.choices, blank=True)
    install_year = models.PositiveSmallIntegerField(_("install year"), null=True, blank=True)
    owner = models.ForeignKey(
        Organisation, verbose_name=_("owner"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    length_m = models.FloatField(_("length (m)"), help_text=_("Measured in the metric CRS, or the model's length."))
    geom = models.LineStringField(_("geometry"), srid=4326)

    class Meta:
        ordering = ["network", "code"]
        constraints = [models.UniqueConstraint(fields=["network", "code"], name="pipeline_pipe_code_unique")]
        verbose_name = _("pipe")
        verbose_name_plural = _("pipes")

    def __str__(self) -> str:
        return self.code


class Valve(models.Model):
    """An isolation valve on `pipe` at the end touching `node`; closing it cuts that pipe from that node."""

    class NormalState(models.TextChoices):
        OPEN = "open", _("Normally open")
        CLOSED = "closed", _("Normally closed")

    class Operability(models.TextChoices):
        WORKING = "working", _("Working")
        INOPERABLE = "inoperable", _("Inoperable")
        UNKNOWN = "unknown", _("Unknown")

    code = models.CharField(_("code"), max_length=64)
    pipe = models.ForeignKey(Pipe, verbose_name=_("pipe"), on_delete=models.CASCADE, related_name="valves")
    node = models.ForeignKey(Node, verbose_name=_("at node"), on_delete=models.CASCADE, related_name="valves")
    normal_state = models.CharField(
        _("normal state"), max_length=8, choices=NormalState.choices, default=NormalState.OPEN
    )
    operability = models.CharField(
        _("operability"), max_length=12, choices=Operability.choices, default=Operability.UNKNOWN
    )
    diameter_mm = models.FloatField(_("diameter (mm)"), null=True, blank=True)
    install_year = models.PositiveSmallIntegerField(_("install year"), null=True, blank=True)
    geom = models.PointField(_("location"), srid=4326)

    class Meta:
        ordering = ["code"]
        indexes = [models.Index(fields=["pipe", "node"])]
        verbose_name = _("valve")
        verbose_name_plural = _("valves")

    def __str__(self) -> str:
        return self.code


class ServiceConnection(models.Model):
    """A customer supplied through a service line tapped on a pipe."""

    class CustomerType(models.TextChoices):
        RESIDENTIAL = "residential", _("Residential")
        COMMERCIAL = "commercial", _("Commercial")
        INDUSTRIAL = "industrial", _("Industrial")
        PUBLIC = "public", _("Public building")
        HOSPITAL = "hospital", _("Hospital")
        SCHOOL = "school", _("School")
        CARE_HOME = "care_home", _("Care home")

    SENSITIVE_TYPES = frozenset({CustomerType.HOSPITAL, CustomerType.SCHOOL, CustomerType.CARE_HOME})

    pipe = models.ForeignKey(Pipe, verbose_name=_("pipe"), on_delete=models.CASCADE, related_name="connections")
    address = models.ForeignKey(
        "geo.Address", verbose_name=_("address"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    address_text = models.CharField(_("address text"), max_length=128, blank=True)
    customer_name = models.CharField(_("customer"), max_length=128)
    customer_type = models.CharField(
        _("customer type"), max_length=16, choices=CustomerType.choices, default=CustomerType.RESIDENTIAL
    )
    sensitive = models.BooleanField(
        _("sensitive"), default=False, db_index=True, help_text=_("Hospital, school, care home: notified first.")
    )
    meter_id = models.CharField(_("meter id"), max_length=32, blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True, help_text=_("Where outage notices are texted."))
    geom = models.PointField(_("location"), srid=4326)

    class Meta:
        ordering = ["-sensitive", "customer_name"]
        verbose_name = _("service connection")
        verbose_name_plural = _("service connections")

    def __str__(self) -> str:
        return self.customer_name


class RepairOrder(models.Model):
    """抢修单: a burst, the isolation plan computed for it, and the crew's progress."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        ISOLATING = "isolating", _("Isolating")
        REPAIRING = "repairing", _("Repairing")
        REPAIRED = "repaired", _("Repaired")
        RESTORED = "restored", _("Supply restored")
        CANCELLED = "cancelled", _("Cancelled")

    number = models.CharField(_("number"), max_length=32, unique=True)
    network = models.ForeignKey(Network, verbose_name=_("network"), on_delete=models.PROTECT)
    burst_pipe = models.ForeignKey(Pipe, verbose_name=_("burst pipe"), on_delete=models.PROTECT, related_name="+")
    burst_point = models.PointField(_("burst point"), srid=4326)
    network_version = models.BigIntegerField(_("network version of the plan"))
    isolation = models.JSONField(_("isolation result"))
    valves_to_close = models.JSONField(_("valves to close, in order"), default=list)
    failed_valves = models.JSONField(_("valves reported as not closing"), default=list)
    closed_valves = models.JSONField(_("valves reported closed by the crew"), default=list)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.OPEN)
    incident_ref = models.CharField(_("incident reference"), max_length=64, null=True, blank=True)
    # A plain number, not a foreign key: the dispatch app's models evolve on their own schedule.
    incident_id = models.BigIntegerField(_("dispatch incident id"), null=True, blank=True, db_index=True)
    exercise = models.BooleanField(
        _("exercise"), default=False, help_text=_("Opened by a drill: customers are not texted, KPIs leave it out.")
    )
    notes = models.TextField(_("notes"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    # The crew's progress, in the order it happens (services.report_valve_closed, report_valve_failed,
    # advance_repair_order); together with crew_log they are the repair record.
    isolating_at = models.DateTimeField(_("first valve closed at"), null=True, blank=True)
    isolated_at = models.DateTimeField(_("isolated at"), null=True, blank=True)
    repaired_at = models.DateTimeField(_("repaired at"), null=True, blank=True)
    restored_at = models.DateTimeField(_("supply restored at"), null=True, blank=True)
    crew_log = models.JSONField(
        _("crew log"),
        default=list,
        blank=True,
        help_text=_("Every step the crew reported: when, who, what, which valve."),
    )

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("repair order")
        verbose_name_plural = _("repair orders")

    def __str__(self) -> str:
        return self.number


class RepairRecord(models.Model):
    """A past repair of a pipe or a valve (leak, burst, seized valve): the history behind replacement warnings."""

    class Kind(models.TextChoices):
        LEAK = "leak", _("Leak")
        BURST = "burst", _("Burst")
        CORROSION = "corrosion", _("Corrosion")
        VALVE_SEIZED = "valve_seized", _("Valve seized")
        VALVE_LEAK = "valve_leak", _("Valve gland leak")

    pipe = models.ForeignKey(
        Pipe, verbose_name=_("pipe"), null=True, blank=True, on_delete=models.CASCADE, related_name="repairs"
    )
    valve = models.ForeignKey(
        Valve, verbose_name=_("valve"), null=True, blank=True, on_delete=models.CASCADE, related_name="repairs"
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    repaired_on = models.DateField(_("repaired on"))
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        ordering = ["-repaired_on"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(pipe__isnull=False) | models.Q(valve__isnull=False),
                name="pipeline_repair_record_target",
                violation_error_message=_("A repair record is about a pipe or a valve."),
            )
        ]
        verbose_name = _("repair record")
        verbose_name_plural = _("repair records")

    def __str__(self) -> str:
        return f"{self.kind} {self.repaired_on}"
