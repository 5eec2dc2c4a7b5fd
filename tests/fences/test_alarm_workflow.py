"""Offline and lost-signal alarms, the operator's acknowledge and close (API, row rule, refusals) and escalation, on
the real database with the demo city."""

from datetime import timedelta

import pytest
from django.contrib.gis.geos import Point
from django.utils import timezone

from core.models import AuditEntry, Event
from core.realtime import Viewer, snapshot
from dispatch import alarms, avl
from dispatch.models import Alarm, Vehicle
from dispatch.tracks import Fix, ingest_fixes
from notify.models import Notification

pytestmark = pytest.mark.django_db


def _unit(agency: str = "110") -> Vehicle:
    return Vehicle.objects.filter(agency__agency=agency, jt808_phone__isnull=False).order_by("pk").first()


def _fix(unit: Vehicle, at, *, positioned: bool = True) -> Fix:
    status = avl.FIXED_STATUS_BIT if positioned else 0
    return Fix(unit.jt808_phone, unit.pk, at, 22.54, 114.05, 20.0, 90, 10, 0, status)


def _open(unit: Vehicle, kind: str) -> Alarm | None:
    return Alarm.objects.filter(vehicle=unit, kind=kind, cleared_at__isnull=True).first()


def test_a_silent_unit_on_duty_goes_offline_and_comes_back_with_its_next_fix(demo_city):
    unit, parked = _unit("110"), _unit("119")
    now = timezone.now()
    Vehicle.objects.filter(pk__in=[unit.pk, parked.pk]).update(
        last_fix_at=now - avl.OFFLINE_AFTER - timedelta(minutes=1)
    )
    Vehicle.objects.filter(pk=parked.pk).update(status=Vehicle.Status.OUT_OF_SERVICE)
    alarms.check_offline(now)
    offline = _open(unit, Alarm.Kind.OFFLINE)
    assert offline is not None and unit.call_sign in offline.message
    assert _open(parked, Alarm.Kind.OFFLINE) is None  # out of service: not expected to report
    alarms.check_offline(now)  # not raised twice
    assert Alarm.objects.filter(vehicle=unit, kind=Alarm.Kind.OFFLINE).count() == 1
    ingest_fixes([_fix(unit, timezone.now())], lambda stored: None)
    assert _open(unit, Alarm.Kind.OFFLINE) is None
    assert Event.objects.filter(topic="alarms", type="alarm.cleared", data__id=offline.pk).exists()


def test_offline_ends_when_the_unit_is_taken_out_of_service(demo_city):
    unit = _unit()
    now = timezone.now()
    Vehicle.objects.filter(pk=unit.pk).update(last_fix_at=now - avl.OFFLINE_AFTER * 2)
    alarms.check_offline(now)
    assert _open(unit, Alarm.Kind.OFFLINE) is not None
    Vehicle.objects.filter(pk=unit.pk).update(status=Vehicle.Status.OUT_OF_SERVICE)
    alarms.check_offline(now)
    assert _open(unit, Alarm.Kind.OFFLINE) is None


def test_lost_signal_after_minutes_without_a_satellite_fix_and_back_with_one(demo_city):
    unit = _unit()
    now = timezone.now()
    short = avl.LOST_SIGNAL_AFTER - timedelta(minutes=1)
    ingest_fixes([_fix(unit, now - short, positioned=False), _fix(unit, now - short / 2, positioned=False)], print)
    assert _open(unit, Alarm.Kind.LOST_SIGNAL) is None  # a tunnel: not yet
    ingest_fixes([_fix(unit, now - avl.LOST_SIGNAL_AFTER - timedelta(seconds=30), positioned=False)], print)
    ingest_fixes([_fix(unit, now, positioned=False)], print)
    lost = _open(unit, Alarm.Kind.LOST_SIGNAL)
    assert lost is not None and "min" in lost.message
    ingest_fixes([_fix(unit, now + timedelta(seconds=1))], print)
    assert _open(unit, Alarm.Kind.LOST_SIGNAL) is None


def _alarm(unit: Vehicle, minutes_ago: float = 0, kind: str = Alarm.Kind.SPEEDING) -> Alarm:
    return alarms.raise_alarm(
        unit.pk, kind, f"{unit.call_sign}: test", Point(114.05, 22.54, srid=4326),
        at=timezone.now() - timedelta(minutes=minutes_ago),
    )  # fmt: skip


