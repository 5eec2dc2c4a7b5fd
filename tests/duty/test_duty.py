"""Duty management on the demo city's desks (duty/demo.py: day 08–20 and night 20–08, a week of rosters around
today): roster import, sign-on rules, hand-over carrying open items and open incidents, the duty log's system
entries from the event log with row scope, the daily report, and bad input."""

from datetime import time, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from core.events import publish
from core.models import AdminArea, AuditEntry
from dispatch import services as dispatch_services
from dispatch.models import IncidentType
from duty import selectors, services
from duty.models import Desk, DutyLogEntry, HandoverItem, RosterEntry, ShiftSession
from gis.models import Address

pytestmark = pytest.mark.django_db


def desk(code: str) -> Desk:
    return Desk.objects.get(code=code)


def upload(text: str, name="roster.csv"):
    return {"file": SimpleUploadedFile(name, text.encode("utf-8"), content_type="text/csv")}


def incident(user, type_code: str, address: str):
    point = Address.objects.filter(geom__within=AdminArea.objects.get(code="440304").geom).order_by("pk").first().geom
    return dispatch_services.create_incident(
        user, incident_type=IncidentType.objects.get(code=type_code), point=point, address=address, confirm_new=True
    )


# -- roster ---------------------------------------------------------------------------------------------


def test_a_roster_file_replaces_the_shifts_it_names(api, user_for):
    day = (timezone.localdate() + timedelta(days=10)).isoformat()
    csv = f"desk,date,shift,username,role\necc,{day},day,operator,duty_officer\necc,{day},day,leader,带班领导\n"
    response = api("operator").post("/api/duty/roster/import/", upload(csv), format="multipart")
    assert response.status_code == 201, response.json()
    assert response.json() == {"rows": 2, "shifts": 1}
    again = f"desk,date,shift,username,role\necc,{day},day,calltaker,duty_officer\n"
    assert api("admin").post("/api/duty/roster/import/", upload(again), format="multipart").status_code == 201
    people = RosterEntry.objects.filter(desk__code="ecc", date=day, shift__code="day")
    assert [(e.user.username, e.role) for e in people] == [("calltaker", "duty_officer")]
    roster = api("operator").get(f"/api/duty/roster/?date={day}").json()
    ecc = next(d for d in roster if d["code"] == "ecc")
    assert [p["username"] for p in ecc["shifts"][0]["people"]] == ["calltaker"]


def test_a_roster_file_with_bad_rows_is_refused_by_line_and_stores_nothing(api):
    before = RosterEntry.objects.count()
    day = timezone.localdate().isoformat()
    csv = (
        "desk,date,shift,username,role\n"
        f"ecc,{day},day,operator,duty_officer\n"
        f"nosuchdesk,{day},day,operator,duty_officer\n"
        "ecc,2026-13-40,day,operator,duty_officer\n"
        f"ecc,{day},evening,operator,duty_officer\n"
        f"ecc,{day},day,nobody,duty_officer\n"
        f"ecc,{day},day,leader,chief\n"
    )
    response = api("operator").post("/api/duty/roster/import/", upload(csv), format="multipart")
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "invalid_input" and body["field"] == "file"
    assert [(e["line"], e["field"]) for e in body["errors"]] == [
        (3, "desk"), (4, "date"), (5, "shift"), (6, "username"), (7, "role"),
    ]  # fmt: skip
    assert "未导入" in body["detail"]
    assert RosterEntry.objects.count() == before
    missing = api("operator").post("/api/duty/roster/import/", upload("desk,date\n"), format="multipart")
    assert missing.status_code == 400
    assert {e["field"] for e in missing.json()["errors"]} == {"shift", "username", "role"}
    assert api("calltaker").post("/api/duty/roster/import/", upload(csv), format="multipart").status_code == 403


# -- sign-on --------------------------------------------------------------------------------------------


