"""Demo-city layer of transport supervision: carriers under the transport bureau, key vehicles with JT/T 808
terminals (so the demo fleet simulator drives them), a bureau supervisor and one lower platform account."""

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.contrib.gis.geos import Point

from core.models import Organisation, Role, User
from data import democity
from dispatch.models import Vehicle

from .models import VEHICLE_KIND, KeyVehicle, LowerPlatform

BUREAU = "SZ-TRANSPORT"
# (code, name): carriers are organisations under the bureau, so its staff see their vehicles (unit_visibility).
CARRIERS = [
    ("SZ-CARRIER-COACH", "深圳市鹏程客运有限公司"),
    ("SZ-CARRIER-HAZMAT", "深圳市华安危险品运输有限公司"),
    ("SZ-CARRIER-CASH", "深圳市金盾押运有限公司"),
]
C = KeyVehicle.Category
# (plate, category, carrier, cargo, UN number, approved route, offset from the centre in 0.001°)
KEY_VEHICLES = [
    ("粤B·K1001", C.COACH, "SZ-CARRIER-COACH", "", "", "深圳—广州 班线", (-3, 1)),
    ("粤B·K1002", C.COACH, "SZ-CARRIER-COACH", "", "", "深圳—东莞 班线", (2, -1)),
    ("粤B·K1003", C.TOUR_BUS, "SZ-CARRIER-COACH", "", "", "大鹏半岛 旅游包车", (5, 2)),
    ("粤B·W2001", C.DANGEROUS_GOODS, "SZ-CARRIER-HAZMAT", "汽油", "UN1203", "妈湾油库—龙岗 加油站", (-5, -2)),
    ("粤B·W2002", C.DANGEROUS_GOODS, "SZ-CARRIER-HAZMAT", "液化石油气", "UN1075", "大铲湾—宝安 储配站", (-7, 3)),
    ("粤B·W2003", C.DANGEROUS_GOODS, "SZ-CARRIER-HAZMAT", "硫酸", "UN1830", "坪山—光明 工业园", (6, 4)),
    ("粤B·Y3001", C.CASH_VAN, "SZ-CARRIER-CASH", "", "", "", (0, 2)),
    ("粤B·Y3002", C.CASH_VAN, "SZ-CARRIER-CASH", "", "", "", (1, -3)),
]
TERMINAL_BASE = 14_700_000_000  # SIM numbers of the key vehicles' JT/T 808 terminals
SUPERVISOR = ("transport", "交通运输局监管员 何平")
# The demo enterprise platform (a JT/T 809 lower platform): its account, for the simulator and the README.
DEMO_PLATFORM = {"name": "鹏程客运企业监控平台", "access_code": 44030001, "user_id": 44030001, "password": "pc809dm!"}


def key_vehicle_terminal(number: int) -> str:
    return str(TERMINAL_BASE + number)


def load_demo(city, context: dict) -> dict:
    orgs = context["orgs"]
    if BUREAU not in orgs:
        return {}
    bureau = orgs[BUREAU]
    carriers = {
        code: Organisation.objects.create(code=code, name=name, kind=Organisation.Kind.DEPARTMENT, parent=bureau)
        for code, name in CARRIERS
    }
    platform = LowerPlatform(
        name=DEMO_PLATFORM["name"],
        access_code=DEMO_PLATFORM["access_code"],
        user_id=DEMO_PLATFORM["user_id"],
        allowed_addresses=["127.0.0.1"],
        carrier=carriers["SZ-CARRIER-COACH"],
    )
    platform.set_password(DEMO_PLATFORM["password"])
    platform.save()
    lon0, lat0 = democity.CENTRE_LONLAT  # offsets in 0.001° around the centre: inside the city at every scale
    for number, (plate, category, carrier, cargo, un, route, (dx, dy)) in enumerate(KEY_VEHICLES, start=1):
        vehicle = Vehicle.objects.create(
            call_sign=plate.replace("·", ""),
            kind=VEHICLE_KIND[category],
            agency=carriers[carrier],
            plate=plate.replace("·", ""),
            jt808_phone=key_vehicle_terminal(number),
            last_position=Point(lon0 + dx / 1000, lat0 + dy / 1000, srid=4326),
        )
        KeyVehicle.objects.create(
            vehicle=vehicle,
            category=category,
            plate_colour=2 if category != C.CASH_VAN else 1,
            platform=platform if carrier == "SZ-CARRIER-COACH" else None,
            cargo=cargo,
            un_number=un,
            permit=f"粤交运管深字{440300000000 + number}号",
            route_description=route,
        )
    user = User.objects.create(
        username=SUPERVISOR[0],
        password=make_password(settings.CITYOPS_DEMO_PASSWORD),
        first_name=SUPERVISOR[1],
        email=f"{SUPERVISOR[0]}@cityops.invalid",
        organisation=bureau,
    )
    user.groups.add(Group.objects.get_or_create(name=Role.TRANSPORT)[0])
    return {"carriers": carriers}


def clear_demo() -> None:
    User.objects.filter(username=SUPERVISOR[0]).delete()
    Vehicle.objects.filter(key_vehicle__isnull=False).delete()
    LowerPlatform.objects.all().delete()
    Organisation.objects.filter(code__in=[code for code, _ in CARRIERS]).delete()
