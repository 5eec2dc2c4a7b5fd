"""Input an attacker or a broken client sends: never a 500. What cannot be served is a 400 naming the field; what
can be (400 ORs, deep parentheses, a period from year 1 to 9999) is answered. Each row is one real API request."""

import io
import re
import xml.etree.ElementTree as ET
import zipfile
from urllib.parse import urlencode

import geopandas as gpd
import pytest
import shapely

from core.models import AdminArea
from grid.demo import DEMO_OPEN311_KEY
from grid.models import Case

pytestmark = pytest.mark.django_db

MANY_ORS = " OR ".join(f"lanes = {i}" for i in range(400))
DEEP = "(" * 300 + "lanes = 1" + ")" * 300

# (user or None for anonymous, path, the field a 400 names — or None: any answer but a 5xx)
HOSTILE = [
    ("planner", "/ogcapi/collections/roads/items?bbox=nan,22,114.1,22.6", "bbox"),
    ("planner", "/ogcapi/collections/roads/items?bbox=114,22,inf,22.6", "bbox"),
    ("planner", "/api/gis/layers/roads/export/?f=geojson&bbox=nan,1,2,3", "bbox"),
    ("planner", "/ogcapi/collections/roads/items/99999999999999999999999", None),
    ("planner", "/ogcapi/collections/roads/items/-1", None),
    ("planner", f"/ogcapi/collections/roads/items?filter={MANY_ORS}", None),
    ("planner", f"/ogcapi/collections/roads/items?filter={DEEP}", None),
    ("planner", f"/api/gis/layers/roads/stats/?by=district&filter={MANY_ORS}", None),
    ("operator", "/ogcapi/collections/incidents/items?datetime=0001-01-01T00:00:00Z/9999-12-31T23:59:59Z", None),
    ("leader", "/api/leader/layers/incidents/?from=0001-01-01&to=0001-01-31", "from"),
    ("leader", "/api/leader/layers/incidents/?from=9999-12-01&to=9999-12-31", "from"),
    ("leader", "/api/leader/summary/?from=9999-12-01&to=9999-12-31", "from"),
    ("calltaker", "/api/dispatch/vehicles/1/track/?from=9999-12-30T00:00:00Z&to=9999-12-31T00:00:00Z", None),
    ("griddispatcher", "/api/grid/cases/?bbox=nan,1,2,3", None),
    ("griddispatcher", "/api/grid/cases/99999999999999999999999/", None),
    ("griddispatcher", "/api/grid/kpis/?from=0001-01-01&to=0001-12-31", None),
    (None, "/open311/v2/requests.json?start_date=9999-12-31T23:59:59Z", None),
]


@pytest.mark.parametrize(("user", "path", "field"), HOSTILE)
def test_hostile_input_is_never_a_500(api, client, demo_city, user, path, field):
    response = (api(user) if user else client).get(path)
    assert response.status_code < 500, (response.status_code, response.content[:300])
    if field:
        assert response.status_code == 400 and response.json()["field"] == field


def test_a_form_of_too_many_fields_is_a_400(api, demo_city, settings):
    """More fields than DATA_UPLOAD_MAX_NUMBER_FIELDS (a form repeating one list field, as a fuzzer sends it)."""
    fields = [("confirmed_item_ids", str(n)) for n in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1)]
    body = urlencode(fields)
    response = api("operator").post("/api/duty/sessions/1/hand-over/", body,
                                    content_type="application/x-www-form-urlencoded")  # fmt: skip
    assert response.status_code == 400 and "DATA_UPLOAD_MAX_NUMBER_FIELDS" in response.json()["detail"]


@pytest.mark.parametrize("body", [[None, None], "text", 42])
def test_a_body_that_is_not_an_object_is_a_400(api, demo_city, body):
    response = api("gridclerk").post("/api/grid/cases/", body, format="json", HTTP_IDEMPOTENCY_KEY="not-an-object")
    assert response.status_code == 400 and response.json()["field"] == "body"


