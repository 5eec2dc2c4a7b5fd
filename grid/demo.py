"""Demo-city layer of 数字城管: unit grids, components, inspectors and departments, a year of cases.

* Unit grids: every community cut by its roads and the river into ~10,000 m² grids (grid/gridding.py).
* Responsibilities: each department type → a demo organisation (城管局 as the territorial fallback).
* Accounts: a grid clerk (受理员), a shift leader (值班长), a water-group handler, and one patrol inspector
  per ~40 grids; the demo ``inspector`` gets the grids of the most central sub-district.
* Components: street lights, manhole covers, gratings, hydrants, bins, trees and bus shelters laid along
  the roads, written with COPY (~100k at ``city`` scale, a few thousand at ``small``).
* Cases: a year of history ending now, at addresses, with realistic working-time delays (most on time,
  some late, some reworked or postponed, a few voided); the last days are still open in every stage, so the
  queues show green, yellow and red timers. Deterministic for a given city seed (except "now").
"""

import io
import json
import random
from datetime import datetime, timedelta

import numpy as np
import pyproj
import shapely
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.db import connection
from django.utils import timezone

from core.models import Organisation, Role, User
from core.selectors import metric_srid
from gis.models import Landcover

from . import gridding, services, workflow
from .categories import load_categories
from .importers import compose_ident
from .models import (
    Case,
    CasePhoto,
    CaseTransition,
    Category,
    Component,
    ComponentClass,
    ConfigVersion,
    Open311Client,
    Responsibility,
    UnitGrid,
)

# department type → demo organisation code (see core/demo.py ORGANISATIONS)
RESPONSIBLE = {
    "water_supply": "SZ-WATER-GROUP", "drainage": "SZ-WATER", "water_affairs": "SZ-WATER", "gas": "SZ-GAS",
    "power": "SZ-POWER", "heating": "SZ-HOUSING", "telecom": "SZ-URBAN", "lighting": "SZ-URBAN",
    "transport": "SZ-TRANSPORT", "traffic_police": "SZ-TRAFFIC-122", "police": "SZ-PSB-110",
    "fire": "SZ-FIRE-119", "sanitation": "SZ-URBAN", "landscaping": "SZ-URBAN", "enforcement": "SZ-URBAN",
    "construction": "SZ-HOUSING", "environment": "SZ-URBAN", "street_office": "SZ-URBAN",
}  # fmt: skip
# (username, role, organisation code, full name)
ACCOUNTS = [
    ("gridclerk", Role.CALL_TAKER, "SZ-UMC", "受理员 何琳"),
    ("shiftleader", Role.LEADER, "SZ-UMC", "值班长 邓凯"),
    ("waterhandler", Role.DEPARTMENT_HANDLER, "SZ-WATER-GROUP", "处置员 许波"),
]
INSPECTOR_PREFIX = "patrol"
GRIDS_PER_INSPECTOR = 40
DEMO_OPEN311_KEY = "cityops-demo-12345"
# (GB/T 47678 class, spacing along the road in m, side offset in m, road classes, name)
COMPONENT_LAYOUT = [
    ("01037", 32, 9.0, ("arterial", "secondary", "branch"), "路灯"),
    ("01001", 70, 3.0, ("arterial", "secondary", "branch"), "供水井盖"),
    ("01002", 60, -2.0, ("arterial", "secondary", "branch"), "污水井盖"),
    ("01003", 55, 4.0, ("arterial", "secondary", "branch"), "雨水井盖"),
    ("01004", 40, -6.5, ("arterial", "secondary", "branch"), "雨水箅子"),
    ("01005", 90, 5.0, ("arterial", "secondary"), "电力井盖"),
    ("01007", 90, -4.0, ("arterial", "secondary"), "通信井盖"),
    ("01011", 110, -3.0, ("arterial", "secondary", "branch"), "燃气井盖"),
    ("01013", 120, 7.5, ("arterial", "secondary", "branch"), "消防栓"),
    ("03005", 80, -7.5, ("arterial", "secondary", "branch"), "垃圾箱"),
    ("04002", 12, 8.0, ("arterial", "secondary"), "行道树"),
    ("02004", 450, 10.0, ("arterial",), "公交站"),
]
COMPONENT_DENSITY = {"small": 0.35, "city": 1.25, "metro": 0.3}  # city: ~100k components
CASES_PER_KM2_YEAR = {"small": 150, "city": 250, "metro": 100}
# Common problems and their share of reports (a typical city's mix)
CASE_MIX = [
    ("06010", 14), ("06012", 10), ("09009", 9), ("07001", 8), ("09006", 7), ("09005", 6), ("06011", 5),
    ("01037", 5), ("01002", 3), ("01003", 3), ("01004", 3), ("06017", 4), ("09010", 4), ("08004", 3),
    ("06001", 3), ("02014", 2), ("04002", 3), ("03005", 3), ("06034", 2), ("01013", 1), ("06013", 2),
]  # fmt: skip