def test_only_the_rostered_person_signs_on(api, user_for):
    ecc = desk("ecc")
    refused = api("leader").post(f"/api/duty/desks/{ecc.pk}/sign-on/", {}, format="json")
    assert refused.status_code == 403
    assert "不在" in refused.json()["detail"] and "排班" in refused.json()["detail"]
    # An agency's desk officer does not even see another agency's desk.
    assert api("dispatcher119").post(f"/api/duty/desks/{desk('110').pk}/sign-on/", {}).status_code == 404
    # Signing on someone else is for administrators.
    other = api("operator").post(f"/api/duty/desks/{ecc.pk}/sign-on/", {"user": "calltaker"}, format="json")
    assert other.status_code == 403
    signed = api("operator").post(f"/api/duty/desks/{ecc.pk}/sign-on/", {}, format="json")
    assert signed.status_code == 201, signed.json()
    assert signed.json()["signed_on_by"]["username"] == "operator"
    # The shift is taken; the colleague of the same shift is told who has it.
    again = api("calltaker").post(f"/api/duty/desks/{ecc.pk}/sign-on/", {}, format="json")
    assert again.status_code == 409 and "王敏" in again.json()["detail"]
    # An administrator signs on a rostered desk officer; the demo's carried item joins the new shift.
    assert api("admin").post(f"/api/duty/desks/{desk('119').pk}/sign-on/", {"user": "dispatcher119"}).status_code == 201
    session = ShiftSession.objects.get(desk=ecc, handed_over_at__isnull=True)
    assert [item.text for item in session.items.all()] == [i.text for i in selectors.open_items(ecc)]
    assert session.items.exists()
    board = {d["code"]: d for d in api("operator").get("/api/duty/now/").json()}
    on = {p["username"]: p for p in board["ecc"]["on_duty"]}
    assert on["operator"]["signed_on"] and not on["calltaker"]["signed_on"]
    assert "phone" in on["operator"] and "phone" not in board["119"]["on_duty"][0]
    assert AuditEntry.objects.filter(action="duty.signed_on").count() == 2


def test_on_duty_resolves_duty_posts_into_people():
    leaders = selectors.on_duty(role="leader_on_duty")
    assert [d.user.username for d in leaders] == ["leader"]
    assert [d.user.username for d in selectors.on_duty(desk_kind="119")] == ["dispatcher119"]
    officers = selectors.on_duty(desk_kind="command_centre", role="duty_officer")
    assert {d.user.username for d in officers} == {"operator", "calltaker"}
    assert selectors.on_duty(at=timezone.now() + timedelta(days=30)) == []


# -- hand-over ------------------------------------------------------------------------------------------


def test_hand_over_carries_open_items_and_open_incidents_to_the_next_shift(api, user_for):
    operator, calltaker = user_for("operator"), user_for("calltaker")
    fire = incident(user_for("dispatcher119"), "119-RESCUE", "测试路1号")
    ecc = desk("ecc")
    session = services.sign_on(operator, ecc)
    added = api("operator").post(f"/api/duty/desks/{ecc.pk}/items/", {"text": "核实化工厂复产报备"}, format="json")
    assert added.status_code == 201
    preview = api("operator").get(f"/api/duty/sessions/{session.pk}/hand-over/").json()
    item_ids = [item["id"] for item in preview["items"]]
    assert "核实化工厂复产报备" in [item["text"] for item in preview["items"]]
    assert fire.number in [ref["number"] for ref in preview["incidents"]]
    # Handing over without confirming every open item is refused with the current list.
    partial = api("operator").post(
        f"/api/duty/sessions/{session.pk}/hand-over/", {"confirmed_item_ids": item_ids[:1]}, format="json"
    )
    assert partial.status_code == 409 and len(partial.json()["items"]) == len(item_ids)
    # Only the officer who signed on hands over.
    assert (
        api("calltaker")
        .post(f"/api/duty/sessions/{session.pk}/hand-over/", {"confirmed_item_ids": item_ids}, format="json")
        .status_code
        == 403
    )
    done = api("operator").post(
        f"/api/duty/sessions/{session.pk}/hand-over/",
        {"confirmed_item_ids": item_ids, "notes": "化工厂事项待复核"},
        format="json",
    )
    assert done.status_code == 200, done.json()
    assert done.json()["notes"] == "化工厂事项待复核" and done.json()["handed_over_at"]
    carried = HandoverItem.objects.get(desk=ecc, ref_app="dispatch", ref_id=str(fire.pk))
    assert carried.state == "open" and carried.ref_number == fire.number
    # The incoming officer signs on at the next shift: every open item comes along; the old shift names them.
    next_start = session.shift.window(session.date)[1]
    incoming = services.sign_on(calltaker, ecc, at=next_start + timedelta(minutes=1))
    texts = {item.text for item in incoming.items.all()}
    assert "核实化工厂复产报备" in texts and carried in incoming.items.all()
    session.refresh_from_db()
    assert session.handed_over_to == calltaker
    # Done items stop carrying over.
    item = HandoverItem.objects.get(text="核实化工厂复产报备")
    assert api("calltaker").post(f"/api/duty/items/{item.pk}/done/").status_code == 403  # call takers read only
    assert api("leader").post(f"/api/duty/items/{item.pk}/done/").status_code == 200
    assert item not in selectors.open_items(ecc)
    assert api("leader").post(f"/api/duty/items/{item.pk}/done/").status_code == 409


