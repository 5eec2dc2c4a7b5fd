"""Reference endpoints of the grid API: categories, grids, my grids and tasks, departments, components, snapshot."""

import pytest

from core.models import AdminArea
from core.realtime import Viewer, snapshot
from grid import services
from grid.models import Case, Component, UnitGrid

pytestmark = pytest.mark.django_db


def test_categories_search(api):
    client = api("inspector")
    found = client.get("/api/grid/categories/", {"q": "井盖"}).json()
    assert {"01002", "C0102"} <= {c["code"] for c in found}
    cover = next(c for c in found if c["code"] == "01002")
    assert cover["kind"] == "component" and cover["scheme"] == "gbt47678" and cover["equivalent_code"] == "C0102"
    assert cover["limits"]["handling"] == {"amount": 6.0, "unit": "natural_hours"}
    assert cover["department_type"] == "drainage"
    assert [c["code"] for c in client.get("/api/grid/categories/", {"q": "06010"}).json()] == ["06010"]
    english = client.get("/api/grid/categories/", {"q": "garbage", "scheme": "gbt47678", "kind": "event"}).json()
    assert english and all(c["kind"] == "event" for c in english)


def test_grids_and_my_grids(api):
    inspector = api("inspector")
    mine = inspector.get("/api/grid/my-grids/").json()["features"]
    assert mine and all(len(f["properties"]["code"]) == 15 for f in mine)
    minx, miny = mine[0]["geometry"]["coordinates"][0][0]
    bbox = f"{minx - 0.001},{miny - 0.001},{minx + 0.001},{miny + 0.001}"
    near = api("leader").get("/api/grid/grids/", {"bbox": bbox}).json()["features"]
    assert 0 < len(near) < UnitGrid.objects.count()
    assert api("leader").get("/api/grid/my-grids/").status_code == 403
    assert api("leader").get("/api/grid/grids/", {"bbox": "1,2,3"}).status_code == 400


def test_my_tasks_are_checks_in_my_grids(api, user_for):
    handled = Case.objects.filter(stage="handled", grid__inspectors=user_for("inspector")).count()
    tasks = api("inspector").get("/api/grid/my-tasks/").json()["features"]
    assert len(tasks) >= handled
    assert {t["properties"]["stage"] for t in tasks} <= {"handled", "confirming"}


def test_departments_and_nearest_component(api):
    departments = api("griddispatcher").get("/api/grid/departments/").json()
    urban = next(d for d in departments if d["code"] == "SZ-URBAN")
    assert "sanitation" in urban["department_types"]
    lamp = Component.objects.filter(component_class__code="01037").first()
    params = {"lon": lamp.geom.x + 0.00002, "lat": lamp.geom.y, "class": "01037"}
    nearest = api("inspector").get("/api/grid/components/nearest/", params).json()["features"]
    assert nearest[0]["properties"]["ident"] == lamp.ident and nearest[0]["properties"]["distance_m"] < 5
    legacy = api("inspector").get("/api/grid/components/nearest/", {**params, "class": "0118"}).json()
    assert legacy["features"][0]["properties"]["ident"] == lamp.ident
    bad = api("inspector").get("/api/grid/components/nearest/", {**params, "class": "9999"})
    assert bad.status_code == 400 and bad.json()["field"] == "class"


def test_component_found_from_the_report_position(api):
    cover = Component.objects.filter(component_class__code="01002").first()
    body = {"category_code": "01002", "location": {"type": "Point", "coordinates": [cover.geom.x, cover.geom.y]}}
    case = api("inspector").post("/api/grid/cases/", body, format="json").json()
    assert case["properties"]["component_id"] == cover.ident
    assert case["properties"]["grid_code"] == UnitGrid.objects.get(geom__intersects=cover.geom).code


def test_cases_snapshot_respects_the_organisation(user_for, demo_city):
    spot = AdminArea.objects.filter(level="community").order_by("code").first().geom.point_on_surface
    case, _ = services.report_case(user_for("inspector"), services.Report(category_code="06010", position=spot))
    centre = snapshot("cases", Viewer.for_user(user_for("griddispatcher")), None)
    assert case.pk in {f["id"] for f in centre}
    assert all(f["properties"]["stage"] not in ("closed", "invalid") for f in centre)
    department = snapshot("cases", Viewer.for_user(user_for("depthandler")), None)
    assert case.pk not in {f["id"] for f in department}
    assert all(f["properties"]["department"]["name"] == "深圳市城市管理和综合执法局" for f in department)
