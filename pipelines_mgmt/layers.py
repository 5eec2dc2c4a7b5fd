"""The pipelines app's map layers: pipes by utility, valves and service connections."""

from core.models import Role
from gis.layers import BOOLEAN, INTEGER, NUMBER, STRING, Layer, Prop, register

from .models import Pipe, ServiceConnection, Utility, Valve


def register_layers() -> None:
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
    for layer_id, utility, zh, en in [
        ("water-pipes", Utility.WATER, "供水管线", "Water pipes"),
        ("gas-pipes", Utility.GAS, "燃气管线", "Gas pipes"),
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
            tile_min_zoom=14,
        )
    )