class _Projection:
    """WGS84 ⇄ the metric CRS with one pyproj transformer (building one costs ~0.3 s)."""

    def __init__(self, srid: int):
        self._forward = pyproj.Transformer.from_crs(4326, srid, always_xy=True)

    def transform(self, x, y, inverse: bool):
        return self._forward.transform(x, y, direction="INVERSE" if inverse else "FORWARD")


def _reproject(geoms, projection: _Projection, inverse: bool = False):
    return shapely.transform(
        np.array(geoms, dtype=object),
        lambda xy: np.column_stack(projection.transform(xy[:, 0], xy[:, 1], inverse)),
    )


def load_demo(city, context: dict) -> dict:
    scale = context.get("scale", "city")
    rng = np.random.default_rng(city.seed + 47678)
    orgs = context["orgs"]
    areas = context["areas"]
    srid = metric_srid()
    projection = _Projection(srid)

    # The category table is reference data loaded by a migration; a database flush (transactional tests)
    # empties it, so put it back — but never overwrite the limits a city has edited.
    if not Category.objects.exists():
        load_categories(ComponentClass, Category)

    for dtype, code in RESPONSIBLE.items():
        Responsibility.objects.create(department_type=dtype, organisation=orgs[code])

    communities = [a for a in city.areas if a.level == "community"]
    roads_m = _reproject([r.geometry for r in city.roads], projection)
    water = [
        shapely.from_wkb(bytes(g.wkb)) for g in Landcover.objects.filter(kind="water").values_list("geom", flat=True)
    ]
    lines = list(roads_m) + [b for b in _reproject([w.boundary for w in water], projection)]
    comm_m = _reproject([a.geometry for a in communities], projection)
    cells = gridding.divide([(a.code, g) for a, g in zip(communities, comm_m, strict=True)], lines)
    grid_lonlat = _reproject([c.polygon for c in cells], projection, inverse=True)
    grids = _save_grids(cells, grid_lonlat, areas)

    users = _accounts(orgs, grids, rng)
    Open311Client.objects.create(name="12345热线 (demo)", key_sha256=_sha256(DEMO_OPEN311_KEY))

    cell_tree = shapely.STRtree([c.polygon for c in cells])
    n_components = _components(city, roads_m, projection, cell_tree, grids, orgs, rng, COMPONENT_DENSITY[scale])
    km2 = sum(g.area for g in comm_m) / 1e6
    n_cases = _history(city, projection, cell_tree, grids, users, orgs, rng, int(km2 * CASES_PER_KM2_YEAR[scale]))
    return {"grid": {"unit_grids": len(grids), "components": n_components, "cases": n_cases}}


def clear_demo() -> None:
    CasePhoto.objects.all().delete()
    CaseTransition.objects.all().delete()
    Case.objects.all().delete()
    ConfigVersion.objects.all().delete()  # its rules hold organisations, which the core demo deletes
    Component.objects.all().delete()
    UnitGrid.objects.all().delete()
    Responsibility.objects.all().delete()
    Open311Client.objects.all().delete()
    User.objects.filter(username__in=[a[0] for a in ACCOUNTS]).delete()
    User.objects.filter(username__startswith=INSPECTOR_PREFIX).delete()


def _sha256(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode()).hexdigest()


def _save_grids(cells, grid_lonlat, areas) -> list[UnitGrid]:
    from django.contrib.gis.geos import GEOSGeometry

    rows = []
    for cell, geom in zip(cells, grid_lonlat, strict=True):
        community = areas[cell.community_code]
        street = areas[cell.community_code[:9]]
        rows.append(
            UnitGrid(
                code=cell.code,
                community=community,
                street=street,
                district_id=street.parent_id,
                geom=GEOSGeometry(memoryview(shapely.to_wkb(geom)), srid=4326),
                area_m2=cell.polygon.area,
            )
        )
    return UnitGrid.objects.bulk_create(rows, batch_size=2000)


