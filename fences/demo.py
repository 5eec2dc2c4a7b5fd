"""The demo city's fences: a no-go zone for dangerous goods in the city centre, a school-zone speed limit on school
hours and a depot where tankers must not stand longer than an hour. Drawn through the services, as an operator
would."""

from django.contrib.gis.geos import LineString, Point, Polygon

from core.models import AdminArea, User

from . import services
from .models import Fence, Rule

M_LON, M_LAT = 1 / 102_600, 1 / 110_700  # degrees per metre near 22.6°N
SCHOOL_HOURS = [{"weekdays": [0, 1, 2, 3, 4], "ranges": [["07:00", "09:00"], ["16:00", "18:00"]]}]


def _rule(operator, fence, trigger, **fields):
    defaults = {"target": Rule.Target.ALL, "vehicle": None, "vehicle_kind": "", "group": None, "threshold": None,
                "calendar": [], "active": True, "severity": Rule.Severity.WARNING}  # fmt: skip
    return services.save_rule(operator, fence, None, trigger=trigger, **{**defaults, **fields})


def load_demo(city, context: dict) -> dict:
    operator = User.objects.get(username="operator")
    centre = AdminArea.objects.get(level=AdminArea.Level.CITY).geom.centroid
    x, y = centre.x, centre.y
    half_x, half_y = 600 * M_LON, 600 * M_LAT
    no_go = services.save_fence(
        operator, None, name="市中心危化品禁行区", organisation=operator.organisation, shape=Fence.Shape.POLYGON,
        drawn=Polygon.from_bbox((x - half_x, y - half_y, x + half_x, y + half_y)), radius_m=None,
        note="演示：危险货物运输车辆禁止驶入",
    )  # fmt: skip
    _rule(operator, no_go, Rule.Trigger.NO_GO, severity=Rule.Severity.URGENT)
    school = services.save_fence(
        operator, None, name="实验学校周边限速区", organisation=operator.organisation, shape=Fence.Shape.CIRCLE,
        drawn=Point(x + 1500 * M_LON, y + 800 * M_LAT, srid=4326), radius_m=250, note="演示：上学放学时段限速 30",
    )  # fmt: skip
    _rule(operator, school, Rule.Trigger.SPEED, threshold=30, calendar=SCHOOL_HOURS)
    route = LineString(
        (x - 2500 * M_LON, y - 1500 * M_LAT), (x - 1800 * M_LON, y - 1500 * M_LAT), (x - 1800 * M_LON, y - 900 * M_LAT),
        srid=4326,
    )  # fmt: skip
    depot = services.save_fence(
        operator, None, name="危化品车辆停车场及出入通道", organisation=operator.organisation,
        shape=Fence.Shape.CORRIDOR, drawn=route, radius_m=60, note="演示：停留超过 60 分钟报警",
    )  # fmt: skip
    _rule(operator, depot, Rule.Trigger.DWELL, target=Rule.Target.KIND, vehicle_kind="dangerous_goods", threshold=60)
    return {}


def clear_demo() -> None:
    Fence.objects.all().delete()
