"""The situation map of an incident that opened a pipeline isolation: one declared payload for the API, the page
and the reports, and the crew's valve reports reaching it live (the demo's 119 gas leak, as the demo loads it)."""

import json

import jsonschema
import pytest

from core.models import Event
from pipelines_mgmt.models import RepairOrder
from tests.openapi import validate
from tests.report_images import colour_pixels, pdf_first_page

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def gas_leak(demo_live):
    incident = demo_live["gas_leak_incident"]
    order = RepairOrder.objects.get(incident_id=incident.pk)
    return incident, order


def situation(api, incident) -> dict:
    response = api("leader").get(f"/api/leader/incidents/{incident.pk}/situation/")
    assert response.status_code == 200
    return response.json()


def test_the_gas_leak_opened_a_repair_order_that_the_situation_shows(api, gas_leak):
    incident, order = gas_leak
    body = situation(api, incident)
    validate(body, "Situation")
    [isolation] = body["isolation"]
    assert isolation["number"] == order.number
    causes = {f["properties"]["code"]: f["properties"]["cause"] for f in isolation["pipes"]["features"]}
    expected = {
        f["properties"]["code"]: cause
        for cause in ("isolated", "outage")
        for f in order.isolation[cause]["pipes"]["features"]
    }
    assert causes == expected and "isolated" in causes.values()
    assert [f["properties"]["code"] for f in isolation["valves"]["features"]] == [
        v["code"] for v in order.valves_to_close
    ]
    assert isolation["valve_count"] == len(order.valves_to_close) > 0
    assert isolation["closed_valve_count"] == 0
    assert (
        len(isolation["customers"]["features"]) == isolation["customer_count"] == order.isolation["customers"]["count"]
    )
    assert {a["properties"]["symbol"] for a in body["annotations"]["features"]} == {"command_post", "cordon"}
    assert [u["properties"]["status"] for u in body["units"]["features"]] == ["en_route", "en_route"]


def test_the_declared_shape_refuses_the_old_one(api, gas_leak):
    """The schema check can fail: isolated pipes as a bare FeatureCollection where the page reads a list broke it."""
    incident, _order = gas_leak
    body = situation(api, incident)
    body["isolation"][0]["pipes"] = body["isolation"][0]["pipes"]["features"]
    with pytest.raises(jsonschema.ValidationError):
        validate(body, "Situation")


def test_a_valve_reported_closed_reaches_the_situation_and_the_live_feed(api, gas_leak):
    incident, order = gas_leak
    first = order.valves_to_close[0]["id"]
    url = f"/api/pipelines/repair-orders/{order.number}/valves-closed/"
    head = Event.objects.order_by("-seq").values_list("seq", flat=True).first()
    response = api("operator").post(url, {"valve": first}, format="json")
    assert response.status_code == 200, response.content
    validate(response.json(), "RepairOrderMap")
    assert response.json()["closed_valve_count"] == 1 and response.json()["status"] == "isolating"
    [event] = Event.objects.filter(seq__gt=head, topic="pipeline")
    assert event.type == "repair_order.updated" and event.data["properties"]["incident_id"] == incident.pk
    assert api("operator").post(url, {"valve": first}, format="json").json()["closed_valve_count"] == 1  # once
    [isolation] = situation(api, incident)["isolation"]
    closed = {f["id"]: f["properties"]["closed"] for f in isolation["valves"]["features"]}
    assert closed[first] is True and sum(closed.values()) == 1


@pytest.mark.parametrize(
    ("user", "body", "status", "field"),
    [
        ("operator", {"valve": 10**9}, 400, "valve"),
        ("operator", {"valve": "one"}, 400, "valve"),
        ("operator", {}, 400, "valve"),
        ("leader", {"valve": None}, 403, None),
    ],
)
def test_bad_valve_reports_change_nothing(api, gas_leak, user, body, status, field):
    _incident, order = gas_leak
    response = api(user).post(f"/api/pipelines/repair-orders/{order.number}/valves-closed/", body, format="json")
    assert response.status_code == status
    if field:
        assert response.json()["field"] == field
    order.refresh_from_db()
    assert order.closed_valves == [] and order.status == "open"


def test_a_report_for_a_missing_order_is_404(api, gas_leak):
    response = api("operator").post("/api/pipelines/repair-orders/抢修-2000-999999/valves-closed/", {"valve": 1})
    assert response.status_code == 404


def test_the_reports_draw_the_isolated_pipes(api, gas_leak, tmp_path):
    incident, order = gas_leak
    query = f"?incident={incident.pk}"
    page = api("leader").get(f"/api/leader/reports/situation.html{query}").content.decode()
    for cause in ("isolated", "outage"):
        for pipe in order.isolation[cause]["pipes"]["features"]:
            assert json.dumps(pipe["properties"]["code"]) in page
    png = api("leader").get(f"/api/leader/reports/situation.png{query}")
    assert png.status_code == 200
    (tmp_path / "map.png").write_bytes(png.content)
    pdf = api("leader").get(f"/api/leader/reports/situation.pdf{query}")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    (tmp_path / "map.pdf").write_bytes(pdf.content)
    for picture in (tmp_path / "map.png", pdf_first_page(tmp_path / "map.pdf")):
        assert colour_pixels(picture) > 20, picture.name


def test_the_bursts_layer_draws_the_orders_pipes(api, gas_leak):
    _incident, order = gas_leak
    layer = api("leader").get("/api/leader/layers/bursts/?period=today").json()
    codes = {p["properties"]["code"] for p in layer["pipes"] if p["properties"]["order"] == order.number}
    assert codes == {f["properties"]["code"] for f in order.isolation["isolated"]["pipes"]["features"]} | {
        f["properties"]["code"] for f in order.isolation["outage"]["pipes"]["features"]
    }