def _accounts(orgs, grids: list[UnitGrid], rng) -> dict:
    # the core demo accounts' hash of the demo password: hashing again would cost ~0.5 s
    known = User.objects.filter(username="inspector").values_list("password", flat=True).first()
    password = known or make_password(settings.CITYOPS_DEMO_PASSWORD)
    users = {}
    for username, role, org_code, full_name in ACCOUNTS:
        user = User.objects.create(username=username, password=password, first_name=full_name,
                                   organisation=orgs[org_code])  # fmt: skip
        user.groups.add(Group.objects.get_or_create(name=role)[0])
        users[username] = user
    inspector_group = Group.objects.get_or_create(name=Role.INSPECTOR)[0]
    by_street: dict[int, list[UnitGrid]] = {}
    for g in grids:
        by_street.setdefault(g.street_id, []).append(g)
    surnames, given = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高", "伟芳娜敏静丽强磊军洋勇艳杰涛明超秀霞平刚"
    patrols, links = [], []
    Through = UnitGrid.inspectors.through
    central = min(by_street, key=lambda s: min(g.code for g in by_street[s]))
    demo_inspector = User.objects.filter(username="inspector").first()
    for street_id, street_grids in sorted(by_street.items()):
        street_grids.sort(key=lambda g: g.code)
        n = max(1, round(len(street_grids) / GRIDS_PER_INSPECTOR))
        for chunk in np.array_split(np.arange(len(street_grids)), n):
            name = surnames[int(rng.integers(len(surnames)))] + given[int(rng.integers(len(given)))]
            user = User(username=f"{INSPECTOR_PREFIX}{len(patrols) + 1:03d}", password=password,
                        first_name=f"监督员 {name}", organisation=orgs["SZ-UMC"])  # fmt: skip
            patrols.append((user, [street_grids[i] for i in chunk]))
        if street_id == central and demo_inspector is not None:
            links += [Through(unitgrid_id=g.pk, user_id=demo_inspector.pk) for g in street_grids]
    User.objects.bulk_create([u for u, _ in patrols])
    saved = {u.username: u for u in User.objects.filter(username__startswith=INSPECTOR_PREFIX)}
    User.groups.through.objects.bulk_create(
        [User.groups.through(user_id=saved[u.username].pk, group_id=inspector_group.pk) for u, _ in patrols]
    )
    for user, chunk in patrols:
        links += [Through(unitgrid_id=g.pk, user_id=saved[user.username].pk) for g in chunk]
    Through.objects.bulk_create(links, batch_size=5000)
    users["patrols"] = [saved[u.username] for u, _ in patrols]
    users["grid_inspectors"] = {}
    for link in links:
        users["grid_inspectors"].setdefault(link.unitgrid_id, link.user_id)
    return users


def _copy(table: str, columns: list[str], rows) -> None:
    with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _points_along(line: shapely.LineString, spacing: float, offset: float, rng) -> np.ndarray:
    length = line.length
    if length < spacing * 0.6:
        return np.empty((0, 2))
    at = np.arange(rng.uniform(0, spacing), length, spacing)
    if len(at) == 0:
        return np.empty((0, 2))
    points = shapely.line_interpolate_point(line, at)
    ahead = shapely.line_interpolate_point(line, np.minimum(at + 1.0, length))
    xy, xy2 = shapely.get_coordinates(points), shapely.get_coordinates(ahead)
    d = xy2 - xy
    norm = np.hypot(d[:, 0], d[:, 1])
    norm[norm == 0] = 1
    normal = np.column_stack([-d[:, 1], d[:, 0]]) / norm[:, None]
    side = np.where(rng.random(len(xy)) < 0.5, 1.0, -1.0)[:, None]
    return xy + normal * offset * side


