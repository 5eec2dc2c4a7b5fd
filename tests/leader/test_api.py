"""The decision-map API on the real PostGIS: who may see it, scope by jurisdiction, bad input, incident
density, the situation map and its drawn symbols."""

import pytest

from core.models import AdminArea, Event
from dispatch import services as dispatch_services
from dispatch.models import IncidentType
from gis.models import Address
from leader.models import Annotation

pytestmark = pytest.mark.django_db

OWN_DISTRICT = "440304"  # the district leader's (core/demo.py)


@pytest.fixture
def districts(demo_city):
    own = AdminArea.objects.get(code=OWN_DISTRICT)
    other = AdminArea.objects.filter(level=AdminArea.Level.DISTRICT).exclude(pk=own.pk).first()
    return own, other


def incident_in(district, user, type_code="119-FIRE-BUILDING"):
    where = Address.objects.filter(geom__within=district.geom).order_by("pk").first().geom
    return dispatch_services.create_incident(
        user, incident_type=IncidentType.objects.get(code=type_code), point=where, confirm_new=True
    )


def square_around(point, half=0.002) -> dict:
    x, y = point.x, point.y
    ring = [
        [x - half, y - half],
        [x + half, y - half],
        [x + half, y + half],
        [x - half, y + half],
        [x - half, y - half],
    ]
    return {"type": "Polygon", "coordinates": [ring]}


@pytest.mark.parametrize("username", ["operator", "calltaker", "planner", "inspector"])
def test_only_leaders_and_admins_open_the_decision_maps(api, username):
    client = api(username)
    assert client.get("/api/leader/layers/incidents/").status_code == 403
    assert client.get("/leader/").status_code == 403