def test_an_unreadable_import_says_why_without_the_servers_paths(api, demo_city, settings):
    upload = io.BytesIO()
    with zipfile.ZipFile(upload, "w") as archive:  # a shapefile whose files are not what they say
        for part in ("roads.shp", "roads.shx", "roads.dbf"):
            archive.writestr(part, bytes(range(256)) * 4)
    upload.seek(0)
    upload.name = "roads.zip"
    response = api("planner").post("/api/gis/imports/", {"file": upload}, format="multipart")
    assert response.status_code == 400 and response.json()["field"] == "file", response.content
    detail = response.json()["detail"]
    assert not re.search(r"/(tmp|var|work|home|root)/", detail) and str(settings.ROOT_DIR) not in detail


CONTROLS = ["垃圾\x00堆", "垃圾\x01\x0b\x1f堆", "\x7f"]


@pytest.mark.parametrize("text", CONTROLS)
def test_control_characters_in_a_json_body_are_a_400_naming_the_field_and_store_nothing(api, demo_city, text):
    before = Case.objects.count()
    body = {"category_code": "06010", "description": "门口", "reporter_contact": {"name": text}}
    response = api("gridclerk").post("/api/grid/cases/", body, format="json", HTTP_IDEMPOTENCY_KEY=f"c-{text!r}")
    assert response.status_code == 400 and response.json()["field"] == "reporter_contact.name", response.content
    assert Case.objects.count() == before


@pytest.mark.parametrize("text", CONTROLS)
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_control_characters_sent_to_open311_are_a_400_in_its_format_and_store_nothing(client, demo_city, text, fmt):
    spot = AdminArea.objects.filter(level="community").order_by("code").first().geom.point_on_surface
    before = Case.objects.count()
    body = {"api_key": DEMO_OPEN311_KEY, "service_code": "06010", "lat": spot.y, "long": spot.x, "description": text}
    response = client.post(f"/open311/v2/requests.{fmt}", body)
    assert response.status_code == 400, response.content
    assert b"description" in response.content and b"\x00" not in response.content
    assert Case.objects.count() == before


def test_open311_xml_stays_well_formed_whatever_text_was_stored(client, demo_city):
    """Text stored by a path other than the API (an import, the admin) cannot break the XML answer."""
    case = Case.objects.filter(channel=Case.Channel.OPEN311).first() or Case.objects.first()
    Case.objects.filter(pk=case.pk).update(channel=Case.Channel.OPEN311, description="门口\x01垃圾\x1f堆")
    answer = client.get(f"/open311/v2/requests/{case.number}.xml")
    assert answer.status_code == 200
    assert ET.fromstring(answer.content).find("request/description").text == "门口垃圾堆"  # noqa: S314 - our own


@pytest.mark.parametrize("path", ["/api/grid/cases/?status=%00", "/ogcapi/collections/roads/items?filter=a=%01"])
def test_a_control_character_in_a_query_string_is_a_400_naming_the_parameter(api, demo_city, path):
    response = api("griddispatcher").get(path)
    assert response.status_code == 400 and response.json()["field"] in ("status", "filter"), response.content


def test_a_shapefile_whose_prj_lies_keeps_nothing_and_says_why(api, demo_city, tmp_path, settings):
    """Metres declared as degrees: every row is out of range, reported row by row, nothing kept."""
    settings.VAR_DIR = tmp_path / "var"
    folder = tmp_path / "lying"
    folder.mkdir()
    gpd.GeoDataFrame({"n": [1, 2]}, geometry=[shapely.Point(500_000, 2_493_000), shapely.Point(501_000, 2_494_000)],
                     crs=4326).to_file(folder / "lying.shp")  # fmt: skip
    upload = io.BytesIO()
    with zipfile.ZipFile(upload, "w") as archive:
        for part in folder.iterdir():
            archive.write(part, part.name)
    upload.seek(0)
    upload.name = "lying.zip"
    report = api("planner").post("/api/gis/imports/", {"file": upload}, format="multipart")
    assert report.status_code == 201, report.content
    assert report.json()["features_kept"] == 0
    assert {p["problem"] for p in report.json()["problems"]} == {"out_of_range"}
