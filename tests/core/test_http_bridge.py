"""The HTTP bridge (core.http_bridge) behind the real uvicorn server: bodies, streamed files, and per-thread caches."""

import json

import pytest
import redis
import requests
from django.conf import settings

from gis.models import Road

pytestmark = pytest.mark.django_db
PASSWORD = "cityops-demo"


@pytest.fixture
def browser(asgi_server, demo_city):
    """A requests session signed in as the planner through the login form, as a browser is."""
    session = requests.Session()
    session.get(f"{asgi_server}/login/", timeout=30)
    token = session.cookies["csrftoken"]
    signed_in = session.post(
        f"{asgi_server}/login/",
        data={"username": "planner", "password": PASSWORD, "csrfmiddlewaretoken": token},
        allow_redirects=False,
        timeout=30,
    )
    assert signed_in.status_code == 302 and "sessionid" in session.cookies
    # Signing in rotates the CSRF token.
    session.headers.update({"X-CSRFToken": session.cookies["csrftoken"], "Referer": f"{asgi_server}/planner/"})
    return session


def test_a_chunked_body_without_content_length_reaches_the_view(asgi_server, browser):
    """A request body sent in chunks (no Content-Length) arrives whole: the bridge says how much arrived."""
    body = json.dumps({"geometry": {"type": "Point", "coordinates": [116.4, 39.9]}, "target_crs": "gcj02"}).encode()
    response = browser.post(
        f"{asgi_server}/api/gis/transform/",
        data=(body[i : i + 7] for i in range(0, len(body), 7)),  # a generator: requests sends it chunked
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    assert response.request.headers.get("Transfer-Encoding") == "chunked"
    assert response.status_code == 200, response.text
    lon, lat = response.json()["geometry"]["coordinates"]
    assert 0.001 < abs(lon - 116.4) < 0.01 and 0.0005 < abs(lat - 39.9) < 0.01  # GCJ-02 shifts by a few hundred m


def test_an_exported_file_streams_whole_over_http(asgi_server, browser):
    """A FileResponse (streaming) is relayed chunk by chunk from its thread and arrives complete."""
    response = browser.get(f"{asgi_server}/api/gis/layers/roads/export/", params={"f": "geojson"}, timeout=60)
    assert response.status_code == 200, response.text[:300]
    assert "attachment" in response.headers["Content-Disposition"]
    features = json.loads(response.content)["features"]
    assert len(features) == Road.objects.count() > 0


def test_requests_do_not_open_a_redis_connection_each(asgi_server, browser):
    """Sessions live in Redis; the cache client (and its connections) lasts for the server's thread, not one
    request. Copying the loop's context into each request once made every request connect to Redis anew."""
    server = redis.Redis.from_url(settings.REDIS_URL)
    browser.get(f"{asgi_server}/api/core/me/", timeout=30)  # the thread's first session read connects once
    before = server.info("stats")["total_connections_received"]
    for _ in range(30):
        assert browser.get(f"{asgi_server}/api/core/me/", timeout=30).status_code == 200
    opened = server.info("stats")["total_connections_received"] - before
    assert opened <= 2, f"30 signed-in requests opened {opened} Redis connections"