def _components(city, roads_m, projection, cell_tree, grids, orgs, rng, density) -> int:
    classes = {c.code: c for c in ComponentClass.objects.filter(code__in=[c[0] for c in COMPONENT_LAYOUT])}
    owners = {r.department_type: r.organisation_id for r in Responsibility.objects.all()}
    serial: dict[tuple[str, str], int] = {}
    statuses = np.array(["intact", "damaged", "lost", "abandoned"])
    today = timezone.localdate()

    def rows():
        for code, spacing, offset, road_classes, name in COMPONENT_LAYOUT:
            cls = classes[code]
            xys = [
                _points_along(line, spacing / density, offset, rng)
                for road, line in zip(city.roads, roads_m, strict=True)
                if road.road_class in road_classes
            ]
            xy = np.concatenate(xys) if xys else np.empty((0, 2))
            points = shapely.points(xy)
            inside, cell = cell_tree.query(points, predicate="within")
            lon, lat = projection.transform(xy[inside, 0], xy[inside, 1], inverse=True)
            state = statuses[np.searchsorted([0.95, 0.98, 0.995], rng.random(len(inside)))]
            for k, c, x, y, s in zip(inside, cell, lon, lat, state, strict=True):
                grid = grids[c]
                county = grid.code[:6]
                n = serial[county, code] = serial.get((county, code), 0) + 1
                ident = compose_ident(county, code, n)
                legacy = f"{county}{cls.legacy_code}{n:06d}" if cls.legacy_code else ""
                yield (ident, legacy, cls.pk, name, owners.get(cls.department_type), "", grid.pk, s,
                       f"SRID=4326;POINT({x:.7f} {y:.7f})", "", today - timedelta(days=int(400 + k % 900)),
                       "实测", "")  # fmt: skip

    before = Component.objects.count()
    _copy(
        "grid_component",
        ["ident", "legacy_ident", "component_class_id", "name", "owner_id", "maintainer", "grid_id", "status",
         "geom", "photo", "surveyed_on", "source", "note"],
        rows(),
    )  # fmt: skip
    return Component.objects.count() - before


# -- a year of cases ---------------------------------------------------------------------------------------


def _work_hours_later(start: datetime, hours: float) -> datetime:
    return services.working_calendar().add_working_time(start, timedelta(hours=max(hours, 0.0)))


