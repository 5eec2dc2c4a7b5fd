"""Demo-city layer of the crew apps: a crew account per kind of agency unit and a gas repair crew; in the live
state the ambulance and fire crews are signed on to units already on their way to an incident."""

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group

from core.models import Role, User
from core.realtime import Viewer
from dispatch.models import Assignment, Vehicle
from dispatch.selectors import ACTIVE_ASSIGNMENT

from . import services
from .models import CrewSignOn

# (username, organisation code, name, the kind of unit the crew is signed on to in the live state or None)
CREW_ACCOUNTS = (
    ("crew120", "SZ-EMS-120", "急救员 何静", Vehicle.Kind.AMBULANCE),
    ("crew119", "SZ-FIRE-119", "消防员 邓刚", Vehicle.Kind.FIRE_ENGINE),
    ("crew110", "SZ-PSB-110", "巡警 宋涛", None),
    ("crewgas", "SZ-GAS", "燃气抢修班 韩磊", None),
)


def load_demo(city, context: dict) -> dict:
    orgs = context["orgs"]
    password = make_password(settings.CITYOPS_DEMO_PASSWORD)
    crew = Group.objects.get_or_create(name=Role.CREW)[0]
    for number, (username, org_code, full_name, _kind) in enumerate(CREW_ACCOUNTS):
        user = User.objects.create(
            username=username,
            password=password,
            first_name=full_name,
            email=f"{username}@cityops.invalid",
            phone=f"1380015{number:04d}",
            organisation=orgs[org_code],
        )
        user.groups.add(crew)
    return {}


def clear_demo() -> None:
    CrewSignOn.objects.all().delete()
    User.objects.filter(username__in=[account[0] for account in CREW_ACCOUNTS]).delete()


def load_live(context: dict) -> dict:
    """Each unit crew signs on to a unit of its kind that is on a job (else any of its agency's), as at the start of
    a shift; the MDT then opens on that job."""
    for username, _org, _name, kind in CREW_ACCOUNTS:
        if kind is None:
            continue
        user = User.objects.get(username=username)
        units = Vehicle.objects.filter(kind=kind, agency=user.organisation).order_by("pk")
        busy = units.filter(pk__in=Assignment.objects.filter(ACTIVE_ASSIGNMENT).values("vehicle_id"))
        unit = busy.first() or units.first()
        if unit is not None:
            services.sign_on(user, Viewer.for_user(user), unit.pk)
    return {}