def test_acknowledge_then_close_with_notes_and_the_refusals(demo_city, api):
    alarm = _alarm(_unit("110"))
    url = f"/api/dispatch/alarms/{alarm.pk}"
    assert api("dispatcher119").post(f"{url}/acknowledge/", {"note": "x"}, format="json").status_code == 404
    assert api("leader").post(f"{url}/acknowledge/", {"note": "x"}, format="json").status_code == 403
    assert api("operator").post(f"{url}/close/", {"note": "  "}, format="json").json()["field"] == "note"
    assert api("operator").post(f"{url}/acknowledge/", {"note": "x" * 501}, format="json").status_code == 400
    assert Alarm.objects.get(pk=alarm.pk).acknowledged_at is None  # nothing changed by the refusals

    answer = api("dispatcher110").post(f"{url}/acknowledge/", {"note": "已联系车组"}, format="json")
    assert answer.status_code == 200, answer.content
    props = answer.json()["properties"]
    assert props["state"] == "acknowledged" and props["acknowledge_note"] == "已联系车组"
    assert props["acknowledged_by"] == "110调度员 黄伟"
    again = api("operator").post(f"{url}/acknowledge/", {}, format="json")
    assert again.status_code == 409 and again.json()["error"] == "conflict"

    closed = api("operator").post(f"{url}/close/", {"note": "误报, 已核实"}, format="json")
    assert closed.status_code == 200 and closed.json()["properties"]["state"] == "closed"
    assert api("operator").post(f"{url}/close/", {"note": "again"}, format="json").status_code == 409
    row = Alarm.objects.get(pk=alarm.pk)
    assert row.close_note == "误报, 已核实" and row.closed_by.username == "operator"
    types = list(Event.objects.filter(topic="alarms", data__id=alarm.pk).values_list("type", flat=True).order_by("seq"))
    assert types == ["alarm.raised", "alarm.acknowledged", "alarm.closed"]
    audited = AuditEntry.objects.filter(target_type="dispatch.alarm", target_id=str(alarm.pk))
    assert set(audited.values_list("action", flat=True)) == {
        "alarm.acknowledge",
        "alarm.close",
    }
    # closed alarms leave the consoles' list, those only ended stay until closed
    listed = [f["id"] for f in api("operator").get("/api/dispatch/alarms/?open=0").json()["features"]]
    assert alarm.pk in listed
    on_wall = [f["id"] for f in snapshot("alarms", Viewer.for_user(row.closed_by), None)]
    assert alarm.pk not in on_wall


def test_closing_an_unacknowledged_alarm_acknowledges_it(demo_city, api):
    alarm = _alarm(_unit())
    assert (
        api("operator").post(f"/api/dispatch/alarms/{alarm.pk}/close/", {"note": "处理完毕"}, format="json").status_code
        == 200
    )
    row = Alarm.objects.get(pk=alarm.pk)
    assert row.acknowledged_at == row.closed_at and row.acknowledged_by.username == "operator"


def test_unacknowledged_alarms_escalate_once_per_wait_and_notify(demo_city, user_for):
    unit = _unit("110")
    waited = avl.escalate_after(Alarm.Kind.SPEEDING)
    late = _alarm(unit, minutes_ago=waited.total_seconds() / 60 + 1)
    fresh = _alarm(_unit("120"), minutes_ago=1)
    seen = _alarm(_unit("119"), minutes_ago=waited.total_seconds() / 60 + 1)
    Alarm.objects.filter(pk=seen.pk).update(acknowledged_at=timezone.now())
    leader = user_for("leader")
    now = timezone.now()

    assert [a.pk for a in alarms.escalate_overdue([leader], now)] == [late.pk]
    row = Alarm.objects.get(pk=late.pk)
    assert row.escalation_level == 1 and row.escalated_at == now
    notice = Notification.objects.get(about_app="dispatch.alarm", about_id=str(late.pk))
    recipients = set(notice.deliveries.values_list("user__username", flat=True))
    assert "leader" in recipients and "dispatcher110" in recipients  # the duty leader and the unit's agency
    event = Event.objects.get(topic="alarms", type="alarm.escalated", data__id=late.pk)
    assert event.data["properties"]["state"] == "escalated"
    assert alarms.escalate_overdue([leader], now) == []  # not again before another wait
    assert Alarm.objects.get(pk=fresh.pk).escalation_level == 0
    assert late.pk in [a.pk for a in alarms.escalate_overdue([leader], now + waited)]  # another wait: level 2
    assert Alarm.objects.get(pk=late.pk).escalation_level == 2
