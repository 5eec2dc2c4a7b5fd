"""The resources API on the small demo city: the layers' CRUD (bad input is a 400 naming the field and stores
nothing), the code tables from CSV, experts' phones for command-centre staff only, stock, shelter check-in/out,
requests and allocations, each change audited and published on the "resources" topic."""

import pytest

from core.models import AuditEntry, Event
from dispatch.models import Incident
from resources.codes import read_specialties, read_supplies
from resources.models import Depot, Expert, HazardSource, RescueTeam, Shelter, Specialty, StockItem, SupplyItem

pytestmark = pytest.mark.django_db

POINT = {"type": "Point", "coordinates": [114.05, 22.54]}


def test_code_tables_come_from_the_csv_files():
    assert set(SupplyItem.objects.values_list("code", flat=True)) == {r.code for r in read_supplies()}
    assert SupplyItem.objects.get(code="sandbags").name == "沙袋"
    assert SupplyItem.objects.get(code="sandbags").unit == "条"
    skills = {r.code for r in read_specialties() if r.kind == "skill"}
    assert set(Specialty.objects.filter(kind="skill").values_list("code", flat=True)) == skills


def test_demo_city_has_a_realistic_set_on_its_land(demo_city):
    from core.models import AdminArea

    city = AdminArea.objects.get(level="city").geom
    counts = {m: m.objects.count() for m in (RescueTeam, Depot, Shelter, Expert, HazardSource)}
    assert counts[RescueTeam] >= 6 and counts[Depot] >= 8 and counts[Shelter] >= 10
    assert counts[Expert] >= 12 and counts[HazardSource] >= 15
    for model in (RescueTeam, Depot, Shelter, HazardSource):
        assert not model.objects.exclude(geom__within=city).exists()
        assert not model.objects.filter(district__isnull=True).exists()
    assert not HazardSource.objects.filter(zone__isnull=True).exists()
    assert StockItem.objects.filter(item__code="sandbags").count() >= 4


def test_hazard_zone_is_the_radius_in_metres(demo_city):
    from django.db import connection

    hazard = HazardSource.objects.order_by("-radius_m").first()
    with connection.cursor() as cursor:  # the zone's area on the spheroid ≈ π r²
        cursor.execute("SELECT ST_Area(zone::geography) FROM resources_hazardsource WHERE id = %s", [hazard.pk])
        area = cursor.fetchone()[0]
    assert area == pytest.approx(3.1416 * hazard.radius_m**2, rel=0.01)


def test_operator_creates_edits_and_removes_a_team(api):
    client = api("operator")
    before_audit = AuditEntry.objects.count()
    made = client.post(
        "/api/resources/teams/",
        {"name": "测试救援队", "organisation": "SZ-ECC", "skills": ["flood_rescue"], "headcount": 10, "on_duty": 6,
         "location": POINT},
        format="json",
    )  # fmt: skip
    assert made.status_code == 201, made.json()
    pk = made.json()["id"]
    assert made.json()["properties"]["skill_labels"] == ["水域救援"]
    assert made.json()["properties"]["district_code"]
    edited = client.patch(f"/api/resources/teams/{pk}/", {"on_duty": 8}, format="json")
    assert edited.status_code == 200 and edited.json()["properties"]["on_duty"] == 8
    assert client.delete(f"/api/resources/teams/{pk}/").status_code == 204
    assert not RescueTeam.objects.filter(pk=pk).exists()
    assert AuditEntry.objects.count() == before_audit + 3
    types = list(Event.objects.filter(topic="resources").order_by("-seq").values_list("type", flat=True)[:3])
    assert types == ["resource.removed", "resource.saved", "resource.saved"]


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("teams", {"organisation": "SZ-ECC", "headcount": 1, "on_duty": 1, "location": POINT}, "name"),
        ("teams", {"name": "x", "organisation": "NOPE", "headcount": 1, "on_duty": 1, "location": POINT},
         "organisation"),
        ("teams", {"name": "x", "organisation": "SZ-ECC", "headcount": 1, "on_duty": 2, "location": POINT}, "on_duty"),
        ("teams", {"name": "x", "organisation": "SZ-ECC", "headcount": 1, "on_duty": 1, "location": POINT,
                   "skills": ["juggling"]}, "skills"),
        ("teams", {"name": "x", "organisation": "SZ-ECC", "headcount": -1, "on_duty": 0, "location": POINT},
         "headcount"),
        ("depots", {"name": "x", "organisation": "SZ-ECC", "location": {"type": "Point", "coordinates": [500, 1]}},
         "location"),
        ("shelters", {"name": "x", "organisation": "SZ-ECC", "capacity": "many", "location": POINT}, "capacity"),
        ("hazards", {"name": "x", "kind": "volcano", "radius_m": 100, "grade": 1, "location": POINT}, "kind"),
        ("hazards", {"name": "x", "kind": "gas_station", "radius_m": 0, "grade": 1, "location": POINT}, "radius_m"),
        ("hazards", {"name": "x", "kind": "gas_station", "radius_m": 10, "grade": 1, "location": POINT,
                     "substances": [{"name": "汽油", "un_number": "12"}]}, "substances[0]"),
    ],
)  # fmt: skip
def test_bad_input_names_the_field_and_stores_nothing(api, path, body, field):
    client = api("operator")
    counts = (RescueTeam.objects.count(), Depot.objects.count(), Shelter.objects.count(), AuditEntry.objects.count())
    answer = client.post(f"/api/resources/{path}/", body, format="json")
    assert answer.status_code == 400, answer.json()
    assert answer.json()["field"].startswith(field)
    assert counts == (RescueTeam.objects.count(), Depot.objects.count(), Shelter.objects.count(),
                      AuditEntry.objects.count())  # fmt: skip


