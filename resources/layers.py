"""The resources app's map layers (rescue teams, supply depots, shelters, hazard sources and their circles) with
the row rule of its API (resources.selectors), so tiles, OGC API, export and statistics show what the REST API does."""

from core.models import Domain
from core.realtime import Viewer
from gis.layers import INTEGER, STRING, Layer, Prop, Scope, register

from .models import Depot, HazardSource, RescueTeam, Shelter
from .selectors import READ_ROLES, hazard_visibility, held_visibility


def _scope(user, rule, by_orgs: bool) -> Scope:
    """A rule of resources.selectors as a layer scope, keyed by what decides it (organisations, area)."""
    viewer = Viewer.for_user(user)
    orgs = viewer.orgs_in(Domain.DISPATCH) if by_orgs else None
    area = viewer.area_in(Domain.DISPATCH)
    key = f"orgs:{','.join(map(str, sorted(orgs))) if orgs is not None else '*'}|area:{area or '*'}"
    return Scope(key, rule(viewer))


def held_scope(user) -> Scope:
    """Teams, depots, shelters: a command centre's area (the city's: all), an agency desk its own organisation's."""
    return _scope(user, held_visibility, by_orgs=True)


def hazard_scope(user) -> Scope:
    """Hazard sources: every one in the reader's commanded area."""
    return _scope(user, hazard_visibility, by_orgs=False)


HELD = {
    "name": Prop("name", STRING, "名称 name"),
    "organisation": Prop("organisation__name", STRING, "所属单位 organisation"),
    "organisation_code": Prop("organisation__code", STRING, "单位代码 organisation code"),
    "address": Prop("address", STRING, "地址 address"),
    "district_code": Prop("district__code", STRING, "行政区代码 district code"),
}
HAZARD = {
    "name": Prop("name", STRING, "名称 name"),
    "kind": Prop("kind", STRING, "类型 kind"),
    "operator": Prop("operator", STRING, "经营单位 operator"),
    "radius_m": Prop("radius_m", INTEGER, "影响半径 radius (m)"),
    "grade": Prop("grade", INTEGER, "等级 grade"),
    "address": Prop("address", STRING, "地址 address"),
    "district_code": Prop("district__code", STRING, "行政区代码 district code"),
}


def register_layers() -> None:
    register(
        Layer(
            id="rescue_teams",
            title_zh="救援队伍",
            title_en="Rescue teams",
            model=RescueTeam,
            geometry_field="geom",
            geometry_type="Point",
            properties={
                **HELD,
                "headcount": Prop("headcount", INTEGER, "人数 headcount"),
                "on_duty": Prop("on_duty", INTEGER, "在岗 on duty"),
            },
            read_roles=READ_ROLES,
            scope=held_scope,
        )
    )
    register(
        Layer(
            id="depots",
            title_zh="物资储备库",
            title_en="Supply depots",
            model=Depot,
            geometry_field="geom",
            geometry_type="Point",
            properties=HELD,
            read_roles=READ_ROLES,
            scope=held_scope,
        )
    )
    register(
        Layer(
            id="shelters",
            title_zh="应急避难场所",
            title_en="Shelters",
            model=Shelter,
            geometry_field="geom",
            geometry_type="Point",
            properties={
                **HELD,
                "capacity": Prop("capacity", INTEGER, "容量 capacity"),
                "occupancy": Prop("occupancy", INTEGER, "已安置 occupancy"),
                "status": Prop("status", STRING, "状态 status"),
            },
            read_roles=READ_ROLES,
            scope=held_scope,
        )
    )
    register(
        Layer(
            id="hazards",
            title_zh="危险源",
            title_en="Hazard sources",
            model=HazardSource,
            geometry_field="geom",
            geometry_type="Point",
            properties=HAZARD,
            read_roles=READ_ROLES,
            scope=hazard_scope,
        )
    )
    register(
        Layer(
            id="hazard_zones",
            title_zh="危险源影响范围",
            title_en="Hazard zones",
            model=HazardSource,
            geometry_field="zone",
            geometry_type="Polygon",
            properties=HAZARD,
            read_roles=READ_ROLES,
            scope=hazard_scope,
            description="危险源影响半径（按城市投影坐标系缓冲） hazard radius buffered in the city's metric CRS",
        )
    )
