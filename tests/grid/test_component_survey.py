"""部件普查 and 变更 through /api/grid/components/: identifiers, grids, audited history, validation, roles."""

import pytest

from core.models import AuditEntry
from grid import services
from grid.models import Case, Component, UnitGrid

pytestmark = pytest.mark.django_db


def _point(geom) -> dict:
    return {"type": "Point", "coordinates": [geom.x, geom.y]}


def _create(client, position, **attributes):
    return client.post("/api/grid/components/", {"location": _point(position), **attributes}, format="json")


def _history(client, pk) -> list[dict]:
    return client.get(f"/api/grid/components/{pk}/").json()["properties"]["history"]


def _grid_at(point) -> UnitGrid:
    return UnitGrid.objects.select_related("district").get(geom__intersects=point)


def test_create_gets_the_next_identifier_of_its_county_and_class_and_the_grid_at_the_position(api, spot):
    grid = _grid_at(spot)
    prefix = f"{grid.district.code}01002"
    highest = Component.objects.filter(ident__startswith=prefix).order_by("-ident").first()
    serial = int(highest.ident[-6:]) if highest else 0
    client = api("griddispatcher")

    made = _create(client, spot, component_class="01002", status="damaged", maintainer="福田区排水养护所")
    assert made.status_code == 201, made.content
    props = made.json()["properties"]
    assert props["ident"] == f"{prefix}{serial + 1:06d}"
    assert props["grid_code"] == grid.code
    assert props["class_name"] == "污水井盖" and props["name"] == "污水井盖"  # the class's name by default
    assert props["status"] == "damaged" and props["maintainer"] == "福田区排水养护所"
    assert props["owner"]["name"]  # the department responsible for drainage, as for a case of this class
    assert props["source"] == "普查" and props["surveyed_on"]
    second = _create(client, spot, component_class="01002").json()["properties"]
    assert second["ident"] == f"{prefix}{serial + 2:06d}"

    [added] = props["history"]
    assert added["action"] == "component.add" and added["actor"]["name"] == "派遣员 张丽"
    assert added["changes"]["location"] == {"before": None, "after": [round(spot.x, 7), round(spot.y, 7)]}
    assert added["changes"]["grid"]["after"] == grid.code
    assert added["changes"]["status"]["after"] == "damaged"


def test_move_recomputes_the_grid_and_records_before_and_after(api, spot):
    client = api("admin")
    pk = _create(client, spot, component_class="01037").json()["id"]
    old_grid = _grid_at(spot)
    elsewhere = UnitGrid.objects.exclude(pk=old_grid.pk).order_by("code").last().geom.point_on_surface

    moved = client.patch(f"/api/grid/components/{pk}/", {"location": _point(elsewhere)}, format="json")
    assert moved.status_code == 200, moved.content
    new_grid = _grid_at(elsewhere)
    assert moved.json()["properties"]["grid_code"] == new_grid.code != old_grid.code
    component = Component.objects.get(pk=pk)
    assert component.grid_id == new_grid.pk and component.geom.equals_exact(elsewhere, 1e-7)
    assert component.changed_on is not None
    move = _history(client, pk)[-1]
    assert move["action"] == "component.move"
    assert move["changes"] == {
        "location": {
            "before": [round(spot.x, 7), round(spot.y, 7)],
            "after": [round(elsewhere.x, 7), round(elsewhere.y, 7)],
        },
        "grid": {"before": old_grid.code, "after": new_grid.code},
    }
    same = client.patch(f"/api/grid/components/{pk}/", {"location": _point(elsewhere)}, format="json")
    assert len(same.json()["properties"]["history"]) == 2  # dropped where it was: nothing recorded


def test_edit_records_only_what_changed(api, spot):
    client = api("griddispatcher")
    made = _create(client, spot, component_class="01013", name="消防栓 A").json()
    owner_before = made["properties"]["owner"]
    other = next(d for d in client.get("/api/grid/departments/").json() if d["id"] != (owner_before or {}).get("id"))

    body = {"status": "lost", "name": "消防栓 A", "owner": other["id"], "note": "普查未见"}
    edited = client.patch(f"/api/grid/components/{made['id']}/", body, format="json")
    assert edited.status_code == 200, edited.content
    props = edited.json()["properties"]
    assert props["status"] == "lost" and props["owner"]["id"] == other["id"] and props["note"] == "普查未见"
    edit = props["history"][-1]
    assert edit["action"] == "component.edit"
    assert edit["changes"] == {
        "status": {"before": "intact", "after": "lost"},
        "owner": {"before": owner_before, "after": {"id": other["id"], "name": other["name"]}},
        "note": {"before": "", "after": "普查未见"},
    }
    again = client.patch(f"/api/grid/components/{made['id']}/", {"status": "lost"}, format="json")
    assert again.status_code == 200 and len(again.json()["properties"]["history"]) == 2  # nothing changed


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"status": "broken"}, "status"),
        ({"name": "x" * 65}, "name"),
        ({"maintainer": 12}, "maintainer"),
        ({"owner": 99999999}, "owner"),
        ({"owner": 10**30}, "owner"),
        ({"owner": True}, "owner"),
        ({"component_class": "01001"}, "component_class"),
        ({"location": {"type": "Point", "coordinates": [0.5, 0.5]}}, "location"),
        ({"status": "damaged", "location": {"type": "Point", "coordinates": [0.5, 0.5]}}, "location"),
        ({}, "location"),
    ],
)
def test_bad_changes_are_400_naming_the_field_and_change_nothing(api, spot, body, field):
    client = api("griddispatcher")
    pk = _create(client, spot, component_class="01003").json()["id"]
    before = Component.objects.values().get(pk=pk)
    entries = AuditEntry.objects.count()

    answer = client.patch(f"/api/grid/components/{pk}/", body, format="json")
    assert answer.status_code == 400 and answer.json()["field"] == field, answer.content
    assert Component.objects.values().get(pk=pk) == before
    assert AuditEntry.objects.count() == entries


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"component_class": "99999"}, "component_class"),
        ({"component_class": "01002", "status": "gone"}, "status"),
        ({"component_class": "01002", "location": {"type": "Point", "coordinates": [0.5, 0.5]}}, "location"),
        ({"component_class": "01002", "location": None}, "location"),
        ({"component_class": "01002", "colour": "red"}, "colour"),
    ],
)
def test_bad_new_components_are_400_naming_the_field(api, spot, body, field):
    count = Component.objects.count()
    answer = api("admin").post("/api/grid/components/", {"location": _point(spot), **body}, format="json")
    assert answer.status_code == 400 and answer.json()["field"] == field, answer.content
    assert Component.objects.count() == count


