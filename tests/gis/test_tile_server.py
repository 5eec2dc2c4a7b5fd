"""Vector tiles on the event loop (gis.tile_server): served without Django only for a viewer Django verified, with
Django's answer, and never for a session that has ended.

In-process tests drive the ASGI app with Django's real HTTP bridge behind it, watched by a spy that records which
requests reached Django; one test goes through the real uvicorn server and the login form.
"""

import asyncio

import pytest
import requests
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.http_bridge import DjangoHTTP
from gis import tiles
from gis.tile_server import VectorTiles

from ..asgi_scope import http_scope
from .mvt import decode
from .test_tiles import tile_of

pytestmark = pytest.mark.django_db
PASSWORD = "cityops-demo"


class ReachedDjango:
    """The ASGI app behind the tile server, recording the paths it was asked for."""

    def __init__(self):
        self.app = DjangoHTTP(threads=2)
        self.paths: list[str] = []

    async def __call__(self, scope, receive, send):
        self.paths.append(scope["path"])
        await self.app(scope, receive, send)


async def fetch(app, path: str, cookie: str, *headers: tuple[bytes, bytes]):
    """(status, headers, body) of GET `path` sent to the ASGI `app`."""
    scope = http_scope("GET", path, [(b"cookie", cookie.encode()), *headers])
    sent = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    await app(scope, receive, send)
    return sent[0]["status"], dict(sent[0]["headers"]), b"".join(m.get("body", b"") for m in sent[1:])


def run(scenario):
    """Run `scenario(server, django)` on one event loop with a fresh tile server in front of Django."""
    django = ReachedDjango()

    async def main():
        server = VectorTiles(django)
        try:
            return await scenario(server, django)
        finally:
            await server.aclose()

    return asyncio.run(main())


def session_cookie(client) -> str:
    return f"sessionid={client.cookies['sessionid'].value}"


def sign_out(client) -> None:
    """Sign out from a thread of the loop's executor, closing that thread's database connection afterwards."""
    try:
        client.logout()
    finally:
        connection.close()


def test_a_verified_viewer_gets_django_s_answer_from_the_event_loop(api):
    cookie = session_cookie(api("planner"))
    x, y = tile_of(114.05, 22.54, 14)
    path = f"/tiles/roads/14/{x}/{y}.pbf"
    tiles.bump(*tiles.tables_of(tiles.layers.get("roads")))

    async def scenario(server, django):
        first = await fetch(server, path, cookie)  # unknown viewer: Django verifies (and renders)
        assert django.paths == [path]
        tiles.bump(*tiles.tables_of(tiles.layers.get("roads")))  # rendered again, on the loop this time
        second = await fetch(server, path, cookie)
        again = await fetch(server, path, cookie, (b"if-none-match", second[1][b"etag"]))
        assert django.paths == [path]  # neither reached Django
        return first, second, again

    first, second, again = run(scenario)
    assert first[0] == second[0] == 200 and second[1][b"content-type"] == tiles.MVT.encode()
    assert second[2] == first[2]
    assert decode(second[2])["roads"]["features"]
    assert second[1][b"etag"] != first[1][b"etag"]  # the roads' version changed in between
    for name in (b"cache-control", b"vary", b"x-content-type-options", b"x-frame-options", b"referrer-policy"):
        assert second[1][name] == first[1][name], name
    assert again[0] == 304 and again[2] == b""


def test_a_tile_rendered_on_the_loop_is_in_the_cache_django_reads(api):
    client = api("planner")
    x, y = tile_of(114.05, 22.54, 15)
    path = f"/tiles/roads/15/{x}/{y}.pbf"

    async def scenario(server, django):
        await fetch(server, f"/tiles/roads/12/{x // 8}/{y // 8}.pbf", session_cookie(client))  # Django verifies
        tiles.bump(*tiles.tables_of(tiles.layers.get("roads")))
        answer = await fetch(server, path, session_cookie(client))
        assert django.paths == [f"/tiles/roads/12/{x // 8}/{y // 8}.pbf"]
        return answer

    status, headers, body = run(scenario)
    assert status == 200
    with CaptureQueriesContext(connection) as queries:
        cached = client.get(path)
    assert cached.content == body and cached["ETag"] == headers[b"etag"].decode()
    assert not [q for q in queries.captured_queries if "ST_AsMVT" in q["sql"]]


