"""The layer registry: which spatial tables are published (OGC API - Features, tiles, export, statistics), how,
and to whom.

Each layer names its model, geometry field, id field and an explicit allow-list of properties
(public name → ORM path + JSON type). Nothing outside the allow-list is ever serialised, sorted on
or filtered on: user-supplied names are looked up here before anything reaches the ORM.

Each app declares its own layers (``<app>/layers.py``, registered from its ``AppConfig.ready()``), with the
row scope of its domain API: every read path asks ``rows_for(user)``, never the bare table. This module
declares the shared basemap layers only and imports no domain app.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.db.models import BigIntegerField, BooleanField, FloatField, Model, Q, QuerySet
from django.db.models.fields.json import KT
from django.db.models.functions import Cast

from core.models import AdminArea

# JSON types a property may have (also used for queryables and CQL2 literal checks).
STRING, NUMBER, INTEGER, BOOLEAN, DATETIME = "string", "number", "integer", "boolean", "datetime"

GEOMETRY_QUERYABLE = "geometry"
"""The public name of a layer's geometry in CQL2 filters and queryables."""


@dataclass(frozen=True)
class Prop:
    path: str
    """ORM lookup path; may cross a foreign key (e.g. ``district__code``), chosen by us, never by the client."""
    type: str
    title: str = ""


@dataclass(frozen=True)
class Scope:
    """The rows of a layer that one viewer may read: a filter, and a key that names it. Compiled tile SQL and
    cached tiles are kept per key, so a tile of one scope is never served to another."""

    key: str
    q: Q


EVERY_ROW = Scope("all", Q())


@dataclass(frozen=True)
class Layer:
    id: str
    title_zh: str
    title_en: str
    model: type[Model]
    geometry_field: str
    geometry_type: str
    properties: dict[str, Prop]
    id_field: str = "id"
    read_roles: tuple[str, ...] | None = None
    """Roles that may read the layer; None: any signed-in user."""
    base_filter: dict = field(default_factory=dict)
    time_field: str | None = None
    """Public property name carrying the feature's time (for ``datetime=``), if any."""
    scope: Callable[..., Scope] | None = None
    """scope(user) → the rows the user may read, by the domain API's own rule; None: every row."""
    description: str = ""
    tile_min_zoom: int = 0
    """Below this zoom its vector tiles are empty (dense point layers)."""
    tile_cache: bool = True
    """False for live layers written in bulk without model signals (their tiles are always fresh)."""
    annotations: dict = field(default_factory=dict)
    """Computed columns the property paths may name (typed JSON keys of imported datasets)."""

    def queryset(self) -> QuerySet:
        """Every row of the layer, whoever asks: for code that applies `scope_for` itself (tiles)."""
        qs = self.model.objects.filter(**self.base_filter)
        return qs.annotate(**self.annotations) if self.annotations else qs

    def readable_by(self, user) -> bool:
        if not user or not user.is_authenticated:
            return False
        return self.read_roles is None or user.has_role(*self.read_roles)

    def scope_for(self, user) -> Scope:
        """The user's scope of this layer, worked out once per user object (a request, a remembered tile viewer)."""
        if self.scope is None:
            return EVERY_ROW
        known = user.__dict__.setdefault("_layer_scopes", {})
        if self.id not in known:
            known[self.id] = self.scope(user)
        return known[self.id]

    def known_scope(self, user) -> Scope | None:
        """The scope if it needs no database work now (event-loop callers); None if it must be worked out first."""
        return EVERY_ROW if self.scope is None else user.__dict__.get("_layer_scopes", {}).get(self.id)

    def rows_for(self, user) -> QuerySet:
        """The rows `user` may read: what every read path (OGC API, export, statistics, queries) starts from."""
        return self.queryset().filter(self.scope_for(user).q)

    def field_mapping(self) -> dict[str, str]:
        """Public name → ORM path, for every name a client may use (geometry included)."""
        mapping = {name: prop.path for name, prop in self.properties.items()}
        mapping[GEOMETRY_QUERYABLE] = self.geometry_field
        return mapping


_REGISTRY: dict[str, Layer] = {}
_ON_REGISTER: list[Callable[[Layer], None]] = []


def on_register(listener: Callable[[Layer], None]) -> None:
    """Call `listener` with every layer registered, before and after now (the tile cache watches their tables)."""
    _ON_REGISTER.append(listener)
    for layer in _REGISTRY.values():
        listener(layer)


def register(layer: Layer) -> Layer:
    if layer.id in _REGISTRY:
        raise ValueError(f"layer {layer.id!r} registered twice")
    if GEOMETRY_QUERYABLE in layer.properties:
        raise ValueError(f"layer {layer.id!r}: '{GEOMETRY_QUERYABLE}' is reserved for the geometry")
    _REGISTRY[layer.id] = layer
    for listener in _ON_REGISTER:
        listener(layer)
    return layer


