"""State changes of the crew apps: signing on and off a vehicle, and the unit's status from its MDT.

The status goes through dispatch's own ``set_assignment_status`` (source "mdt"), so the AVL lifecycle, the
incident, the timeline and every console follow exactly as when a dispatcher or the arrival geofence moves it.
"""

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import Forbidden, InputError, Refusal
from core.realtime import Viewer
from core.services import record_audit
from dispatch import selectors as dispatch_selectors
from dispatch import services as dispatch_services
from dispatch.models import Assignment, Vehicle

from . import selectors
from .models import CrewSignOn

# The MDT's status buttons: 出发, 到场, 转运 (ambulances), 完成.
MDT_STATUSES = ("en_route", "on_scene", "transporting", "cleared")
# 转运: the ambulance leaves the scene with the patient. Dispatch has no assignment state for it (the unit is no
# longer on scene and not yet free): a "unit.transporting" line on the incident's timeline, and the assignment
# moves to "returning" (off the scene, still committed) until the crew reports 完成 at the hospital
# (selectors.TRANSPORTING_TIMELINE: the MDT reads that line back as its phase).


def not_signed_on() -> Refusal:
    return Refusal(_("you are not signed on to a vehicle"), current=None)


def sign_on(user, viewer: Viewer, vehicle_id: int) -> CrewSignOn:
    """Start a shift on a vehicle the user's agency runs (dispatch's row rule); one open sign-on per person."""
    vehicle = dispatch_selectors.visible_units(viewer).filter(pk=vehicle_id).first()
    if vehicle is None:
        raise InputError("vehicle", _("no vehicle %(id)s that you may crew") % {"id": vehicle_id})
    if vehicle.status == Vehicle.Status.OUT_OF_SERVICE:
        raise Refusal(_("%(unit)s is out of service") % {"unit": vehicle.call_sign}, current=vehicle.status)
    try:
        with transaction.atomic():
            entry = CrewSignOn.objects.create(user=user, vehicle=vehicle, started_at=timezone.now())
            record_audit(user, "crew.sign_on", vehicle, vehicle.call_sign)
    except IntegrityError:  # the partial unique index: already signed on (perhaps from another device)
        current = selectors.open_sign_on(user)
        raise Refusal(
            _("you are already signed on to %(unit)s; sign off first")
            % {"unit": current.vehicle.call_sign if current else "?"},
            current=current.vehicle_id if current else None,
        ) from None
    return entry


@transaction.atomic
def sign_off(user) -> CrewSignOn:
    entry = CrewSignOn.objects.select_for_update().filter(user=user, ended_at__isnull=True).first()
    if entry is None:
        raise not_signed_on()
    entry.ended_at = timezone.now()
    entry.save(update_fields=["ended_at"])
    record_audit(user, "crew.sign_off", entry.vehicle, entry.vehicle.call_sign)
    return entry


@transaction.atomic
def report_status(user, assignment_id: int, status: str) -> Assignment:
    """A status button on the MDT: only for the active assignment of the vehicle the user is signed on to."""
    if status not in MDT_STATUSES:
        raise InputError(
            "status",
            _("unknown status %(status)s; one of: %(all)s") % {"status": status, "all": ", ".join(MDT_STATUSES)},
        )
    entry = selectors.open_sign_on(user)
    if entry is None:
        raise not_signed_on()
    assignment = Assignment.objects.select_related("vehicle", "incident").filter(pk=assignment_id).first()
    if assignment is None or assignment.vehicle_id != entry.vehicle_id:
        raise Forbidden(
            _("assignment %(id)s is not one of %(unit)s's") % {"id": assignment_id, "unit": entry.vehicle.call_sign}
        )
    if status == "transporting":
        return _transporting(user, assignment)
    dispatch_services.set_assignment_status(user, assignment, status, source="mdt")
    assignment.refresh_from_db()
    return assignment


def _transporting(user, assignment: Assignment) -> Assignment:
    if assignment.vehicle.kind != Vehicle.Kind.AMBULANCE:
        raise InputError("status", _("only ambulances transport patients"))
    if assignment.status != Assignment.Status.ON_SCENE:
        raise Refusal(
            _("unit %(unit)s is %(current)s; transporting starts on scene")
            % {"unit": assignment.vehicle.call_sign, "current": assignment.get_status_display()},
            current=assignment.status,
        )
    dispatch_services.note_on_incident(
        user, assignment.incident, selectors.TRANSPORTING_TIMELINE, assignment.vehicle.call_sign
    )
    dispatch_services.set_assignment_status(user, assignment, Assignment.Status.RETURNING, source="mdt")
    assignment.refresh_from_db()
    return assignment
