"""The layer registry: which spatial tables are published (OGC API - Features, later tiles/export), how, and to whom.

Each layer names its model, geometry field, id field and an explicit allow-list of properties
(public name → ORM path + JSON type). Nothing outside the allow-list is ever serialised, sorted on
or filtered on: user-supplied names are looked up here before anything reaches the ORM.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import BigIntegerField, BooleanField, FloatField, Model, QuerySet
from django.db.models.fields.json import KT
from django.db.models.functions import Cast

from core.models import AdminArea, Role

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
    owner: str = ""
    description: str = ""
    tile_min_zoom: int = 0
    """Below this zoom its vector tiles are empty (dense point layers)."""
    tile_cache: bool = True
    """False for live layers written in bulk without model signals (their tiles are always fresh)."""
    annotations: dict = field(default_factory=dict)
    """Computed columns the property paths may name (typed JSON keys of imported datasets)."""

    def queryset(self) -> QuerySet:
        qs = self.model.objects.filter(**self.base_filter)
        return qs.annotate(**self.annotations) if self.annotations else qs

    def readable_by(self, user) -> bool:
        if not user or not user.is_authenticated:
            return False
        return self.read_roles is None or user.has_role(*self.read_roles)

    def field_mapping(self) -> dict[str, str]:
        """Public name → ORM path, for every name a client may use (geometry included)."""
        mapping = {name: prop.path for name, prop in self.properties.items()}
        mapping[GEOMETRY_QUERYABLE] = self.geometry_field
        return mapping


_REGISTRY: dict[str, Layer] = {}


def register(layer: Layer) -> Layer:
    if layer.id in _REGISTRY:
        raise ValueError(f"layer {layer.id!r} registered twice")
    if GEOMETRY_QUERYABLE in layer.properties:
        raise ValueError(f"layer {layer.id!r}: '{GEOMETRY_QUERYABLE}' is reserved for the geometry")
    _REGISTRY[layer.id] = layer
    return layer


_JSON_CASTS = {NUMBER: FloatField(), INTEGER: BigIntegerField(), BOOLEAN: BooleanField()}
DATASET_PREFIX = "ds-"
"""Layer ids of imported datasets: ``ds-<slug>``."""


def all_layers() -> list[Layer]:
    _load()
    from .models import Dataset

    datasets = Dataset.objects.select_related("created_by").order_by("slug")
    return list(_REGISTRY.values()) + [dataset_layer(d) for d in datasets]


def get(layer_id: str) -> Layer | None:
    _load()
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
        owner=dataset.created_by.username if dataset.created_by_id else "",
        description=f"{dataset.source_name} ({dataset.source_format}, {dataset.source_crs})",
    )


def builtin_layers() -> list[Layer]:
    """The layers declared in code (no database access, unlike all_layers)."""
    _load()
    return list(_REGISTRY.values())


def layers_for(user) -> list[Layer]:
    return [layer for layer in all_layers() if layer.readable_by(user)]


_loaded = False


def _load() -> None:
    """Register the built-in layers on first use (models from other apps are imported lazily)."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    from dispatch.models import Incident, Station, Vehicle
    from grid.models import Case, Component, UnitGrid
    from pipelines_mgmt.models import Pipe, ServiceConnection, Utility, Valve

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
                owner="SZ-PLAN",
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
            owner="SZ-PLAN",
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
            owner="SZ-PLAN",
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
                owner="SZ-PLAN",
            )
        )
    register(
        Layer(
            id="stations",
            title_zh="应急站点",
            title_en="Emergency stations",
            model=Station,
            geometry_field="geom",
            geometry_type="Point",
            properties={
                "name": Prop("name", STRING, "名称 name"),
                "kind": Prop("kind", STRING, "类型 kind"),
                "address": Prop("address", STRING, "地址 address"),
                "agency_code": Prop("agency__code", STRING, "所属机构 agency"),
                "district_code": Prop("district__code", STRING, "行政区代码 district code"),
            },
            owner="SZ-ECC",
        )
    )
    register(
        Layer(
            id="vehicles",
            title_zh="车辆",
            title_en="Vehicles",
            model=Vehicle,
            geometry_field="last_position",
            geometry_type="Point",
            properties={
                "call_sign": Prop("call_sign", STRING, "呼号 call sign"),
                "kind": Prop("kind", STRING, "车型 kind"),
                "plate": Prop("plate", STRING, "车牌 plate"),
                "status": Prop("status", STRING, "状态 status"),
                "crew": Prop("crew", INTEGER, "乘员 crew"),
                "agency_code": Prop("agency__code", STRING, "所属机构 agency"),
                "last_fix_at": Prop("last_fix_at", DATETIME, "定位时间 last fix"),
                "last_speed_kmh": Prop("last_speed_kmh", NUMBER, "速度 speed (km/h)"),
                "last_heading": Prop("last_heading", INTEGER, "方向 heading"),
            },
            read_roles=(Role.OPERATOR, Role.CALL_TAKER, Role.LEADER, Role.ADMIN),
            time_field="last_fix_at",
            owner="SZ-ECC",
            tile_cache=False,
        )
    )
    pipe_props = {
        "code": Prop("code", STRING, "管段编号 code"),
        "network_code": Prop("network__code", STRING, "管网 network"),
        "link_type": Prop("link_type", STRING, "类型 link type"),
        "diameter_mm": Prop("diameter_mm", NUMBER, "管径 diameter (mm)"),
        "material": Prop("material", STRING, "材质 material"),
        "pressure_class": Prop("pressure_class", STRING, "压力等级 pressure class"),
        "depth_start_m": Prop("depth_start_m", NUMBER, "起点埋深 depth at start (m)"),
        "depth_end_m": Prop("depth_end_m", NUMBER, "终点埋深 depth at end (m)"),
        "install_year": Prop("install_year", INTEGER, "敷设年份 install year"),
        "length_m": Prop("length_m", NUMBER, "长度 length (m)"),
    }
    pipe_roles = (Role.PLANNER, Role.OPERATOR, Role.LEADER, Role.ADMIN)
    for layer_id, utility, zh, en, owner in [
        ("water-pipes", Utility.WATER, "供水管线", "Water pipes", "SZ-WATER"),
        ("gas-pipes", Utility.GAS, "燃气管线", "Gas pipes", "SZ-GAS"),
    ]:
        register(
            Layer(
                id=layer_id,
                title_zh=zh,
                title_en=en,
                model=Pipe,
                geometry_field="geom",
                geometry_type="LineString",
                properties=pipe_props,
                read_roles=pipe_roles,
                base_filter={"network__utility": utility},
                owner=owner,
            )
        )
    register(
        Layer(
            id="valves",
            title_zh="阀门",
            title_en="Valves",
            model=Valve,
            geometry_field="geom",
            geometry_type="Point",
            properties={
                "code": Prop("code", STRING, "阀门编号 code"),
                "network_code": Prop("pipe__network__code", STRING, "管网 network"),
                "pipe_code": Prop("pipe__code", STRING, "所在管段 pipe"),
                "normal_state": Prop("normal_state", STRING, "常态 normal state"),
                "operability": Prop("operability", STRING, "可操作性 operability"),
                "diameter_mm": Prop("diameter_mm", NUMBER, "口径 diameter (mm)"),
            },
            read_roles=pipe_roles,
            owner="SZ-WATER",
            tile_min_zoom=13,
        )
    )
    register(
        Layer(
            id="customers",
            title_zh="用户接入点",
            title_en="Service connections",
            model=ServiceConnection,
            geometry_field="geom",
            geometry_type="Point",
            properties={
                "customer_name": Prop("customer_name", STRING, "用户 customer"),
                "customer_type": Prop("customer_type", STRING, "用户类型 customer type"),
                "sensitive": Prop("sensitive", BOOLEAN, "重点用户 sensitive"),
                "network_code": Prop("pipe__network__code", STRING, "管网 network"),
                "pipe_code": Prop("pipe__code", STRING, "接入管段 pipe"),
                "address": Prop("address_text", STRING, "地址 address"),
            },
            read_roles=pipe_roles,
            owner="SZ-WATER",
            tile_min_zoom=14,
        )
    )
    register(
        Layer(
            id="unit-grids",
            title_zh="单元网格",
            title_en="Unit grids",
            model=UnitGrid,
            geometry_field="geom",
            geometry_type="Polygon",
            properties={
                "code": Prop("code", STRING, "网格编码 code"),
                "area_m2": Prop("area_m2", NUMBER, "面积 area (m²)"),
                "land_use": Prop("land_use", STRING, "用地 land use"),
                "community_code": Prop("community__code", STRING, "社区代码 community code"),
                "street_code": Prop("street__code", STRING, "街道代码 sub-district code"),
                "district_code": Prop("district__code", STRING, "行政区代码 district code"),
            },
            owner="SZ-UMC",
            tile_min_zoom=12,
        )
    )
    register(
        Layer(
            id="components",
            title_zh="城市部件",
            title_en="City components",
            model=Component,
            geometry_field="geom",
            geometry_type="Point",
            properties={
                "ident": Prop("ident", STRING, "部件标识码 identifier"),
                "class_code": Prop("component_class__code", STRING, "小类代码 class code"),
                "class_name": Prop("component_class__name", STRING, "小类名称 class"),
                "name": Prop("name", STRING, "名称 name"),
                "status": Prop("status", STRING, "状态 status"),
                "owner_code": Prop("owner__code", STRING, "主管部门 owner department"),
                "grid_code": Prop("grid__code", STRING, "网格编码 grid code"),
            },
            owner="SZ-UMC",
            tile_min_zoom=15,
            tile_cache=False,  # imported in bulk, without model signals
        )
    )
    live_roles = (Role.OPERATOR, Role.CALL_TAKER, Role.LEADER, Role.ADMIN)
    register(
        Layer(
            id="incidents",
            title_zh="警情事件",
            title_en="Incidents",
            model=Incident,
            geometry_field="geom",
            geometry_type="Point",
            properties={
                "number": Prop("number", STRING, "事件编号 number"),
                "type_code": Prop("incident_type__code", STRING, "类型代码 type code"),
                "type_name": Prop("incident_type__name", STRING, "类型 type"),
                "priority": Prop("priority", INTEGER, "等级 priority"),
                "status": Prop("status", STRING, "状态 status"),
                "address": Prop("address", STRING, "地址 address"),
                "district_code": Prop("district__code", STRING, "行政区代码 district code"),
                "call_received_at": Prop("call_received_at", DATETIME, "接警时间 call received"),
            },
            read_roles=live_roles,
            time_field="call_received_at",
            owner="SZ-ECC",
            tile_cache=False,
        )
    )
    register(
        Layer(
            id="cases",
            title_zh="城管案卷",
            title_en="City-management cases",
            model=Case,
            geometry_field="geom",
            geometry_type="Point",
            properties={
                "number": Prop("number", STRING, "案卷编号 number"),
                "stage": Prop("stage", STRING, "阶段 stage"),
                "channel": Prop("channel", STRING, "来源 channel"),
                "category_code": Prop("category__code", STRING, "类别代码 category code"),
                "category_name": Prop("category__name", STRING, "类别 category"),
                "grid_code": Prop("grid__code", STRING, "网格编码 grid code"),
                "district_code": Prop("district__code", STRING, "行政区代码 district code"),
                "reported_at": Prop("reported_at", DATETIME, "上报时间 reported"),
            },
            # the case centre's roles see every case; departments and inspectors see theirs in the grid app
            read_roles=(Role.GRID_DISPATCHER, Role.CALL_TAKER, Role.LEADER, Role.ADMIN),
            time_field="reported_at",
            owner="SZ-UMC",
            tile_min_zoom=10,
            tile_cache=False,  # batch reports are written in bulk, without model signals
        )
    )