def test_only_operators_and_admins_edit(api):
    body = {"name": "x", "organisation": "SZ-ECC", "location": POINT}
    assert api("leader").post("/api/resources/depots/", body, format="json").status_code == 403
    assert api("planner").get("/api/resources/depots/").status_code == 403
    assert api("admin").post("/api/resources/depots/", body, format="json").status_code == 201


def test_expert_phone_only_for_the_command_centre(api):
    operator = api("operator").get("/api/resources/experts/").json()
    assert len(operator) == Expert.objects.count() and all(e["phone"] for e in operator)
    desk = api("dispatcher119").get("/api/resources/experts/").json()
    assert desk and all(e["phone"] is None for e in desk)
    assert {e["organisation_code"] for e in desk} == {"SZ-FIRE-119"}
    hydrology = api("operator").get("/api/resources/experts/?field=hydrology").json()
    assert hydrology and all("hydrology" in e["fields"] for e in hydrology)


def test_stock_cannot_fall_below_what_is_allocated(api, demo_live):
    client = api("operator")
    stock = StockItem.objects.filter(allocated__gt=0).select_related("depot", "item").first()
    answer = client.put(f"/api/resources/depots/{stock.depot_id}/stock/",
                        {"item": stock.item.code, "on_hand": stock.allocated - 1}, format="json")  # fmt: skip
    assert answer.status_code == 400 and answer.json()["field"] == "on_hand"
    assert StockItem.objects.get(pk=stock.pk).on_hand == stock.on_hand
    answer = client.put(f"/api/resources/depots/{stock.depot_id}/stock/", {"item": "sandbags", "on_hand": 500},
                        format="json")  # fmt: skip
    assert answer.status_code == 200
    sandbags = next(s for s in answer.json()["properties"]["stock"] if s["item"] == "sandbags")
    assert sandbags["on_hand"] == 500 and sandbags["label"] == "沙袋"