def test_anonymous_visitors_get_nothing(client, demo_city):
    assert client.get("/api/leader/layers/incidents/").status_code in (401, 403)
    assert client.get("/leader/").status_code == 302  # to the login page


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("period=custom&from=2026-03-02&to=2026-03-01", "to"),  # an empty period
        ("from=2016-01-01&to=2025-12-31", "to"),  # ten years
        ("period=decade", "period"),
        ("period=custom&to=2026-01-01", "from"),
        ("metric=mood", "metric"),
        ("by=planet", "by"),
        ("agency=911", "agency"),
        ("area=999999", "area"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(api, query, field):
    response = api("leader").get(f"/api/leader/layers/cases/?{query}")
    assert response.status_code == 400, response.content
    assert response.json()["error"] == "invalid_input" and response.json()["field"] == field


def test_unknown_layer_and_trend_are_400(api):
    assert api("leader").get("/api/leader/layers/weather/").json()["field"] == "layer"
    assert api("leader").get("/api/leader/trends/weather/").json()["field"] == "indicator"


def test_a_district_leader_cannot_see_another_district_and_cannot_tell_if_it_exists(api, districts):
    own, other = districts
    client = api("districtleader")
    for code in (other.code, "999999"):
        response = client.get(f"/api/leader/layers/incidents/?area={code}")
        assert response.status_code == 403
        assert response.json() == {"error": "permission_denied", "detail": f"area {code} is outside your jurisdiction"}
    assert client.get(f"/api/leader/layers/incidents/?area={own.code}").status_code == 200
    street = own.children.first()  # inside the district, but not a level the indicators are kept for
    assert client.get(f"/api/leader/summary/?area={street.code}").json()["field"] == "area"


def test_incident_density_counts_the_period_and_respects_the_jurisdiction(api, user_for, districts):
    own, other = districts
    mine = incident_in(own, user_for("calltaker"))
    theirs = incident_in(other, user_for("calltaker"), "110-THEFT")
    city = api("leader").get("/api/leader/layers/incidents/?period=today").json()
    assert {mine.pk, theirs.pk} <= {f["id"] for f in city["features"]}
    district = api("districtleader").get("/api/leader/layers/incidents/?period=today").json()
    assert mine.pk in {f["id"] for f in district["features"]}
    assert theirs.pk not in {f["id"] for f in district["features"]}
    fire = {
        f["id"] for f in api("leader").get("/api/leader/layers/incidents/?period=today&agency=119").json()["features"]
    }
    assert mine.pk in fire and theirs.pk not in fire
    last_year = api("leader").get("/api/leader/layers/incidents/?from=2025-01-01&to=2025-01-31").json()
    assert not {mine.pk, theirs.pk} & {f["id"] for f in last_year["features"]}


def test_symbols_drawn_on_the_situation_map_are_stored_published_and_shown(api, user_for, districts):
    own, _other = districts
    incident = incident_in(own, user_for("calltaker"))
    url = f"/api/leader/incidents/{incident.pk}/annotations/"
    drawn = api("leader").post(
        url, {"symbol": "hazard_area", "geometry": square_around(incident.geom), "label": "燃气泄漏区"}, format="json"
    )
    assert drawn.status_code == 201, drawn.json()
    event = Event.objects.filter(topic="incidents", type="situation.annotation_added").last()
    assert event.data["id"] == drawn.json()["id"] and event.orgs  # only the incident's agencies (and leaders) see it
    post = {"type": "Point", "coordinates": [incident.geom.x + 0.001, incident.geom.y]}
    assert api("leader").post(url, {"symbol": "command_post", "geometry": post}, format="json").status_code == 201

    situation = api("districtleader").get(f"/api/leader/incidents/{incident.pk}/situation/").json()
    assert situation["incident"]["id"] == incident.pk
    assert [f["properties"]["symbol"] for f in situation["annotations"]["features"]] == ["hazard_area", "command_post"]
    assert [entry["type"] for entry in situation["timeline"]][:2] == ["call", "created"]
    assert situation["population"]["areas"] or not situation["population"]["available"]

    refused = api("districtleader").delete(f"{url}{drawn.json()['id']}/")  # another leader's cordon
    assert refused.status_code == 403 and "领导 周华" in refused.json()["detail"]
    assert Annotation.objects.filter(incident_id=incident.pk).count() == 2
    removed = api("leader").delete(f"{url}{drawn.json()['id']}/")  # by whoever drew it
    assert removed.status_code == 204
    assert Annotation.objects.filter(incident_id=incident.pk).count() == 1
    assert api("admin").delete(f"{url}{situation['annotations']['features'][1]['id']}/").status_code == 204


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"symbol": "tank", "geometry": {"type": "Point", "coordinates": [114.05, 22.54]}}, "symbol"),
        (
            {"symbol": "command_post", "geometry": {"type": "LineString", "coordinates": [[114, 22], [114.1, 22]]}},
            "geometry",
        ),
        ({"symbol": "hazard_area", "geometry": {"type": "Point", "coordinates": [200, 22.54]}}, "geometry"),
        ({"symbol": "cordon"}, "geometry"),
        (
            {
                "symbol": "water_source",
                "geometry": {"type": "Point", "coordinates": [114.05, 22.54]},
                "label": "x" * 101,
            },
            "label",
        ),
    ],
)
def test_bad_symbols_are_refused_and_nothing_is_stored(api, user_for, districts, body, field):
    incident = incident_in(districts[0], user_for("calltaker"))
    response = api("leader").post(f"/api/leader/incidents/{incident.pk}/annotations/", body, format="json")
    assert response.status_code == 400 and response.json()["field"] == field
    assert not Annotation.objects.filter(incident_id=incident.pk).exists()


def test_a_district_leader_gets_404_for_an_incident_elsewhere(api, user_for, districts):
    _own, other = districts
    incident = incident_in(other, user_for("calltaker"), "110-THEFT")
    client = api("districtleader")
    assert client.get(f"/api/leader/incidents/{incident.pk}/situation/").status_code == 404
    assert client.get("/api/leader/incidents/987654321/situation/").status_code == 404
    post = {"symbol": "command_post", "geometry": {"type": "Point", "coordinates": [incident.geom.x, incident.geom.y]}}
    assert client.post(f"/api/leader/incidents/{incident.pk}/annotations/", post, format="json").status_code == 404
    assert client.get(f"/leader/incidents/{incident.pk}/").status_code == 404
    assert api("leader").get(f"/leader/incidents/{incident.pk}/").status_code == 200
