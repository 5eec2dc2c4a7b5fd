"""Demo-city layer of resources: rescue teams, supply depots with stock, shelters, experts and hazard sources,
placed at the demo city's addresses (so on land and beside a road), spread over its districts; and, live, a request
for gas detectors against the demo's gas leak, partly allocated from the nearest depot."""

from django.contrib.gis.db.models.functions import GeometryDistance
from django.contrib.gis.geos import GEOSGeometry

from core.models import User
from dispatch.selectors import CITY_WIDE

from . import services
from .codes import load_code_tables
from .models import (
    Allocation,
    Depot,
    Expert,
    HazardSource,
    RescueTeam,
    Shelter,
    Specialty,
    StockItem,
    SupplyItem,
    SupplyRequest,
)

CITY_ORG = "SZ-ECC"
# (name, organisation code, skills, headcount, on duty); a district government's team sits in its district.
TEAMS = [
    ("市消防救援支队特勤大队", "SZ-FIRE-119", ["firefighting", "hazmat", "urban_search", "collapse_rescue"], 60, 42),
    ("市消防救援支队水域救援队", "SZ-FIRE-119", ["flood_rescue", "drainage"], 30, 18),
    ("燃气集团抢险队", "SZ-GAS", ["gas_repair", "hazmat"], 24, 12),
    ("供电局应急抢修队", "SZ-POWER", ["power_repair"], 36, 20),
    ("水务集团管网抢修队", "SZ-WATER-GROUP", ["water_repair", "drainage"], 28, 16),
    ("福田区应急救援队", "SZ-440304-GOV", ["urban_search", "flood_rescue", "medical"], 40, 25),
    ("罗湖区应急救援队", "SZ-440303-GOV", ["mountain_rescue", "urban_search", "medical"], 35, 20),
]
# (name, organisation code, {item: on hand})
DEPOTS = [
    ("市级应急物资储备库", CITY_ORG, {"sandbags": 20000, "pumps": 40, "tents": 600, "generators": 30,
                                     "lifejackets": 800, "water": 3000, "blankets": 2500, "food": 2000}),
    ("市防汛物资仓库", "SZ-WATER", {"sandbags": 50000, "pumps": 80, "lifejackets": 1500, "boats": 12,
                                 "lighting": 60}),
    ("市救灾物资储备中心", CITY_ORG, {"tents": 1200, "blankets": 5000, "cots": 2000, "water": 5000,
                                    "food": 4000, "first_aid_kits": 1500}),
    ("消防救援支队战勤保障库", "SZ-FIRE-119", {"breathing_apparatus": 200, "hazmat_suits": 120,
                                           "gas_detectors": 40, "lighting": 50, "chainsaws": 30}),
    ("燃气集团抢险物资库", "SZ-GAS", {"gas_detectors": 25, "hazmat_suits": 20, "generators": 6}),
    ("福田区应急物资储备点", "SZ-440304-GOV", {"sandbags": 6000, "pumps": 12, "lifejackets": 300, "water": 800,
                                          "blankets": 600}),
    ("罗湖区应急物资储备点", "SZ-440303-GOV", {"sandbags": 4000, "pumps": 8, "tents": 150, "water": 600,
                                          "blankets": 400, "first_aid_kits": 200}),
    ("罗湖区防汛抢险仓库", "SZ-440303-GOV", {"sandbags": 8, "pumps": 4, "lifejackets": 120}),
]  # fmt: skip
# (name, organisation code, capacity, occupancy, open?)
SHELTERS = [
    ("市民中心广场应急避难场所", CITY_ORG, 8000, 0, False),
    ("中心公园应急避难场所", CITY_ORG, 12000, 0, False),
    ("体育中心应急避难场所", CITY_ORG, 6000, 0, False),
    ("福田区第一中学避难点", "SZ-440304-GOV", 1500, 120, True),
    ("福田区文化馆避难点", "SZ-440304-GOV", 800, 0, True),
    ("福田区社区服务中心避难点", "SZ-440304-GOV", 400, 35, True),
    ("罗湖区体育馆避难点", "SZ-440303-GOV", 2500, 300, True),
    ("罗湖区实验学校避难点", "SZ-440303-GOV", 1200, 0, True),
    ("罗湖区莲塘公园避难点", "SZ-440303-GOV", 3000, 0, False),
    ("罗湖区街道综合服务中心避难点", "SZ-440303-GOV", 300, 290, True),
]
# (name, fields, organisation code, employer, phone)
EXPERTS = [
    ("陈建国", ["hazardous_chemicals", "fire_protection"], CITY_ORG, "市安全生产科学研究院", "13800010001"),
    ("李文华", ["structural_engineering"], CITY_ORG, "深圳大学土木与交通工程学院", "13800010002"),
    ("王海涛", ["geology"], CITY_ORG, "市地质局", "13800010003"),
    ("张秀英", ["hydrology"], "SZ-WATER", "市水务局", "13800010004"),
    ("刘志强", ["meteorology"], CITY_ORG, "市气象局", "13800010005"),
    ("杨丽萍", ["public_health"], CITY_ORG, "市疾病预防控制中心", "13800010006"),
    ("赵明", ["gas_engineering", "hazardous_chemicals"], "SZ-GAS", "燃气集团", "13800010007"),
    ("黄国平", ["power_systems"], "SZ-POWER", "深圳供电局", "13800010008"),
    ("周晓东", ["fire_protection"], "SZ-FIRE-119", "市消防救援支队", "13800010009"),
    ("吴淑芬", ["emergency_management"], CITY_ORG, "市应急管理局", "13800010010"),
    ("郑伟", ["structural_engineering", "geology"], "SZ-440304-GOV", "福田区住房和建设局", "13800010011"),
    ("孙丽", ["hydrology", "emergency_management"], "SZ-440303-GOV", "罗湖区水务局", "13800010012"),
]
LPG, GASOLINE, DIESEL = ("液化石油气", "1075"), ("汽油", "1203"), ("柴油", "1202")
# (name, kind, operator, substances, radius m, grade)
HAZARDS = [
    ("中石化莲花加油站", "gas_station", "中国石化销售股份有限公司", [GASOLINE, DIESEL], 100, 4),
    ("中石油景田加油站", "gas_station", "中国石油天然气股份有限公司", [GASOLINE, DIESEL], 100, 4),
    ("中海油香蜜加油站", "gas_station", "中海油销售深圳有限公司", [GASOLINE, DIESEL], 100, 4),
    ("中石化笋岗加油加气站", "gas_station", "中国石化销售股份有限公司",
     [GASOLINE, DIESEL, ("压缩天然气", "1971")], 150, 3),
    ("中石化东门加油站", "gas_station", "中国石化销售股份有限公司", [GASOLINE, DIESEL], 100, 4),
    ("燃气集团梅林液化石油气储配站", "gas_storage", "深圳市燃气集团", [LPG, ("丙烷", "1978")], 800, 1),
    ("燃气集团清水河门站", "gas_storage", "深圳市燃气集团", [("天然气", "1971")], 500, 2),
    ("华强化工原料仓库", "dg_depot", "华强化工贸易有限公司", [("甲醇", "1230"), ("甲苯", "1294"), ("苯", "1114")],
     500, 2),
    ("笋岗危险品物流仓库", "dg_depot", "笋岗仓储物流有限公司", [("硫酸", "1830"), ("盐酸", "1789"),
     ("氢氧化钠溶液", "1824")], 300, 3),
    ("水务集团梅林水厂加氯间", "chemical_plant", "深圳市水务集团", [("液氯", "1017")], 1000, 1),
    ("清水河污水处理厂加药间", "chemical_plant", "深圳市水务集团", [("次氯酸钠溶液", "1791")], 300, 3),
    ("园岭工业气体充装站", "chemical_plant", "园岭工业气体有限公司", [("乙炔", "1001"), ("氧气", "1072")], 300, 3),
    ("沙头冷库", "chemical_plant", "沙头冷链物流有限公司", [("液氨", "1005")], 600, 2),
    ("福华医院液氧站", "other", "福华医院", [("液氧", "1073")], 100, 4),
    ("黄贝岭爆破器材库", "explosives", "黄贝爆破工程有限公司", [("工业炸药", "0241")], 1000, 1),
]  # fmt: skip


