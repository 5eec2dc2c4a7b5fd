"""Core HTTP surface on the real database: health, schema, areas, locate, bad input, roles, audit."""

import json
import os
import platform
import socket
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import pytest
from django.utils import timezone

from core.geo import from_wgs84
from core.models import AdminArea, AuditEntry, Event

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db



def test_stdlib_platform_module_works_inside_django():
    assert platform.system() == "Linux"
    assert "site-packages" not in platform.__file__ and "/platform/" not in platform.__file__
    assert uuid.uuid4().version == 4


def test_healthz_reports_database_postgis_and_redis(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["database"] == "ok" and body["redis"] == "ok"
    assert body["postgis"].startswith("3.")


def test_livez_answers_from_the_process_alone(client, settings, django_assert_num_queries):
    """The load balancer's check: no database query and no Redis, so a failover of either does not take every
    web node out of the balancer (and cut every console) at once."""
    settings.REDIS_URL = "redis://127.0.0.1:9/0"  # discard port: nothing listens
    with django_assert_num_queries(0):
        response = client.get("/livez")
    assert (response.status_code, response.json()) == (200, {"status": "alive"})
    assert client.get("/healthz").status_code == 503  # the full report still says what is wrong


def test_healthz_says_degraded_when_redis_is_unreachable(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:9/0"  # discard port: nothing listens
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert (body["status"], body["database"], body["redis"]) == ("degraded", "ok", "down")


def test_healthz_answers_within_a_second_when_the_database_does_not(client, settings):
    """A server that accepts connections and never answers (a frozen PostgreSQL): the probe gives up on its own."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen()
    database = settings.DATABASES["default"]
    real_port = database["PORT"]
    database["PORT"] = silent.getsockname()[1]
    answers = []
    try:
        probe = threading.Thread(target=lambda: answers.append(client.get("/healthz")), daemon=True)
        probe.start()
        probe.join(10)  # a hang detector, not a speed test: without its own timeout the probe never returns
    finally:
        database["PORT"] = real_port
        silent.close()
    assert answers, "/healthz hung on a silent database"
    assert answers[0].status_code == 503 and answers[0].json()["database"] == "down"


def test_openapi_schema_and_docs_are_served_locally(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    paths = json.loads(schema.content)["paths"]
    assert {"/api/core/areas/", "/api/core/locate/", "/api/gis/roads/"} <= set(paths)
    docs = client.get("/api/docs/").content.decode()
    assert "swagger-ui" in docs
    assert "https://" not in docs.replace("https://swagger.io", "")


def test_api_refuses_anonymous_users_with_json(client):
    response = client.get("/api/core/areas/")
    assert response.status_code == 403
    assert response.json()["error"] == "not_authenticated"


def test_districts_of_the_demo_city(api):
    response = api("planner").get("/api/core/areas/", {"level": "district"})
    assert response.status_code == 200
    features = response.json()["features"]
    assert {f["properties"]["code"] for f in features} == set(
        AdminArea.objects.filter(level="district").values_list("code", flat=True)
    )
    assert all(f["geometry"]["type"] == "MultiPolygon" for f in features)


def test_locate_converts_gcj02_and_names_the_areas(api):
    district = AdminArea.objects.filter(level="community").first()
    inside = district.geom.point_on_surface
    lon, lat = from_wgs84(inside.x, inside.y, "gcj02")
    response = api("calltaker").get("/api/core/locate/", {"lon": lon, "lat": lat, "crs": "gcj02"})
    assert response.status_code == 200
    body = response.json()
    assert body["geometry"]["coordinates"] == pytest.approx([inside.x, inside.y], abs=1e-6)
    codes = [a["code"] for a in body["areas"]]
    assert district.code in codes and district.parent.code in codes


@pytest.mark.parametrize(
    ("payload", "field", "fragment"),
    [
        ({"geometry": {"type": "Point", "coordinates": [114.05]}}, "geometry", "invalid GeoJSON"),
        ({"geometry": {"type": "Point", "coordinates": [181, 22.5]}}, "geometry", "outside longitude"),
        ({"geometry": {"type": "Point", "coordinates": [114, 22.5]}, "crs": "baidu-mercator"}, "crs", "unknown CRS"),
    ],
)
def test_locate_rejects_bad_input_with_a_clear_400(api, payload, field, fragment):
    response = api("calltaker").post("/api/core/locate/", payload, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "invalid_input" and body["field"] == field and fragment in body["detail"]


def test_locate_query_parameters_must_be_numbers(api):
    response = api("calltaker").get("/api/core/locate/", {"lon": "east", "lat": 22.5})
    assert response.status_code == 400
    assert response.json()["field"] == "lon/lat"


def _square(lon, lat, size=0.001):
    return {
        "type": "Polygon",
        "coordinates": [[[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]],
    }


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"geometry": {"type": "Polygon", "coordinates": [[[114, 22], [114.1, 22]]]}}, "geometry"),
        ({"geometry": _square(114.05, 95)}, "geometry"),
        ({"geometry": _square(114.05, 22.5), "crs": "nowhere"}, "crs"),
        ({"geometry": {"type": "Point", "coordinates": [114.05, 22.5]}}, "geometry"),
        ({"name": ""}, "name"),
    ],
)
def test_bad_area_update_changes_nothing(api, payload, field):
    area = AdminArea.objects.filter(level="district").first()
    before = (area.name, area.geom.wkb)
    client = api("admin")  # signs in first: a sign-in is logged, a refused change must leave no trace
    audits, events = AuditEntry.objects.count(), Event.objects.count()
    response = client.patch(f"/api/core/areas/{area.code}/", payload, format="json")
    assert response.status_code == 400
    assert field in json.dumps(response.json())
    area.refresh_from_db()
    assert (area.name, area.geom.wkb) == before
    assert (AuditEntry.objects.count(), Event.objects.count()) == (audits, events)


def test_area_update_is_admin_only_audited_and_published(api, user_for):
    area = AdminArea.objects.filter(level="community").first()
    assert api("leader").patch(f"/api/core/areas/{area.code}/", {"name": "新社区"}, format="json").status_code == 403
    lon, lat = area.geom.point_on_surface.coords
    response = api("admin").patch(
        f"/api/core/areas/{area.code}/", {"name": "新社区", "geometry": _square(lon, lat)}, format="json"
    )
    assert response.status_code == 200
    area.refresh_from_db()
    assert area.name == "新社区" and area.geom.geom_type == "MultiPolygon"
    audit = AuditEntry.objects.get(target_id=str(area.pk), action="area.update")
    assert audit.actor == user_for("admin") and audit.changes["name"][1] == "新社区"
    event = Event.objects.latest("seq")
    assert (event.topic, event.type, event.data["id"]) == ("areas", "area.updated", area.code)


def test_times_are_stored_in_utc_and_shown_in_shanghai():
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW TIME ZONE")
        assert cursor.fetchone()[0] == "UTC"
    assert timezone.localtime(timezone.now()).utcoffset().total_seconds() == 8 * 3600


def test_admin_map_widget_loads_nothing_from_the_internet(client, user_for):
    client.force_login(user_for("admin"))
    area = AdminArea.objects.filter(level="street").first()
    html = client.get(f"/admin/core/adminarea/{area.pk}/change/").content.decode()
    assert "/static/vendor/ol/dist/ol.js" in html
    assert "ol.source.OSM" not in html and "https://" not in html


def test_interface_is_chinese_whatever_the_browser_asks_until_the_user_switches(client):
    chinese = client.get("/login/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert chinese["Content-Language"] == "zh-hans"
    assert "登录" in chinese.content.decode()
    client.post("/i18n/setlang/", {"language": "en", "next": "/login/"})
    english = client.get("/login/", HTTP_ACCEPT_LANGUAGE="zh-CN")
    assert english["Content-Language"] == "en"
    assert "登录" not in english.content.decode()


def test_me_lists_roles_and_the_topics_they_open(api):
    body = api("inspector").get("/api/core/me/").json()
    assert body["roles"] == ["inspector"] and "cases" in body["topics"] and "incidents" not in body["topics"]


def test_deploy_check_with_production_settings_is_clean():
    env = {
        **os.environ,
        "CITYOPS_ENV": "production",
        "CITYOPS_SECRET_KEY": "x" * 64 + "-production-secret-for-the-check-only",
        "CITYOPS_ALLOWED_HOSTS": "cityops.example.gov.cn",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
