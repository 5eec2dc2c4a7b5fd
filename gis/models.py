"""The road network (routing and base map) and address points (geocoding)."""

from django.contrib.gis.db import models
from django.utils.translation import gettext_lazy as _

from core.models import AdminArea


class Road(models.Model):
    """One segment between two intersections, digitised in the travel direction when one-way."""

    class RoadClass(models.TextChoices):
        EXPRESSWAY = "expressway", _("Expressway")
        ARTERIAL = "arterial", _("Arterial road")
        SECONDARY = "secondary", _("Secondary road")
        BRANCH = "branch", _("Branch road")

    name = models.CharField(_("name"), max_length=64, db_index=True)
    road_class = models.CharField(_("class"), max_length=16, choices=RoadClass.choices)
    speed_kmh = models.FloatField(_("speed (km/h)"))
    oneway = models.BooleanField(_("one-way"), default=False)
    lanes = models.PositiveSmallIntegerField(_("lanes"), default=2)
    geom = models.LineStringField(_("geometry"), srid=4326)
    osm_way_id = models.BigIntegerField(_("OSM way id"), null=True, blank=True, db_index=True)
    """Set for segments imported from OpenStreetMap (one way is cut into segments at intersections)."""
    highway = models.CharField(_("OSM highway type"), max_length=32, blank=True)
    speed_backward_kmh = models.FloatField(
        _("speed against the digitised direction (km/h)"),
        null=True,
        blank=True,
        help_text=_("Only where it differs from the speed (OSM maxspeed:backward); none on a one-way road."),
    )
    emergency_only = models.BooleanField(
        _("emergency vehicles only"),
        default=False,
        help_text=_("Closed to general traffic but open to emergency vehicles (bus-only, access=no + emergency=yes)."),
    )

    class Meta:
        verbose_name = _("road segment")
        verbose_name_plural = _("roads")

    def __str__(self) -> str:
        return self.name


class TurnRestriction(models.Model):
    """An OSM turn restriction (type=restriction) between two road segments that meet at its via node.

    `no_*` forbids the turn from `from_road` into `to_road`; `only_*` forbids every other turn out of
    `from_road` at that node. Deleted with either road, so re-importing a city replaces them.

    Any change to roads or turn restrictions raises the road network version (a one-row table written by a
    trigger in the same transaction, migration 0005): `gis.selectors.road_network_version`."""

    class Kind(models.TextChoices):
        NO = "no", _("No turn")
        ONLY = "only", _("Only this turn")

    kind = models.CharField(_("kind"), max_length=4, choices=Kind.choices)
    from_road = models.ForeignKey(Road, on_delete=models.CASCADE, related_name="restrictions_from")
    to_road = models.ForeignKey(Road, on_delete=models.CASCADE, related_name="restrictions_to")
    via = models.PointField(_("via node"), srid=4326)
    osm_relation_id = models.BigIntegerField(_("OSM relation id"), null=True, blank=True)

    class Meta:
        verbose_name = _("turn restriction")
        verbose_name_plural = _("turn restrictions")


