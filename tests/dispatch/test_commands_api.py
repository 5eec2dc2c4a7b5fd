"""The commands API: queueing to a vehicle, a group, an agency, an area; bad input; the row rule; groups; the MDT."""

import pytest

from core.models import AdminArea, Organisation
from dispatch.models import TerminalCommand, Vehicle

pytestmark = pytest.mark.django_db

URL = "/api/dispatch/vehicles/{}/commands/"
BATCHES = "/api/dispatch/command-batches/"


def unit(agency: str) -> Vehicle:
    return Vehicle.objects.filter(agency__agency=agency, jt808_phone__isnull=False).order_by("pk").first()


def test_a_text_to_one_unit_is_queued_and_listed(api):
    vehicle = unit("110")
    answer = api("calltaker").post(
        URL.format(vehicle.pk), {"kind": "text", "params": {"text": "到人民路口"}}, format="json"
    )
    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert (body["state"], body["kind"], body["summary"], body["created_by"]) == (
        "queued",
        "text",
        "到人民路口",
        "接警员 李强",
    )
    listed = api("operator").get(URL.format(vehicle.pk)).json()
    assert [c["id"] for c in listed] == [body["id"]]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"kind": "launch", "params": {}}, "kind"),
        ({"kind": "text", "params": {}}, "params.text"),
        ({"kind": "text", "params": {"text": "好" * 511}}, "params.text"),  # 1022 bytes in GBK
        ({"kind": "text", "params": {"text": "注意\U0001f692"}}, "params.text"),
        ({"kind": "text", "params": "hello"}, "params"),
        ({"kind": "text", "params": {"text": "x", "urgent": "yes"}}, "params.urgent"),
        ({"kind": "tracking", "params": {"interval_s": 0, "validity_s": 60}}, "params.interval_s"),
        ({"kind": "tracking", "params": {"interval_s": 5, "validity_s": 10**6}}, "params.validity_s"),
        ({"kind": "set_params", "params": {"params": {"0x9999": 1}}}, "params.params.0x9999"),
        ({"kind": "set_params", "params": {"params": {"0x0029": 0}}}, "params.params.0x0029"),
        ({"kind": "set_params", "params": {"params": {"0x005B": 70000}}}, "params.params.0x005B"),
        ({"kind": "set_params", "params": {"params": {}}}, "params.params"),
        ({"kind": "query_params", "params": {"ids": ["speed"]}}, "params.ids"),
        ({"kind": "call_back", "params": {"number": "110-120"}}, "params.number"),
        ({"kind": "call_back", "params": {"number": "1" * 21}}, "params.number"),
        ({"kind": "vehicle_control", "params": {"doors": "open"}}, "params.doors"),
        ({"kind": "text", "params": {"text": "x"}, "expires_in_s": 5}, "expires_in_s"),
    ],
)
def test_bad_input_is_refused_naming_the_field_and_nothing_is_queued(api, payload, field):
    answer = api("operator").post(URL.format(unit("119").pk), payload, format="json")
    assert answer.status_code == 400, answer.content
    assert answer.json()["field"] == field
    assert not TerminalCommand.objects.exists()


def test_the_longest_text_one_frame_carries_is_accepted(api):
    answer = api("operator").post(
        URL.format(unit("119").pk), {"kind": "text", "params": {"text": "好" * 510}}, format="json"
    )
    assert answer.status_code == 201, answer.content


def test_a_unit_outside_the_row_rule_is_not_found_and_nothing_is_queued(api):
    fire_engine = unit("119")
    client = api("dispatcher110")
    answer = client.post(URL.format(fire_engine.pk), {"kind": "text", "params": {"text": "x"}}, format="json")
    assert answer.status_code == 404
    assert client.get(URL.format(fire_engine.pk)).status_code == 404
    assert client.get(f"/api/dispatch/vehicles/{fire_engine.pk}/messages/").status_code == 404
    batch = client.post(
        BATCHES, {"target": "agency", "agency": "119", "kind": "text", "params": {"text": "x"}}, format="json"
    )
    assert batch.status_code == 404
    assert not TerminalCommand.objects.exists()


def test_leaders_may_not_send_commands(api):
    answer = api("leader").post(URL.format(unit("110").pk), {"kind": "position_query"}, format="json")
    assert answer.status_code == 403
    assert not TerminalCommand.objects.exists()


def test_an_agency_batch_goes_to_its_units_and_is_seen_only_by_who_sees_them(api):
    client = api("dispatcher119")
    answer = client.post(
        BATCHES, {"target": "agency", "agency": "119", "kind": "text", "params": {"text": "集合"}}, format="json"
    )
    assert answer.status_code == 201, answer.content
    batch = answer.json()
    expected = set(Vehicle.objects.filter(agency__agency="119").values_list("pk", flat=True))
    assert {c["vehicle_id"] for c in batch["commands"]} == expected
    assert batch["counts"]["queued"] == len(expected)
    assert api("operator").get(f"{BATCHES}{batch['id']}/").json()["counts"]["queued"] == len(expected)
    assert api("dispatcher110").get(f"{BATCHES}{batch['id']}/").status_code == 404


