"""The demo city's drill: a gas-main burst in the middle of the city, as the gas-leak plan's exercise."""

from django.contrib.gis.geos import Point

from pipelines_mgmt.models import Pipe, Utility

from .models import Drill, Scenario
from .services import save_scenario

GAS_MAIN_DRILL = [
    {"at_s": 0, "kind": "call", "type": "119-GAS-LEAK", "priority": 1, "caller": "13900000001",
     "text": "(演练)路面燃气管道爆裂,现场燃气味很浓"},
    {"at_s": 30, "kind": "repeat_call", "caller": "13900000002", "text": "(演练)附近商铺报告闻到燃气味"},
    {"at_s": 60, "kind": "note", "text": "(演练)现场可燃气体浓度持续上升,下风向有学校"},
    {"at_s": 90, "kind": "repeat_call", "caller": "13900000003", "text": "(演练)学校报告学生闻到异味"},
    {"at_s": 240, "kind": "units_on_scene"},
]  # fmt: skip


def load_demo(city, context: dict) -> dict:
    mains = Pipe.objects.filter(network__utility=Utility.GAS, link_type=Pipe.LinkType.PIPE).order_by("pk")
    if not mains.exists():
        return {}
    middle = mains[len(mains) // 2].geom.interpolate_normalized(0.5)
    save_scenario(
        None,
        code="gas-main-drill",
        name="燃气管道爆裂应急演练",
        description="燃气泄漏事故专项应急预案的桌面推演:接警、研判分级、联动处置、信息发布。",
        steps=GAS_MAIN_DRILL,
        place=Point(middle.x + 0.0001, middle.y + 0.00008, srid=4326),
    )
    return {}


def clear_demo() -> None:
    Drill.objects.all().delete()
    Scenario.objects.all().delete()
