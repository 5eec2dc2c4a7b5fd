"""The grid app's map layers (unit grids, components, cases) with the row scope of its case API."""

from django.db.models import Q

from core.models import Role
from gis.layers import DATETIME, EVERY_ROW, NUMBER, STRING, Layer, Prop, Scope, register
from gis.statistics import ZoneKind, register_zone_kind

from .models import Case, Component, UnitGrid
from .selectors import visible_cases


def case_scope(user) -> Scope:
    """The case API's rule (selectors.visible_cases): the centre sees every case, a department its own, an
    inspector those of their grids and their own reports."""
    visible = visible_cases(user)
    if not visible.query.where:
        return EVERY_ROW
    return Scope(f"user:{user.pk}", Q(pk__in=visible.values("pk")))


def register_layers() -> None:
    register_zone_kind("grid", ZoneKind(UnitGrid.objects.all, "community__name"))
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
            tile_min_zoom=15,
            tile_cache=False,  # imported in bulk, without model signals
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
            scope=case_scope,
            tile_min_zoom=10,
            tile_cache=False,  # batch reports are written in bulk, without model signals
        )
    )