def test_sign_on_waits_for_the_previous_shift_to_hand_over(user_for):
    ecc = desk("ecc")
    session = services.sign_on(user_for("operator"), ecc)
    next_start = session.shift.window(session.date)[1]
    with pytest.raises(services.Refusal, match="尚未交班"):
        services.sign_on(user_for("calltaker"), ecc, at=next_start + timedelta(minutes=5))


# -- the duty log ---------------------------------------------------------------------------------------


def test_the_log_merges_people_and_the_event_log_within_the_desks_row_scope(api, user_for):
    theft = incident(user_for("dispatcher110"), "110-THEFT", "测试路2号")
    fire = incident(user_for("dispatcher119"), "119-RESCUE", "测试路3号")
    dispatch_services.set_incident_status(user_for("dispatcher119"), fire, "closed")
    # A type the table declares but nothing publishes yet, and one the table does not know: neither breaks the log.
    publish("cases", "case.overdue", {"type": "Feature", "geometry": None, "properties": {"number": "C-1"}})
    written = api("dispatcher110").post(
        f"/api/duty/desks/{desk('110').pk}/log/", {"text": "与派出所核对盗窃案笔录", "kind": "major"}, format="json"
    )
    assert written.status_code == 403  # call takers read their desk's log
    api("operator").post(f"/api/duty/desks/{desk('110').pk}/log/", {"text": "110席位已通知巡逻", "kind": "major"})
    police = api("dispatcher110").get(f"/api/duty/desks/{desk('110').pk}/log/").json()["entries"]
    texts = [entry["text"] for entry in police]
    assert any(theft.number in text and "盗窃" in text for text in texts)
    assert not any(fire.number in text for text in texts), "a 110 desk does not see a 119 incident"
    assert "110席位已通知巡逻" in texts
    centre = api("operator").get(f"/api/duty/desks/{desk('ecc').pk}/log/").json()["entries"]
    lines = [entry["text"] for entry in centre]
    assert any(fire.number in text and "结案" in text for text in lines)
    assert any(theft.number in text for text in lines)
    assert any("C-1" in text for text in lines)
    assert "110席位已通知巡逻" not in lines  # people's entries stay on their desk
    major = api("operator").get(f"/api/duty/desks/{desk('ecc').pk}/log/?major=1").json()["entries"]
    assert major and all(entry["major"] for entry in major)
    assert [e["at"] for e in centre] == sorted(e["at"] for e in centre)
    # The window: another day's shift does not hold today's events.
    old = (selectors.duty_date() - timedelta(days=1)).isoformat()
    yesterday = api("operator").get(f"/api/duty/desks/{desk('ecc').pk}/log/?date={old}&shift=day").json()["entries"]
    assert not any(theft.number in entry["text"] for entry in yesterday)
    assert any("暴雨黄色预警" in entry["text"] for entry in yesterday)
    # A desk of another agency is not readable at all.
    assert api("dispatcher110").get(f"/api/duty/desks/{desk('119').pk}/log/").status_code == 404


