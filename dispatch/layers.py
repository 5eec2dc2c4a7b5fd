"""The dispatch app's map layers (stations, units, incidents) with the row scope of its API."""

from core.models import Domain, Role
from core.realtime import Viewer
from gis.layers import DATETIME, EVERY_ROW, INTEGER, NUMBER, STRING, Layer, Prop, Scope, register

from .models import Incident, Station, Vehicle
from .selectors import incident_visibility, unit_visibility


def _viewer_scope(user, rule) -> Scope:
    """A dispatch rule of core.realtime.Viewer as a layer scope, keyed by what decides it (organisations, area)."""
    viewer = Viewer.for_user(user)
    orgs, area = viewer.orgs_in(Domain.DISPATCH), viewer.area_in(Domain.DISPATCH)
    if orgs is None and area is None:
        return EVERY_ROW
    key = f"orgs:{','.join(map(str, sorted(orgs))) if orgs is not None else '*'}|area:{area or '*'}"
    return Scope(key, rule(viewer))


def incident_scope(user) -> Scope:
    """The incidents API's rule: a desk sees those linked to its agencies, a command centre (the city's, a district
    government's) every incident in its area."""
    return _viewer_scope(user, incident_visibility)


def vehicle_scope(user) -> Scope:
    """The live feed's rule for units: its agencies' units, a command centre's every unit in its area."""
    return _viewer_scope(user, unit_visibility)


def register_layers() -> None:
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
            scope=vehicle_scope,
            tile_cache=False,
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
            scope=incident_scope,
            tile_cache=False,
        )
    )
