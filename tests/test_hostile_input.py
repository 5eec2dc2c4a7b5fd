"""Input an attacker or a broken client sends: never a 500. What cannot be served is a 400 naming the field; what
can be (400 ORs, deep parentheses, a period from year 1 to 9999) is answered. Each row is one real API request."""

import io
import re
import zipfile

import pytest

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
