"""An Open311 GeoReport v2 client sequence: discovery, services, a service definition, POST a request, GET it."""

import io
import xml.etree.ElementTree as ET

import pytest
from django.test import Client
from PIL import Image

from core.models import AdminArea
from gis.models import Address
from grid.demo import DEMO_OPEN311_KEY
from grid.models import Case

pytestmark = pytest.mark.django_db


@pytest.fixture
def spot(demo_city):
    return AdminArea.objects.filter(level="community").order_by("-code").first().geom.point_on_surface


def test_client_sequence(spot):
    client = Client()  # anonymous, like an outside 311 app
    discovery = client.get("/open311/v2/discovery.json").json()
    endpoint = discovery["endpoints"][0]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    base = endpoint["url"]
    assert base.endswith("/open311/v2/")

    services = client.get(f"{base}services.json").json()
    garbage = next(s for s in services if s["service_name"] == "暴露垃圾")
    assert {"service_code", "service_name", "description", "metadata", "type", "keywords", "group"} <= set(garbage)
    assert garbage["group"] == "市容环境类" and garbage["type"] == "realtime"
    definition = client.get(f"{base}services/{garbage['service_code']}.json").json()
    assert definition["service_code"] == garbage["service_code"]
    assert definition["attributes"][0]["code"] == "component_ident"

    photo = io.BytesIO()
    Image.new("RGB", (16, 16), (1, 2, 3)).save(photo, "PNG")
    photo.seek(0)
    photo.name = "rubbish.png"
    created = client.post(
        f"{base}requests.json",
        {
            "api_key": DEMO_OPEN311_KEY,
            "service_code": garbage["service_code"],
            "lat": spot.y,
            "long": spot.x,
            "address_string": "莲花路 18 号",
            "description": "小区门口垃圾堆了三天",
            "first_name": "张",
            "last_name": "三",
            "email": "zhangsan@example.cn",
            "media": photo,
        },
    )
    assert created.status_code == 201, created.content
    number = created.json()[0]["service_request_id"]
    assert created.json()[0]["service_notice"]

    found = client.get(f"{base}requests/{number}.json").json()
    assert len(found) == 1
    request = found[0]
    assert request["service_request_id"] == number and request["status"] == "open"
    assert request["service_code"] == garbage["service_code"]
    assert abs(request["lat"] - spot.y) < 1e-6 and abs(request["long"] - spot.x) < 1e-6
    assert request["address_id"] and len(request["address_id"]) == 15  # the unit grid
    assert request["media_url"] and client.get(request["media_url"]).status_code == 200
    listed = client.get(f"{base}requests.json", {"service_code": garbage["service_code"], "status": "open"}).json()
    assert number in [r["service_request_id"] for r in listed]
    case = Case.objects.get(number=number)
    assert case.channel == "open311" and case.stage == "reported" and case.reporter is None
    assert case.reporter_contact["name"] == "张 三"

    xml = client.get(f"{base}requests/{number}.xml")
    assert xml["Content-Type"].startswith("text/xml")
    assert ET.fromstring(xml.content).find("request/service_request_id").text == number  # noqa: S314 - our own reply


def test_refusals_are_spec_errors(spot):
    client = Client()
    before = Case.objects.count()
    no_key = client.post("/open311/v2/requests.json", {"service_code": "06010", "lat": spot.y, "long": spot.x})
    assert no_key.status_code == 403 and no_key.json()[0]["code"] == 403
    unknown = client.post(
        "/open311/v2/requests.json",
        {"api_key": DEMO_OPEN311_KEY, "service_code": "nope", "lat": spot.y, "long": spot.x},
    )
    assert unknown.status_code == 400 and "category_code" in unknown.json()[0]["description"]
    far = client.post(
        "/open311/v2/requests.json", {"api_key": DEMO_OPEN311_KEY, "service_code": "06010", "lat": 39.9, "long": 116.4}
    )
    assert far.status_code == 400 and "outside the city" in far.json()[0]["description"]
    assert Case.objects.count() == before
    assert client.get("/open311/v2/requests/nope.json").status_code == 404


def test_the_public_sees_only_the_channels_the_city_publishes(spot, api, settings):
    inspector_report = api("inspector").post(
        "/api/grid/cases/",
        {
            "category_code": "06010",
            "description": "内部巡查",
            "location": {"type": "Point", "coordinates": [spot.x, spot.y]},
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY="internal-1",
    )
    number = inspector_report.json()["properties"]["number"]
    client = Client()
    assert client.get(f"/open311/v2/requests/{number}.json").status_code == 404  # as if it did not exist
    listed = client.get("/open311/v2/requests.json").json()
    assert number not in {r["service_request_id"] for r in listed}
    assert {Case.objects.get(number=r["service_request_id"]).channel for r in listed} <= {"open311"}
    settings.CITYOPS_OPEN311_PUBLIC_CHANNELS = ["open311", "inspector"]
    assert client.get(f"/open311/v2/requests/{number}.json").status_code == 200


def test_a_request_with_only_an_address_is_placed_at_that_door_or_refused(demo_city):
    """GeoReport v2 allows address_string instead of lat/long: a door the city knows is located; a road without a
    number, an unknown address or no place at all is a 400 that files nothing."""
    door = Address.objects.filter(building="").order_by("pk").first()
    client = Client()
    post = {"api_key": DEMO_OPEN311_KEY, "service_code": "06010", "description": "门口路面破损"}
    created = client.post("/open311/v2/requests.json", {**post, "address_string": f"{door.road_name}{door.number}号"})
    assert created.status_code == 201, created.content
    case = Case.objects.get(number=created.json()[0]["service_request_id"])
    assert case.geom.distance(door.geom) < 1e-7 and case.address == f"{door.road_name}{door.number}号"
    before = Case.objects.count()
    for address, field in [(door.road_name, "address_string"), ("火星路1号", "address_string"), ("", "lat/long")]:
        refused = client.post("/open311/v2/requests.json", {**post, "address_string": address})
        assert refused.status_code == 400 and field in refused.json()[0]["description"], (address, refused.content)
    assert Case.objects.count() == before