def _placements(city, count: int, offset: int) -> list:
    """`count` addresses spread over the districts in turn (each district's addresses evenly), shifted by `offset`
    so each kind of resource gets its own addresses."""
    by_district: dict[str, list] = {}
    for address in city.addresses:
        by_district.setdefault(address.district_code, []).append(address)
    codes = sorted(by_district)
    chosen = []
    for i in range(count):
        pool = by_district[codes[i % len(codes)]]
        step = max(1, len(pool) // (count // len(codes) + 2))
        chosen.append(pool[(offset * 7 + (i // len(codes) + 1) * step) % len(pool)])
    return chosen


def _own_district(city, org_code: str, orgs: dict) -> list:
    """The addresses a district government's resource may take (its district's), or every address."""
    org = orgs.get(org_code)
    if org is None or org.area_id is None:
        return city.addresses
    return [a for a in city.addresses if a.district_code == org.area.code]


def _place(city, orgs, rows, offset: int):
    """(row, organisation, address) for each row: a district government's in its district, the others spread."""
    spread = iter(_placements(city, len(rows), offset))
    placed = []
    for n, row in enumerate(rows):
        org_code = row[1]
        address = next(spread)
        if orgs.get(org_code) is not None and orgs[org_code].area_id is not None:
            own = _own_district(city, org_code, orgs)
            address = own[(offset * 13 + n * 29) % len(own)]
        placed.append((row, orgs.get(org_code) or orgs[CITY_ORG], address))
    return placed


def _point(address) -> GEOSGeometry:
    return GEOSGeometry(memoryview(address.point.wkb), srid=4326)


def load_demo(city, context: dict) -> dict:
    load_code_tables(SupplyItem, Specialty)  # restored after a test flush
    orgs, areas = context["orgs"], context["areas"]
    RescueTeam.objects.bulk_create(
        RescueTeam(name=name, organisation=org, skills=skills, headcount=headcount, on_duty=on_duty,
                   phone=f"0755-8800{n:04d}", address=a.label, district=areas[a.district_code], geom=_point(a))
        for n, ((name, _, skills, headcount, on_duty), org, a) in enumerate(_place(city, orgs, TEAMS, 1))
    )  # fmt: skip
    items = {s.code: s for s in SupplyItem.objects.all()}
    for (name, _, stock), org, a in _place(city, orgs, DEPOTS, 2):
        depot = Depot.objects.create(
            name=name, organisation=org, address=a.label, district=areas[a.district_code], geom=_point(a)
        )
        StockItem.objects.bulk_create(StockItem(depot=depot, item=items[code], on_hand=n) for code, n in stock.items())
    Shelter.objects.bulk_create(
        Shelter(name=name, organisation=org, capacity=capacity, occupancy=occupancy,
                status=Shelter.Status.OPEN if is_open else Shelter.Status.CLOSED,
                address=a.label, district=areas[a.district_code], geom=_point(a))
        for (name, _, capacity, occupancy, is_open), org, a in _place(city, orgs, SHELTERS, 3)
    )  # fmt: skip
    Expert.objects.bulk_create(
        Expert(name=name, fields=fields, organisation=orgs.get(org_code) or orgs[CITY_ORG], employer=employer,
               phone=phone)
        for name, fields, org_code, employer, phone in EXPERTS
    )  # fmt: skip
    HazardSource.objects.bulk_create(
        HazardSource(name=name, kind=kind, operator=operator, radius_m=radius, grade=grade,
                     substances=[{"name": s, "un_number": un} for s, un in substances],
                     address=a.label, district=areas[a.district_code], geom=_point(a))
        for (name, kind, operator, substances, radius, grade), a in zip(
            HAZARDS, _placements(city, len(HAZARDS), 4), strict=True
        )
    )  # fmt: skip
    services.draw_hazard_zones(HazardSource.objects.all())
    return {}


def clear_demo() -> None:
    Allocation.objects.all().delete()
    SupplyRequest.objects.all().delete()
    StockItem.objects.all().delete()
    for model in (Depot, RescueTeam, Shelter, Expert, HazardSource):
        model.objects.all().delete()


def load_live(context: dict) -> dict:
    """The gas leak's commander asked for gas detectors; the nearest depot holding them has sent some."""
    leak = context.get("gas_leak_incident")
    if leak is None:
        return {}
    operator = User.objects.get(username="operator")
    detectors = services.request_supplies(operator, CITY_WIDE, leak.pk, "gas_detectors", 6, "现场燃气浓度检测")
    depot = (
        Depot.objects.filter(stock__item__code="gas_detectors", stock__on_hand__gte=4)
        .order_by(GeometryDistance("geom", leak.geom))
        .first()
    )
    services.allocate(operator, detectors, depot, 4)
    return {"gas_detector_request": detectors}