def test_request_allocate_release_consume(api, demo_live):
    client = api("operator")
    incident = Incident.objects.exclude(status="closed").first()
    depot = Depot.objects.filter(stock__item__code="sandbags", stock__on_hand__gte=100).first()
    made = client.post("/api/resources/requests/", {"incident_id": incident.pk, "item": "sandbags", "quantity": 100},
                       format="json")  # fmt: skip
    assert made.status_code == 201 and made.json()["incident_number"] == incident.number
    request_id = made.json()["id"]
    before = StockItem.objects.get(depot=depot, item__code="sandbags")

    too_many = client.post(f"/api/resources/requests/{request_id}/allocate/", {"depot": depot.pk, "quantity": 101},
                           format="json")  # fmt: skip
    assert too_many.status_code == 400 and too_many.json()["field"] == "quantity"
    first = client.post(f"/api/resources/requests/{request_id}/allocate/", {"depot": depot.pk, "quantity": 60},
                        format="json")  # fmt: skip
    second = client.post(f"/api/resources/requests/{request_id}/allocate/", {"depot": depot.pk, "quantity": 40},
                         format="json")  # fmt: skip
    assert first.status_code == second.status_code == 201
    assert second.json()["status"] == "filled" and second.json()["allocated"] == 100
    stock = StockItem.objects.get(pk=before.pk)
    assert (stock.on_hand, stock.allocated) == (before.on_hand, before.allocated + 100)

    kept, returned = second.json()["allocations"]
    assert client.post(f"/api/resources/allocations/{kept['id']}/consume/").status_code == 200
    back = client.post(f"/api/resources/allocations/{returned['id']}/release/")
    assert back.status_code == 200 and back.json()["status"] == "open" and back.json()["allocated"] == 60
    assert client.post(f"/api/resources/allocations/{returned['id']}/release/").status_code == 409
    stock = StockItem.objects.get(pk=before.pk)
    assert (stock.on_hand, stock.allocated) == (before.on_hand - 60, before.allocated)
    listed = client.get(f"/api/resources/requests/?incident={incident.pk}").json()
    assert [r["id"] for r in listed if r["id"] == request_id]
    actions = set(AuditEntry.objects.filter(action__startswith="resources.").values_list("action", flat=True))
    assert {"resources.requested", "resources.allocated", "resources.consumed", "resources.released"} <= actions


def test_a_request_names_a_visible_incident_and_a_known_item(api, demo_live):
    incident = Incident.objects.exclude(agencies__contains=["120"]).first()
    client = api("dispatcher120")
    answer = client.post("/api/resources/requests/", {"incident_id": incident.pk, "item": "sandbags", "quantity": 1},
                         format="json")  # fmt: skip
    assert answer.status_code == 400 and answer.json()["field"] == "incident_id"  # not one of the 120 desk's
    answer = api("operator").post("/api/resources/requests/", {"incident_id": incident.pk, "item": "gold",
                                  "quantity": 1}, format="json")  # fmt: skip
    assert answer.status_code == 400 and answer.json()["field"] == "item"
    answer = api("operator").post("/api/resources/requests/", {"incident_id": 999999, "item": "sandbags",
                                  "quantity": 1}, format="json")  # fmt: skip
    assert answer.status_code == 400 and answer.json()["field"] == "incident_id"


def test_shelter_check_in_and_out_against_capacity(api):
    client = api("operator")
    shelter = Shelter.objects.filter(status="open").order_by("capacity").first()
    free = shelter.capacity - shelter.occupancy
    full = client.post(f"/api/resources/shelters/{shelter.pk}/check-in/", {"people": free + 1}, format="json")
    assert full.status_code == 409 and full.json()["shortfall"] == 1
    ok = client.post(f"/api/resources/shelters/{shelter.pk}/check-in/", {"people": free}, format="json")
    assert ok.status_code == 200 and ok.json()["properties"]["free"] == 0
    out = client.post(f"/api/resources/shelters/{shelter.pk}/check-out/", {"people": shelter.capacity + 1},
                      format="json")  # fmt: skip
    assert out.status_code == 400 and out.json()["field"] == "people"
    assert client.post(f"/api/resources/shelters/{shelter.pk}/check-out/", {"people": 0}, format="json").json()[
        "field"] == "people"  # fmt: skip
    closed = Shelter.objects.filter(status="closed").first()
    answer = client.post(f"/api/resources/shelters/{closed.pk}/check-in/", {"people": 1}, format="json")
    assert answer.status_code == 409
    assert Event.objects.filter(topic="resources", type="shelter.occupancy").exists()


def test_openapi_documents_the_resources_api(api):
    schema = api("admin").get("/api/schema/?format=json").json()
    paths = schema["paths"]
    assert "/api/resources/search/" in paths and "/api/resources/requests/{id}/allocate/" in paths