def test_an_area_batch_and_a_polygon_batch(api):
    district = AdminArea.objects.filter(level="district").order_by("code").first()
    inside = set(Vehicle.objects.filter(last_position__intersects=district.geom).values_list("pk", flat=True))
    assert inside
    client = api("operator")
    answer = client.post(
        BATCHES, {"target": "area", "area": district.code, "kind": "text", "params": {"text": "x"}}, format="json"
    )
    assert {c["vehicle_id"] for c in answer.json()["commands"]} == inside
    polygon = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}  # far from the city
    empty = client.post(
        BATCHES, {"target": "polygon", "polygon": polygon, "kind": "text", "params": {"text": "x"}}, format="json"
    )
    assert (empty.status_code, empty.json()["field"]) == (400, "target")
    bad = client.post(
        BATCHES,
        {"target": "polygon", "polygon": {"type": "Point"}, "kind": "text", "params": {"text": "x"}},
        format="json",
    )
    assert (bad.status_code, bad.json()["field"]) == (400, "polygon")
    assert TerminalCommand.objects.count() == len(inside)


def test_groups_are_kept_per_organisation_and_take_commands(api, user_for):
    mine = list(Vehicle.objects.filter(agency__agency="110").values_list("pk", flat=True)[:3])
    client = api("dispatcher110")
    created = client.post("/api/dispatch/vehicle-groups/", {"name": "一中队", "vehicle_ids": mine}, format="json")
    assert created.status_code == 201, created.content
    group = created.json()
    assert sorted(v["id"] for v in group["vehicles"]) == sorted(mine)
    again = client.post("/api/dispatch/vehicle-groups/", {"name": "一中队", "vehicle_ids": mine}, format="json")
    assert again.json()["field"] == "name"
    foreign = client.post(
        "/api/dispatch/vehicle-groups/", {"name": "二中队", "vehicle_ids": [unit("119").pk]}, format="json"
    )
    assert foreign.json()["field"] == "vehicle_ids"
    assert [g["name"] for g in client.get("/api/dispatch/vehicle-groups/").json()] == ["110巡逻组", "一中队"]
    assert [g["name"] for g in api("dispatcher119").get("/api/dispatch/vehicle-groups/").json()] == ["119消防车组"]
    text = {"target": "group", "group": group["id"], "kind": "text", "params": {"text": "收队"}}
    assert api("dispatcher119").post(BATCHES, text, format="json").status_code == 404
    answer = client.post(BATCHES, text, format="json")
    assert answer.status_code == 201
    assert answer.json()["target_label"] == "一中队"
    assert TerminalCommand.objects.filter(batch_id=answer.json()["id"]).count() == 3


def test_the_mdt_reads_its_messages_and_reading_delivers_where_there_is_no_terminal(api):
    with_terminal = unit("120")
    without = Vehicle.objects.filter(agency__agency="120").exclude(pk=with_terminal.pk).first()
    Vehicle.objects.filter(pk=without.pk).update(jt808_phone=None)
    client = api("operator")
    for vehicle in (with_terminal, without):
        client.post(URL.format(vehicle.pk), {"kind": "text", "params": {"text": f"去{vehicle.pk}"}}, format="json")
    no_terminal = client.post(URL.format(without.pk), {"kind": "position_query"}, format="json")
    assert (no_terminal.status_code, no_terminal.json()["field"]) == (400, "kind")

    messages = client.get(f"/api/dispatch/vehicles/{without.pk}/messages/").json()
    assert [(m["text"], m["state"], m["read_at"]) for m in messages] == [(f"去{without.pk}", "queued", None)]
    assert set(messages[0]) == {"id", "text", "sent_by", "created_at", "state", "read_at"}
    read = f"/api/dispatch/vehicles/{without.pk}/messages/{messages[0]['id']}/read/"
    first = client.post(read).json()
    assert first["state"] == "answered" and first["read_at"]
    assert client.post(read).json() == first  # idempotent
    [message] = client.get(f"/api/dispatch/vehicles/{with_terminal.pk}/messages/").json()
    other = client.post(f"/api/dispatch/vehicles/{with_terminal.pk}/messages/{message['id']}/read/").json()
    assert other["state"] == "queued" and other["read_at"]  # its terminal's answer is the delivery
    wrong = client.post(f"/api/dispatch/vehicles/{with_terminal.pk}/messages/{messages[0]['id']}/read/")
    assert wrong.status_code == 404
    outsider = api("dispatcher110").post(read)
    assert outsider.status_code == 404


def test_the_agency_must_exist(api):
    answer = api("operator").post(
        BATCHES, {"target": "agency", "agency": "999", "kind": "text", "params": {"text": "x"}}, format="json"
    )
    assert (answer.status_code, answer.json()["field"]) == (400, "agency")
    assert Organisation.objects.filter(agency="110").exists()
    assert not TerminalCommand.objects.exists()