class Address(models.Model):
    """A standard address (door plate, or a building behind one) with its elements after GA/T 2000.32.

    The administrative elements are filled from where the point lies (`services.fill_address_elements`); `road_key`
    is what the geocoder searches (`gis.geocoder`)."""

    province = models.CharField(_("province"), max_length=16, blank=True)
    city = models.CharField(_("city"), max_length=32, blank=True)
    district = models.ForeignKey(AdminArea, verbose_name=_("district"), on_delete=models.PROTECT)
    street = models.ForeignKey(
        AdminArea, verbose_name=_("sub-district"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    community = models.ForeignKey(
        AdminArea, verbose_name=_("community"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    road_name = models.CharField(_("road"), max_length=64)
    number = models.PositiveIntegerField(_("number"))
    building = models.CharField(
        _("building"), max_length=8, blank=True, help_text=_("栋/座/幢; empty for a door plate")
    )
    unit = models.CharField(_("unit"), max_length=8, blank=True)
    room = models.CharField(_("room"), max_length=8, blank=True)
    label = models.CharField(_("address"), max_length=128, db_index=True)
    road_key = models.CharField(
        _("search key"),
        max_length=64,
        blank=True,
        help_text=_("The road name normalised for search: its specific part, ordinals in Chinese (福华1路 → 福华一)."),
    )
    search_text = models.CharField(
        _("search text"), max_length=160, blank=True, help_text=_("What the trigram index of the roads holds.")
    )
    geom = models.PointField(_("location"), srid=4326)

    class Meta:
        ordering = ["label"]
        verbose_name = _("address")
        verbose_name_plural = _("addresses")
        indexes = [
            models.Index(fields=["road_key", "number"], name="geo_address_road_number"),
        ]

    def __str__(self) -> str:
        return self.label


class Landcover(models.Model):
    """Water and green areas of the base map (rivers, lakes, parks, woodland)."""

    class Kind(models.TextChoices):
        WATER = "water", _("Water")
        PARK = "park", _("Park")
        WOODLAND = "woodland", _("Woodland")

    name = models.CharField(_("name"), max_length=64, blank=True)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, db_index=True)
    geom = models.MultiPolygonField(_("geometry"), srid=4326)

    class Meta:
        verbose_name = _("land cover area")
        verbose_name_plural = _("land cover")

    def __str__(self) -> str:
        return self.name or self.get_kind_display()


class Dataset(models.Model):
    """An imported dataset; each one is published as a layer `ds-<slug>` (OGC API, tiles, export)."""

    slug = models.SlugField(_("identifier"), max_length=48, unique=True)
    title = models.CharField(_("title"), max_length=128)
    geometry_type = models.CharField(_("geometry type"), max_length=24)
    fields = models.JSONField(_("fields"), default=dict, help_text="property name → JSON type")
    read_roles = models.JSONField(_("roles that may read it"), default=list)
    source_name = models.CharField(_("source file"), max_length=255)
    source_format = models.CharField(_("source format"), max_length=16)
    source_crs = models.CharField(_("source CRS"), max_length=64)
    report = models.JSONField(_("import report"), default=dict)
    created_by = models.ForeignKey("core.User", verbose_name=_("imported by"), on_delete=models.PROTECT)
    created_at = models.DateTimeField(_("imported at"), auto_now_add=True)

    class Meta:
        ordering = ["slug"]
        verbose_name = _("imported dataset")
        verbose_name_plural = _("imported datasets")

    def __str__(self) -> str:
        return self.title


class DatasetFeature(models.Model):
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="features")
    properties = models.JSONField(default=dict)
    geom = models.GeometryField(srid=4326)

    class Meta:
        verbose_name = _("imported feature")
        verbose_name_plural = _("imported features")


class ImportPreview(models.Model):
    """An uploaded file, read and checked but not yet committed; its report is what the user confirms."""

    id = models.UUIDField(primary_key=True)
    created_by = models.ForeignKey("core.User", on_delete=models.CASCADE)
    created_at = models.DateTimeField(auto_now_add=True)
    file_name = models.CharField(max_length=255)
    options = models.JSONField(default=dict)
    report = models.JSONField(default=dict)
    committed = models.ForeignKey(Dataset, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        verbose_name = _("import preview")
        verbose_name_plural = _("import previews")


class SavedQuery(models.Model):
    """A planner's query (a layer and a CQL2 text filter), kept to run again; optionally shared with colleagues."""

    owner = models.ForeignKey(
        "core.User", verbose_name=_("owner"), on_delete=models.CASCADE, related_name="saved_queries"
    )
    organisation = models.ForeignKey(
        "core.Organisation",
        verbose_name=_("organisation"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        help_text=_("The owner's organisation when saved; shared queries are visible there."),
    )
    name = models.CharField(_("name"), max_length=100)
    layer = models.CharField(_("layer"), max_length=64)
    cql2 = models.TextField(_("CQL2 filter"), blank=True)
    shared = models.BooleanField(_("shared with the organisation"), default=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint(fields=["owner", "name"], name="geo_savedquery_owner_name")]
        verbose_name = _("saved query")
        verbose_name_plural = _("saved queries")

    def __str__(self) -> str:
        return self.name
