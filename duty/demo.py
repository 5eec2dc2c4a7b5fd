"""Demo-city layer of duty: the command centre's desks, a week of rosters around today for the demo accounts,
yesterday's shifts signed on and handed over, a carried hand-over item and a few duty log entries."""

from datetime import datetime, time, timedelta

from django.utils import timezone

from core.models import User

from . import selectors
from .models import DEFAULT_SHIFTS, Desk, DutyLogEntry, DutyRole, HandoverItem, RosterEntry, Shift, ShiftSession

# (code, name, kind, organisation code, [(username, role on the shift)]): the same people on both shifts, so that
# whoever opens the demo at any hour finds someone to sign on as.
DESKS = [
    ("ecc", "市应急指挥中心总值班室", Desk.Kind.COMMAND_CENTRE, "SZ-ECC",
     [("operator", DutyRole.DUTY_OFFICER), ("calltaker", DutyRole.DUTY_OFFICER)]),
    ("leader", "带班领导", Desk.Kind.LEADER, "SZ-GOV", [("leader", DutyRole.LEADER_ON_DUTY)]),
    ("110", "110指挥中心席", Desk.Kind.POLICE, "SZ-PSB-110", [("dispatcher110", DutyRole.DESK_OFFICER)]),
    ("119", "119指挥中心席", Desk.Kind.FIRE, "SZ-FIRE-119", [("dispatcher119", DutyRole.DESK_OFFICER)]),
    ("120", "120急救调度席", Desk.Kind.AMBULANCE, "SZ-EMS-120", [("dispatcher120", DutyRole.DESK_OFFICER)]),
    ("122", "122交通指挥席", Desk.Kind.TRAFFIC, "SZ-TRAFFIC-122", [("dispatcher122", DutyRole.DESK_OFFICER)]),
    ("umc", "数字城管指挥中心席", Desk.Kind.CITY_MANAGEMENT, "SZ-UMC", [("griddispatcher", DutyRole.DESK_OFFICER)]),
]  # fmt: skip
ROSTER_DAYS = range(-3, 4)  # a week around today

LOG = [  # (days before today, hour, desk, username, kind, text)
    (
        1,
        9,
        "ecc",
        "operator",
        DutyLogEntry.Kind.MAJOR,
        "市气象台发布暴雨黄色预警，已通知各区三防办和排水抢险队伍备勤。",
    ),
    (1, 11, "ecc", "operator", DutyLogEntry.Kind.ROUTINE, "与各区应急管理局完成视频点名，在岗情况正常。"),
    (1, 16, "ecc", "operator", DutyLogEntry.Kind.ROUTINE, "福田区上报一处道路塌陷隐患，已转住建局核查，待回复。"),
    (1, 22, "ecc", "calltaker", DutyLogEntry.Kind.MAJOR, "暴雨黄色预警解除，各队伍恢复正常备勤。"),
    (1, 10, "119", "dispatcher119", DutyLogEntry.Kind.ROUTINE, "辖区各消防站完成车辆器材交接检查。"),
]
CARRIED_ITEM = "跟进福田区道路塌陷隐患核查结果（住建局待回复）"


def load_demo(city, context: dict) -> dict:
    orgs = context["orgs"]
    users = {user.username: user for user in User.objects.all()}
    desks, staffing = {}, []
    for order, (code, name, kind, org_code, people) in enumerate(DESKS):
        desk = Desk.objects.create(code=code, name=name, kind=kind, organisation=orgs.get(org_code), order=order)
        desks[code] = desk
        shifts = [
            Shift.objects.create(desk=desk, code=shift_code, name=str(label), start=start, end=end)
            for shift_code, label, start, end in DEFAULT_SHIFTS
        ]
        staffing.append((desk, shifts, people))
    today = selectors.duty_date()  # before 08:00 the night shift on duty is the previous date's
    RosterEntry.objects.bulk_create(
        RosterEntry(desk=desk, date=today + timedelta(days=offset), shift=shift, user=users[username], role=role)
        for desk, shifts, people in staffing
        for offset in ROSTER_DAYS
        for shift in shifts
        for username, role in people
        if username in users
    )
    yesterday = today - timedelta(days=1)
    ecc = desks["ecc"]
    day, night = ecc.shifts.order_by("start")
    day_window, night_window = day.window(yesterday), night.window(yesterday)
    day_session = ShiftSession.objects.create(
        desk=ecc, date=yesterday, shift=day, signed_on_by=users["operator"], signed_on_at=day_window[0],
        handed_over_at=day_window[1], handed_over_to=users["calltaker"], notes="塌陷隐患待住建局回复，已列入交接事项。",
    )  # fmt: skip
    night_session = ShiftSession.objects.create(
        desk=ecc, date=yesterday, shift=night, signed_on_by=users["calltaker"], signed_on_at=night_window[0],
        handed_over_at=night_window[1], notes="夜间平稳。",
    )  # fmt: skip
    item = HandoverItem.objects.create(
        desk=ecc, text=CARRIED_ITEM, created_by=users["operator"], created_at=day_window[0] + timedelta(hours=8)
    )
    item.sessions.add(day_session, night_session)
    zone = timezone.get_default_timezone()
    for days, hour, code, username, kind, text in LOG:
        at = timezone.make_aware(datetime.combine(today - timedelta(days=days), time(hour)), zone)
        session = day_session if code == "ecc" and 8 <= hour < 20 else night_session if code == "ecc" else None
        DutyLogEntry.objects.create(
            desk=desks[code], session=session, at=at, kind=kind, text=text, author=users.get(username)
        )
    return {"duty_desks": desks}


def clear_demo() -> None:
    DutyLogEntry.objects.all().delete()
    HandoverItem.objects.all().delete()
    ShiftSession.objects.all().delete()
    RosterEntry.objects.all().delete()
    Desk.objects.all().delete()