def test_readers_without_a_write_role_are_refused_writes(api, spot):
    pk = _create(api("admin"), spot, component_class="01002").json()["id"]
    for username in ("inspector", "leader", "planner"):
        client = api(username)
        assert _create(client, spot, component_class="01002").status_code == 403
        assert client.patch(f"/api/grid/components/{pk}/", {"status": "lost"}, format="json").status_code == 403
        assert client.post(f"/api/grid/components/{pk}/retire/", {}, format="json").status_code == 403
        assert client.get(f"/api/grid/components/{pk}/").status_code == 200  # reads: as components/nearest/
    assert Component.objects.get(pk=pk).status == "intact"


def test_a_body_that_is_not_an_object_is_400(api, spot):
    client = api("admin")
    pk = _create(client, spot, component_class="01002").json()["id"]
    for answer in (
        client.post("/api/grid/components/", ["01002"], format="json"),
        client.patch(f"/api/grid/components/{pk}/", ["lost"], format="json"),
        client.post(f"/api/grid/components/{pk}/retire/", ["removed"], format="json"),
    ):
        assert answer.status_code == 400 and answer.json()["field"] == "body"
    assert Component.objects.get(pk=pk).status == "intact"


def test_the_survey_screen_is_for_the_writers(api):
    page = api("griddispatcher").get("/grid/components/")
    assert page.status_code == 200 and "部件普查" in page.content.decode()
    assert api("leader").get("/grid/components/").status_code == 403


def test_list_by_bbox_and_class(api, spot):
    client = api("leader")
    box = ",".join(str(v) for v in (spot.x - 0.01, spot.y - 0.01, spot.x + 0.01, spot.y + 0.01))
    everything = client.get("/api/grid/components/", {"bbox": box}).json()["features"]
    lamps = client.get("/api/grid/components/", {"bbox": box, "class": "01037"}).json()["features"]
    assert lamps and len(lamps) < len(everything)
    assert {f["properties"]["class_code"] for f in lamps} == {"01037"}
    assert client.get("/api/grid/components/", {"bbox": box, "class": "01037,77777"}).json()["field"] == "class"
    assert client.get("/api/grid/components/").json()["field"] == "bbox"


def test_retired_components_stay_for_their_cases_and_history_lists_every_change_in_order(api, user_for, spot):
    client = api("griddispatcher")
    pk = _create(client, spot, component_class="01002").json()["id"]
    case, _ = services.report_case(user_for("inspector"), services.Report(category_code="01002", position=spot))
    assert case.component_id == pk

    client.patch(f"/api/grid/components/{pk}/", {"status": "damaged"}, format="json")
    nearby = spot.clone()
    nearby.x += 0.00001
    client.patch(f"/api/grid/components/{pk}/", {"location": _point(nearby)}, format="json")
    retired = client.post(f"/api/grid/components/{pk}/retire/", {"note": "道路改造拆除"}, format="json")
    assert retired.status_code == 200, retired.content
    assert retired.json()["properties"]["status"] == "removed"
    assert Case.objects.get(pk=case.pk).component_id == pk  # kept, not deleted

    again = client.post(f"/api/grid/components/{pk}/retire/", {}, format="json")
    assert again.status_code == 409
    assert client.patch(f"/api/grid/components/{pk}/", {"location": _point(spot)}, format="json").status_code == 409
    assert (
        client.post(f"/api/grid/components/{pk}/retire/", {"status": "intact"}, format="json").json()["field"]
        == "status"
    )
    later, _ = services.report_case(user_for("inspector"), services.Report(category_code="01002", position=nearby))
    assert later.component_id != pk  # a removed component no longer stands there

    history = _history(client, pk)
    assert [h["action"] for h in history] == ["component.add", "component.edit", "component.move", "component.retire"]
    assert [h["at"] for h in history] == sorted(h["at"] for h in history)
    assert history[1]["changes"] == {"status": {"before": "intact", "after": "damaged"}}
    assert history[3]["changes"] == {
        "status": {"before": "damaged", "after": "removed"},
        "note": {"before": "", "after": "道路改造拆除"},
    }