def test_bad_log_input_is_a_400_naming_the_field(api):
    url = f"/api/duty/desks/{desk('ecc').pk}/log/"
    before = DutyLogEntry.objects.count()
    cases = [
        ({"text": "  "}, "text"),
        ({"text": "x", "kind": "gossip"}, "kind"),
        ({"text": "x", "at": "yesterday"}, "at"),
        ({"text": "x", "at": (timezone.now() + timedelta(hours=2)).isoformat()}, "at"),
        ({"text": "a\x00b"}, "text"),
    ]
    for body, field in cases:
        response = api("operator").post(url, body, format="json")
        assert response.status_code == 400, (body, response.json())
        assert response.json()["field"] == field
    assert DutyLogEntry.objects.count() == before
    for query, field in [("?from=2026-01-01T00:00", "to"), ("?date=soon&shift=day", "date"), ("?shift=x", "shift"),
                         ("?from=2026-02-01T00:00&to=2026-01-01T00:00", "to")]:  # fmt: skip
        response = api("operator").get(url + query)
        assert response.status_code == 400 and response.json()["field"] == field, query
    assert api("operator").get("/api/duty/now/?at=noon").json()["field"] == "at"
    item = api("operator").post(
        f"/api/duty/desks/{desk('ecc').pk}/items/", {"text": "x", "ref_app": "dispatch"}, format="json"
    )
    assert item.status_code == 400 and item.json()["field"] == "ref_id"
    hand = api("operator").post("/api/duty/sessions/999999/hand-over/", {"confirmed_item_ids": []}, format="json")
    assert hand.status_code == 404


# -- the daily report -----------------------------------------------------------------------------------


def test_the_daily_report_shows_shifts_major_events_and_incidents(api, client, user_for):
    operator = user_for("operator")
    fire = incident(user_for("dispatcher119"), "119-RESCUE", "测试路4号")
    session = services.sign_on(operator, desk("ecc"))
    services.add_log_entry(operator, desk("ecc"), "市领导到指挥中心检查值班工作", "major")
    services.add_log_entry(operator, desk("ecc"), "例行设备巡检", "routine")
    items = [item.pk for item in selectors.open_items(desk("ecc"))]
    services.hand_over(operator, session, confirmed_item_ids=items, notes="交班备注：设备正常")
    client.force_login(operator)
    response = client.get(f"/duty/report/{session.date.isoformat()}/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "值班日报" in page and "@media print" in page and "A4" in page
    assert "市领导到指挥中心检查值班工作" in page and "例行设备巡检" not in page
    assert fire.number in page and "交班备注：设备正常" in page
    assert "值班员 王敏" in page and "带班领导" in page
    assert client.get("/duty/report/not-a-date/").status_code == 404
    client.force_login(user_for("planner"))
    assert client.get(f"/duty/report/{session.date.isoformat()}/").status_code == 403


def test_the_console_links_the_report_of_the_duty_day_still_running_after_midnight(client, user_for):
    """At 02:00 the night shift that began at 20:00 the day before is on duty: its report is the previous date's."""
    zone = timezone.get_default_timezone()
    day = timezone.localdate()
    at = {hour: timezone.make_aware(timezone.datetime.combine(day, time(hour)), zone) for hour in (2, 7, 8, 23)}
    assert selectors.duty_date(at[2]) == selectors.duty_date(at[7]) == day - timedelta(days=1)
    assert selectors.duty_date(at[8]) == selectors.duty_date(at[23]) == day
    client.force_login(user_for("operator"))
    page = client.get("/duty/").content.decode()
    assert f'href="/duty/report/{selectors.duty_date().isoformat()}/"' in page