_JSON_CASTS = {NUMBER: FloatField(), INTEGER: BigIntegerField(), BOOLEAN: BooleanField()}
DATASET_PREFIX = "ds-"
"""Layer ids of imported datasets: ``ds-<slug>``."""


def all_layers() -> list[Layer]:
    from .models import Dataset

    datasets = Dataset.objects.select_related("created_by").order_by("slug")
    return list(_REGISTRY.values()) + [dataset_layer(d) for d in datasets]


def get(layer_id: str) -> Layer | None:
    if layer_id.startswith(DATASET_PREFIX):
        from .models import Dataset

        dataset = Dataset.objects.select_related("created_by").filter(slug=layer_id[len(DATASET_PREFIX) :]).first()
        return dataset_layer(dataset) if dataset else None
    return _REGISTRY.get(layer_id)


def dataset_layer(dataset) -> Layer:
    """An imported dataset as a layer: its properties are JSON keys, allow-listed from the import's field list."""
    from .models import DatasetFeature

    columns, properties = {}, {}
    for i, (name, kind) in enumerate(dataset.fields.items()):
        text = KT(f"properties__{name}")
        columns[f"ds_{i}"] = Cast(text, _JSON_CASTS[kind]) if kind in _JSON_CASTS else text
        properties[name] = Prop(f"ds_{i}", kind, name)
    return Layer(
        id=DATASET_PREFIX + dataset.slug,
        title_zh=dataset.title,
        title_en=dataset.title,
        model=DatasetFeature,
        geometry_field="geom",
        geometry_type=dataset.geometry_type,
        properties=properties,
        annotations=columns,
        read_roles=tuple(dataset.read_roles) or None,
        base_filter={"dataset_id": dataset.pk},
        description=f"{dataset.source_name} ({dataset.source_format}, {dataset.source_crs})",
    )


def builtin_layers() -> list[Layer]:
    """The layers declared in code (no database access, unlike all_layers)."""
    return list(_REGISTRY.values())


def layers_for(user) -> list[Layer]:
    return [layer for layer in all_layers() if layer.readable_by(user)]


def register_basemap_layers() -> None:
    """The shared layers every city has: administrative areas, roads, addresses, water and green."""
    from .models import Address, Landcover, Road

    area_props = {
        "code": Prop("code", STRING, "行政区划代码 code"),
        "name": Prop("name", STRING, "名称 name"),
        "parent_code": Prop("parent__code", STRING, "上级代码 parent code"),
    }
    for layer_id, level, zh, en in [
        ("districts", AdminArea.Level.DISTRICT, "行政区", "Districts"),
        ("streets", AdminArea.Level.STREET, "街道", "Sub-districts"),
        ("communities", AdminArea.Level.COMMUNITY, "社区", "Communities"),
    ]:
        register(
            Layer(
                id=layer_id,
                title_zh=zh,
                title_en=en,
                model=AdminArea,
                geometry_field="geom",
                geometry_type="MultiPolygon",
                properties=area_props,
                base_filter={"level": level},
            )
        )
    register(
        Layer(
            id="roads",
            title_zh="道路",
            title_en="Roads",
            model=Road,
            geometry_field="geom",
            geometry_type="LineString",
            properties={
                "name": Prop("name", STRING, "道路名称 name"),
                "road_class": Prop("road_class", STRING, "道路等级 class"),
                "speed_kmh": Prop("speed_kmh", NUMBER, "速度 speed (km/h)"),
                "oneway": Prop("oneway", BOOLEAN, "单行 one-way"),
                "lanes": Prop("lanes", INTEGER, "车道数 lanes"),
            },
        )
    )
    register(
        Layer(
            id="addresses",
            title_zh="门牌地址",
            title_en="Addresses",
            model=Address,
            geometry_field="geom",
            geometry_type="Point",
            properties={
                "label": Prop("label", STRING, "地址 address"),
                "road_name": Prop("road_name", STRING, "道路 road"),
                "number": Prop("number", INTEGER, "门牌号 number"),
                "district_code": Prop("district__code", STRING, "行政区代码 district code"),
            },
            tile_min_zoom=14,
        )
    )
    landcover_props = {
        "name": Prop("name", STRING, "名称 name"),
        "kind": Prop("kind", STRING, "类型 kind"),
    }
    for layer_id, kinds, zh, en in [
        ("water", [Landcover.Kind.WATER], "水系", "Water"),
        ("green", [Landcover.Kind.PARK, Landcover.Kind.WOODLAND], "绿地", "Green areas"),
    ]:
        register(
            Layer(
                id=layer_id,
                title_zh=zh,
                title_en=en,
                model=Landcover,
                geometry_field="geom",
                geometry_type="MultiPolygon",
                properties=landcover_props,
                base_filter={"kind__in": kinds},
            )
        )
