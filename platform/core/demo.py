"""Demo-city layer of the core app: areas, organisations and one account per role."""

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group

from data import democity

from .city import LEVELS, Area
from .models import AdminArea, CityProfile, Organisation, Role, User
from .services import create_city

# (code, name, kind, agency, parent code, the domains it commands city-wide)
ORGANISATIONS = [
    ("SZ-GOV", "深圳市人民政府", "government", "", None, ("dispatch", "grid")),
    ("SZ-ECC", "深圳市应急指挥中心", "government", "", "SZ-GOV", ("dispatch", "grid")),
    ("SZ-UMC", "深圳市数字化城市管理监督指挥中心", "government", "", "SZ-GOV", ("grid",)),
    ("SZ-PSB-110", "深圳市公安局110指挥中心", "agency", "110", "SZ-GOV", ()),
    ("SZ-FIRE-119", "深圳市消防救援支队", "agency", "119", "SZ-GOV", ()),
    ("SZ-EMS-120", "深圳市急救中心", "agency", "120", "SZ-GOV", ()),
    ("SZ-TRAFFIC-122", "深圳市公安局交通警察支队", "agency", "122", "SZ-GOV", ()),
    ("SZ-URBAN", "深圳市城市管理和综合执法局", "department", "", "SZ-GOV", ()),
    ("SZ-WATER", "深圳市水务局", "department", "", "SZ-GOV", ()),
    ("SZ-TRANSPORT", "深圳市交通运输局", "department", "", "SZ-GOV", ()),
    ("SZ-PLAN", "深圳市规划和自然资源局", "department", "", "SZ-GOV", ()),
    ("SZ-HOUSING", "深圳市住房和建设局", "department", "", "SZ-GOV", ()),
    ("SZ-WATER-GROUP", "深圳市水务集团", "utility", "", "SZ-WATER", ()),
    ("SZ-GAS", "深圳市燃气集团", "utility", "", "SZ-HOUSING", ()),
    ("SZ-POWER", "深圳供电局", "utility", "", "SZ-GOV", ()),
]


# District governments (code, name, district code, parent code): they command incidents and cases in their district.
DISTRICT_ORGANISATIONS = [
    ("SZ-440304-GOV", "福田区人民政府", "440304", "SZ-GOV"),
    ("SZ-440303-GOV", "罗湖区人民政府", "440303", "SZ-GOV"),
]

# (username, role, organisation code, full name)
DEMO_ACCOUNTS = [
    ("operator", Role.OPERATOR, "SZ-ECC", "值班员 王敏"),
    ("calltaker", Role.CALL_TAKER, "SZ-ECC", "接警员 李强"),
    ("griddispatcher", Role.GRID_DISPATCHER, "SZ-UMC", "派遣员 张丽"),
    ("inspector", Role.INSPECTOR, "SZ-UMC", "监督员 陈刚"),
    ("depthandler", Role.DEPARTMENT_HANDLER, "SZ-URBAN", "处置员 刘洋"),
    ("planner", Role.PLANNER, "SZ-PLAN", "规划师 赵静"),
    ("leader", Role.LEADER, "SZ-GOV", "领导 周华"),
    ("admin", Role.ADMIN, None, "系统管理员"),
    # A district leader: the leader role in a district government, so the decision maps show that district only.
    ("districtleader", Role.LEADER, "SZ-440304-GOV", "区领导 孙磊"),
    ("luohuleader", Role.LEADER, "SZ-440303-GOV", "区领导 马骏"),
    # One dispatcher per agency desk: each works its agency's share of joint incidents (联动).
    ("dispatcher110", Role.CALL_TAKER, "SZ-PSB-110", "110调度员 黄伟"),
    ("dispatcher119", Role.CALL_TAKER, "SZ-FIRE-119", "119调度员 吴军"),
    ("dispatcher120", Role.CALL_TAKER, "SZ-EMS-120", "120调度员 林芳"),
    ("dispatcher122", Role.CALL_TAKER, "SZ-TRAFFIC-122", "122调度员 郑涛"),
]


# The demo city's profile: the map home view the consoles have always opened on, and Shenzhen's CGCS2000 zone.
HOME = (*democity.CENTRE_LONLAT, 12.0)
PROJECTED_SRID = int(democity.METRIC_CRS.removeprefix("EPSG:"))


def load_demo(city, context: dict) -> dict:
    """The demo city as one city profile (areas through the same service as a real city), then its people."""
    outermost_first = sorted(city.areas, key=lambda a: LEVELS.index(a.level))
    create_city(
        [Area(a.name, a.level, a.geometry, a.code, a.parent_code or "") for a in outermost_first],
        name=outermost_first[0].name,
        country="CN",
        projected_srid=PROJECTED_SRID,
        home=HOME,
    )
    areas = {area.code: area for area in AdminArea.objects.all()}
    orgs: dict[str, Organisation] = {}
    for code, name, kind, agency, parent, oversees in ORGANISATIONS:
        orgs[code] = Organisation.objects.create(
            code=code,
            name=name,
            kind=kind,
            agency=agency,
            parent=orgs.get(parent) if parent else None,
            oversees=list(oversees),
        )
    for code, name, area_code, parent in DISTRICT_ORGANISATIONS:
        if area_code in areas:
            orgs[code] = Organisation.objects.create(
                code=code,
                name=name,
                kind=Organisation.Kind.GOVERNMENT,
                parent=orgs[parent],
                area=areas[area_code],
                oversees=["dispatch", "grid"],
            )
    password = make_password(settings.CITYOPS_DEMO_PASSWORD)  # hashed once: a hash costs ~0.5 s
    for number, (username, role, org_code, full_name) in enumerate(DEMO_ACCOUNTS):
        if org_code and org_code not in orgs:
            continue  # a district the city at this scale does not have
        user = User.objects.create(
            username=username,
            password=password,
            first_name=full_name,
            # Under the reserved .invalid domain: nothing can leave for a real mailbox.
            email=f"{username}@cityops.invalid",
            phone=f"1380013{number:04d}",
            organisation=orgs.get(org_code) if org_code else None,
            is_staff=role == Role.ADMIN,
            is_superuser=role == Role.ADMIN,
        )
        user.groups.add(Group.objects.get_or_create(name=role)[0])  # the role groups come from a migration
    return {"areas": areas, "orgs": orgs}


def clear_demo() -> None:
    User.objects.filter(username__in=[a[0] for a in DEMO_ACCOUNTS]).delete()
    CityProfile.objects.all().delete()
    _delete_tree(Organisation)
    _delete_tree(AdminArea)


def _delete_tree(model) -> None:
    """Delete a self-referencing PROTECTed tree leaves first."""
    while model.objects.exists():
        model.objects.filter(children__isnull=True).delete()