def _history(city, projection, cell_tree, grids, users, orgs, rng, n_cases) -> int:
    """Synthetic case histories written with COPY: cases, their transitions, and the stage columns."""
    pyrng = random.Random(int(rng.integers(1 << 30)))  # noqa: S311 - demo data, not secrets
    categories = {c.code: c for c in Category.objects.filter(code__in=[c for c, _ in CASE_MIX])}
    mix = [(categories[c], w) for c, w in CASE_MIX if c in categories]
    weights = [w for _, w in mix]
    responsible = {r.department_type: r.organisation_id for r in Responsibility.objects.all()}
    dept_names = dict(Organisation.objects.values_list("pk", "name"))
    addresses = city.addresses
    addr_xy = np.column_stack(
        projection.transform([a.point.x for a in addresses], [a.point.y for a in addresses], inverse=False)
    )
    inside, cell_of = cell_tree.query(shapely.points(addr_xy), predicate="within")
    usable = list(zip(inside.tolist(), cell_of.tolist(), strict=True))
    if not usable:
        return 0
    clerk, leader, dispatcher = users["gridclerk"], users["shiftleader"], User.objects.get(username="griddispatcher")
    patrols, grid_inspectors = users["patrols"], users["grid_inspectors"]
    now = timezone.now()
    start = now - timedelta(days=365)
    case_id = (Case.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1
    case_rows, steps = [], []

    for serial in range(1, n_cases + 1):
        # reports cluster in the daytime; the volume grows a little towards now
        day = start + timedelta(days=365 * (pyrng.random() ** 0.85))
        reported = day.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(
            hours=min(max(pyrng.gauss(11.5, 3.2), 6.5), 21.5), minutes=pyrng.random() * 59
        )
        if reported > now - timedelta(minutes=5):
            continue
        category = pyrng.choices([c for c, _ in mix], weights)[0]
        a, cell = usable[pyrng.randrange(len(usable))]
        grid = grids[cell]
        address = addresses[a]
        lon, lat = address.point.x + pyrng.uniform(-5e-5, 5e-5), address.point.y + pyrng.uniform(-5e-5, 5e-5)
        channel = pyrng.choices(["inspector", "hotline", "open311"], [75, 15, 10])[0]
        inspector_id = grid_inspectors.get(grid.pk) or patrols[0].pk
        reporter_id = inspector_id if channel == "inspector" else (clerk.pk if channel == "hotline" else None)
        c = _simulate(category, reported, now, pyrng)
        c.update(
            id=case_id, number=f"{timezone.localtime(reported):%Y%m%d}{serial:07d}", channel=channel,
            category_id=category.pk, grid_id=grid.pk, lon=lon, lat=lat, address=address.label,
            district_id=grid.district_id, street_id=grid.street_id, reporter_id=reporter_id,
            department_id=responsible.get(category.department_type) if c["dispatched_at"] else None,
            checker_id=inspector_id if c["handled_at"] else None,
        )  # fmt: skip
        case_rows.append(c)
        actors = {"report": reporter_id, "file": clerk.pk, "reject": clerk.pk, "dispatch": dispatcher.pk,
                  "verify_ok": inspector_id, "verify_fail": inspector_id, "close": leader.pk,
                  "approve_postponement": leader.pk}  # fmt: skip
        for at, action, before, after, note in c.pop("steps"):
            actor = actors.get(action)
            name = dept_names.get(c["department_id"], "") if actor is None and action != "report" else ""
            steps.append((case_id, at, action, before, after, actor, name, note,
                          c["department_id"] if action == "dispatch" else None))  # fmt: skip
        case_id += 1

    _copy(
        "grid_case",
        ["id", "number", "channel", "stage", "category_id", "grid_id", "geom", "address", "description",
         "district_id", "street_id", "department_id", "reporter_id", "reporter_contact", "request_hash",
         "updated_at", "deadline_at", "yellow_at", "clock", "clock_seconds", "alerted", "previous_stage",
         "reported_at", "filed_at", "voided_at", "dispatched_at", "dispatch_deadline", "returned_count",
         "handled_at", "handling_deadline", "postponed_count", "checker_id", "checked_at",
         "verification_deadline", "rework_count", "closed_at"],
        (
            (c["id"], c["number"], c["channel"], c["stage"], c["category_id"], c["grid_id"],
             f"SRID=4326;POINT({c['lon']:.7f} {c['lat']:.7f})", c["address"], c["description"], c["district_id"],
             c["street_id"], c["department_id"], c["reporter_id"], "{}", "", c["updated_at"], c["deadline_at"],
             c["yellow_at"], c["clock"], c["clock_seconds"], "", "", c["reported_at"], c["filed_at"],
             c["voided_at"], c["dispatched_at"], c["dispatch_deadline"], c["returned_count"], c["handled_at"],
             c["handling_deadline"], c["postponed_count"], c["checker_id"], c["checked_at"],
             c["verification_deadline"], c["rework_count"], c["closed_at"])
            for c in case_rows
        ),
    )  # fmt: skip
    _copy(
        "grid_casetransition",
        ["case_id", "at", "action", "from_stage", "to_stage", "actor_id", "actor_name", "roles", "note",
         "department_id", "data"],
        ((s[0], s[1], s[2], s[3], s[4], s[5], s[6], [], s[7], s[8], json.dumps({})) for s in steps),
    )  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute("SELECT setval(pg_get_serial_sequence('grid_case', 'id'), (SELECT max(id) FROM grid_case))")
        cursor.execute("SELECT setval('grid_case_number_seq', %s)", [n_cases + 1])
    return len(case_rows)


def _simulate(category: Category, reported: datetime, now: datetime, rng: random.Random) -> dict:
    """One case's life from ``reported`` until ``now``: stage timestamps, deadlines, steps and the open clock."""
    cal = services.working_calendar()
    c = dict(
        description=f"{category.name}，请处理", stage="reported", updated_at=reported, deadline_at=None,
        yellow_at=None, clock="", clock_seconds=None, reported_at=reported, filed_at=None, voided_at=None,
        dispatched_at=None, dispatch_deadline=None, returned_count=0, handled_at=None, handling_deadline=None,
        postponed_count=0, checked_at=None, verification_deadline=None, rework_count=0, closed_at=None,
    )  # fmt: skip
    steps = [(reported, "report", "", "reported", "")]

    def clock(name: str, begin: datetime):
        limit = services.stage_limit(category, name)
        deadline = cal.deadline(begin, limit)
        total = cal.measure(begin, deadline, natural=limit.natural).total_seconds()
        warn = (
            begin + timedelta(seconds=0.8 * total)
            if limit.natural
            else cal.add_working_time(begin, timedelta(seconds=0.8 * total))
        )
        return deadline, warn, total

    def later(begin: datetime, limit_hours: float, late: bool, natural: bool = False) -> datetime:
        share = rng.uniform(1.05, 2.5) if late else rng.uniform(0.1, 0.95)
        if natural:
            return begin + timedelta(hours=limit_hours * share)
        return _work_hours_later(begin, limit_hours * share)

    def step(at, action, after, note=""):
        steps.append((at, action, c["stage"], after, note))
        c["stage"], c["updated_at"] = after, at

    # 受理: filed (or voided) a few minutes to an hour later
    t = reported + timedelta(minutes=rng.uniform(3, 50))
    if t > now:
        c["steps"] = steps
        return c
    if rng.random() < 0.06:
        c["voided_at"] = t
        step(t, "reject", "invalid", "不属于城管受理范围")
        c["steps"] = steps
        return c
    c["filed_at"] = t
    step(t, "file", "filed")
    dispatch_deadline, warn, total = clock("dispatch", t)
    c["dispatch_deadline"] = dispatch_deadline
    t2 = later(t, category.dispatch_hours, rng.random() < 0.08)
    if t2 > now:
        c.update(deadline_at=dispatch_deadline, yellow_at=warn, clock="dispatch", clock_seconds=total, steps=steps)
        return c
    c["dispatched_at"] = t2
    step(t2, "dispatch", "dispatched")
    handling = services.stage_limit(category, "handling")
    limit_hours = handling.amount * (cal.typical_day_length().total_seconds() / 3600 if
                                     handling.unit == "working_days" else 1)  # fmt: skip
    begin = t2
    rework = rng.random() < 0.09
    for attempt in range(2 if rework else 1):
        deadline, warn, total = clock("handling", begin)
        c["handling_deadline"] = deadline
        if attempt == 0 and rng.random() < 0.03 and begin + timedelta(hours=2) < now:  # postponement approved
            c["postponed_count"] = 1
            step(begin + timedelta(minutes=40), "request_postponement", "postponement_requested", "需协调产权单位")
            step(begin + timedelta(minutes=100), "approve_postponement", "postponed")
            extra = limit_hours
            c["handling_deadline"] = deadline = _work_hours_later(deadline, extra) if not handling.natural else (
                deadline + timedelta(hours=extra))  # fmt: skip
        late = rng.random() < 0.12
        t3 = later(begin, limit_hours, late, handling.natural)
        if t3 > now:
            c.update(deadline_at=deadline, yellow_at=warn, clock="handling", clock_seconds=total, steps=steps)
            return c
        c["handled_at"] = t3
        step(t3, "handle", "handled", "已处置")
        v_deadline, v_warn, v_total = clock("verification", t3)
        c["verification_deadline"] = v_deadline
        t4 = later(t3, category.verification_hours, rng.random() < 0.1)
        if t4 > now:
            c.update(deadline_at=v_deadline, yellow_at=v_warn, clock="verification", clock_seconds=v_total, steps=steps)
            return c
        c["checked_at"] = t4
        if rework and attempt == 0:
            c["rework_count"] = 1
            step(t4, "verify_fail", "rework", "现场未整改到位")
            begin = t4
            continue
        step(t4, "verify_ok", "verified", "核查通过")
        t5 = t4 + timedelta(minutes=rng.uniform(5, 90))
        if t5 > now:
            c.update(deadline_at=None, clock="", steps=steps)
            return c
        c["closed_at"] = t5
        step(t5, "close", "closed")
    c.update(deadline_at=None, yellow_at=None, clock="", clock_seconds=None, steps=steps)
    return c


def sample_photo() -> bytes:
    """A tiny JPEG for demo and benchmark reports."""
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (90, 140, 60)).save(buf, "JPEG")
    return buf.getvalue()


def load_live(context: dict) -> dict:
    """A case on its way back up: the department returns a dispatched case to the centre as not its own (回退),
    so the case centre opens on one waiting for re-dispatch besides the overdue ones of the history."""
    handler = User.objects.get(username="depthandler")
    case = (
        Case.objects.filter(stage=workflow.State.DISPATCHED, department=handler.organisation)
        .order_by("deadline_at", "pk")
        .first()
    )
    if case is not None:
        note = "经现场核实，该问题属于供水集团管养范围，非本部门职责，申请改派"
        services.transition(handler, case, workflow.Action.RETURN_TO_CENTER, services.Step(note=note))
    return {}
