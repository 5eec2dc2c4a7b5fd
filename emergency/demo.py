"""The demo city's response plans (专项应急预案), graded Ⅰ–Ⅳ, for the incident types its exercises use."""

from core.models import User
from dispatch.models import IncidentType

from .models import Activation, ResponsePlan
from .services import save_plan


def _unit(agency: str, kind: str, count: int) -> dict:
    return {"agency": agency, "unit_kind": kind, "count": count}


def _act(text: str, owner: str, minutes: int) -> dict:
    return {"text": text, "owner": owner, "due_minutes": minutes}


LEADERS = [
    {"duty": "leader_on_duty", "channels": ["in_app", "sms"]},
    {"role": "leader", "channels": ["in_app", "email"]},
]
DESKS = [{"agency": "119", "channels": ["in_app"]}, {"agency": "110", "channels": ["in_app"]}]

GAS = [
    {
        "level": 4,
        "units": [_unit("119", "fire_engine", 1), _unit("110", "police_car", 1)],
        "agencies": ["119", "110"],
        "departments": ["SZ-GAS"],
        "notify": [{"duty": "duty_officer", "channels": ["in_app"]}],
        "ack_minutes": 10,
        "actions": [_act("燃气集团抢修队到场关阀", "SZ-GAS", 30), _act("现场警戒、禁止明火", "119", 15)],
    },
    {
        "level": 3,
        # A priority-1 call (people nearby, open flame) is 较大 at once; so are many households cut off or many calls.
        "thresholds": {
            "priority_at_most": 1,
            "customers_at_least": 1000,
            "calls_at_least": 3,
            "population_at_least": 20000,
        },
        "units": [_unit("119", "fire_engine", 2), _unit("110", "police_car", 2), _unit("120", "ambulance", 1)],
        "agencies": ["119", "110", "120"],
        "departments": ["SZ-GAS", "SZ-HOUSING"],
        "notify": [*LEADERS, *DESKS],
        "ack_minutes": 5,
        "actions": [
            _act("燃气集团抢修队到场关阀", "SZ-GAS", 30),
            _act("现场警戒、禁止明火", "119", 15),
            _act("疏散下风向 100 米内人员", "110", 20),
            _act("通知受影响用户停气", "SZ-GAS", 30),
            _act("报告市应急管理局", "值班员", 15),
        ],
        "stage": [{"kind": "shelter", "item": "", "quantity": 1}],
    },
    {
        "level": 2,
        "thresholds": {"customers_at_least": 5000, "calls_at_least": 10, "population_at_least": 60000},
        "units": [
            _unit("119", "fire_engine", 4),
            _unit("119", "ladder", 1),
            _unit("110", "police_car", 4),
            _unit("120", "ambulance", 2),
            _unit("122", "traffic_car", 2),
        ],
        "agencies": ["119", "110", "120", "122"],
        "departments": ["SZ-GAS", "SZ-HOUSING"],
        "notify": [*LEADERS, *DESKS, *({"agency": agency, "channels": ["in_app"]} for agency in ("120", "122"))],
        "ack_minutes": 5,
        "actions": [
            _act("带班领导赶赴现场指挥", "带班领导", 30),
            _act("交通管制、开辟救援通道", "122", 20),
            _act("开放临时避难场所", "SZ-HOUSING", 45),
            _act("发布公众预警", "值班员", 20),
        ],
        "stage": [
            {"kind": "shelter", "item": "", "quantity": 2},
            {"kind": "depot", "item": "blankets", "quantity": 200},
        ],
    },
    {
        "level": 1,
        "thresholds": {"customers_at_least": 20000, "population_at_least": 200000},
        "units": [_unit("119", "fire_engine", 8), _unit("110", "police_car", 8), _unit("120", "ambulance", 4)],
        "agencies": ["119", "110", "120", "122"],
        "departments": ["SZ-GAS", "SZ-HOUSING"],
        "notify": [*LEADERS, *DESKS],
        "ack_minutes": 3,
        "actions": [_act("市政府主要领导指挥", "带班领导", 30), _act("请求省级支援", "值班员", 60)],
    },
]

WATER = [
    {
        "level": 4,
        "units": [_unit("122", "traffic_car", 1)],
        "agencies": ["122"],
        "departments": ["SZ-WATER-GROUP"],
        "notify": [{"duty": "duty_officer", "channels": ["in_app"]}],
        "actions": [_act("水务集团关阀止水", "SZ-WATER-GROUP", 45), _act("设置路障、疏导交通", "122", 20)],
    },
    {
        "level": 3,
        "thresholds": {"customers_at_least": 200, "calls_at_least": 5},
        "units": [_unit("122", "traffic_car", 2), _unit("110", "police_car", 1)],
        "agencies": ["122", "110"],
        "departments": ["SZ-WATER-GROUP", "SZ-WATER"],
        "notify": [*LEADERS],
        "actions": [
            _act("水务集团关阀止水", "SZ-WATER-GROUP", 45),
            _act("设置路障、疏导交通", "122", 20),
            _act("安排临时供水车", "SZ-WATER-GROUP", 120),
        ],
        "stage": [{"kind": "depot", "item": "water", "quantity": 500}],
    },
]

FIRE = [
    {
        "level": 4,
        "units": [_unit("119", "fire_engine", 2), _unit("119", "ladder", 1), _unit("120", "ambulance", 1)],
        "agencies": ["119", "120"],
        "notify": [{"duty": "duty_officer", "channels": ["in_app"]}],
        "actions": [_act("侦察火情、搜救被困人员", "119", 10)],
    },
    {
        "level": 3,
        "thresholds": {"calls_at_least": 5, "priority_at_most": 1},
        "units": [
            _unit("119", "fire_engine", 4),
            _unit("119", "ladder", 1),
            _unit("120", "ambulance", 2),
            _unit("110", "police_car", 2),
        ],
        "agencies": ["119", "120", "110"],
        "notify": [*LEADERS, *DESKS],
        "actions": [_act("侦察火情、搜救被困人员", "119", 10), _act("周边警戒、疏散群众", "110", 15)],
    },
]

PLANS = [
    ("gas-leak", "燃气泄漏事故专项应急预案", "119-GAS-LEAK", GAS, 300),
    ("water-main-burst", "供水管网爆管专项应急预案", "122-WATER-MAIN-BURST", WATER, 500),
    ("building-fire", "建筑火灾事故专项应急预案", "119-FIRE-BUILDING", FIRE, 200),
]


def load_demo(city, context: dict) -> dict:
    author = User.objects.filter(username="admin").first()
    for code, name, type_code, levels, radius in PLANS:
        save_plan(
            author,
            code=code,
            name=name,
            incident_type=IncidentType.objects.get(code=type_code),
            levels=levels,
            affected_radius_m=radius,
            note="示范城市预案",
        )
    return {}


def clear_demo() -> None:
    Activation.objects.all().delete()
    ResponsePlan.objects.all().delete()