def test_an_ended_session_and_a_hidden_layer_are_left_to_django(api):
    planner, inspector = api("planner"), api("inspector")
    x, y = tile_of(114.05, 22.54, 12)
    roads, pipes = f"/tiles/roads/12/{x}/{y}.pbf", f"/tiles/water-pipes/12/{x}/{y}.pbf"

    async def scenario(server, django):
        assert (await fetch(server, roads, session_cookie(planner)))[0] == 200
        assert (await fetch(server, roads, session_cookie(inspector)))[0] == 200
        hidden = [(await fetch(server, pipes, session_cookie(inspector)))[0] for _ in range(2)]
        cookie = session_cookie(planner)
        await asyncio.to_thread(sign_out, planner)
        ended = await fetch(server, roads, cookie)
        bad = await fetch(server, f"/tiles/roads/12/{2**12}/0.pbf", session_cookie(inspector))
        return django.paths, hidden, ended, bad

    paths, hidden, ended, bad = run(scenario)
    assert hidden == [404, 404] and paths.count(pipes) == 2  # a layer the inspector may not read: Django each time
    assert ended[0] == 403 and paths[-2] == roads  # signed out: refused at once, by Django
    assert bad[0] == 400 and paths[-1].endswith(f"/{2**12}/0.pbf")


def test_when_redis_fails_tiles_go_to_django_and_keep_coming(api, settings, monkeypatch):
    """A Redis error sends the request on to Django and rests the tile cache, so the next tiles do not wait for
    Redis's timeout first: the map keeps drawing (rendered each time) until Redis is back."""
    monkeypatch.setattr(tiles, "_redis_down_until", 0.0)  # restored afterwards: the cache works again
    cookie = session_cookie(api("planner"))
    x, y = tile_of(114.05, 22.54, 14)
    path = f"/tiles/roads/14/{x}/{y}.pbf"

    async def scenario(server, django):
        first = await fetch(server, path, cookie)  # Django verifies the viewer
        settings.REDIS_URL = "redis://127.0.0.1:1/0"  # the tile server's own Redis client now fails to connect
        failed = await fetch(server, path, cookie)
        resting = tiles.redis_resting()
        after = await fetch(server, path, cookie)
        return first, failed, resting, after, list(django.paths)

    first, failed, resting, after, paths = run(scenario)
    assert first[0] == failed[0] == after[0] == 200
    assert failed[2] == after[2] == first[2]
    assert resting and paths == [path, path, path]


def test_over_http_a_tile_is_the_same_before_and_after_the_server_knows_the_viewer(asgi_server, demo_city):
    browser = requests.Session()
    browser.get(f"{asgi_server}/login/", timeout=30)
    form = {"username": "planner", "password": PASSWORD, "csrfmiddlewaretoken": browser.cookies["csrftoken"]}
    assert browser.post(f"{asgi_server}/login/", data=form, allow_redirects=False, timeout=30).status_code == 302
    x, y = tile_of(114.05, 22.54, 14)
    url = f"{asgi_server}/tiles/basemap/14/{x}/{y}.pbf"
    answers = [browser.get(url, timeout=30) for _ in range(3)]
    assert {a.status_code for a in answers} == {200}
    assert len({a.content for a in answers}) == 1 and len({a.headers["ETag"] for a in answers}) == 1
    assert {"roads", "streets"} <= set(decode(answers[-1].content))
    session = browser.cookies["sessionid"]
    signed_out = browser.post(f"{asgi_server}/logout/", data={"csrfmiddlewaretoken": browser.cookies["csrftoken"]})
    assert signed_out.status_code in (200, 302)
    assert requests.get(url, cookies={"sessionid": session}, timeout=30).status_code == 403  # the old cookie too
