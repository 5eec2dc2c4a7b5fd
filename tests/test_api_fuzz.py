"""Schemathesis — a property-based API fuzzer nobody here wrote — over every operation of /api/schema/, signed in
as several roles, against the real server on the test database: no 5xx, and every answer in its declared shape.

A fixed seed keeps CI repeatable; change it (or raise --max-examples) locally to search further.
"""

import subprocess
import sys
from pathlib import Path

import pytest
import requests
from django.conf import settings

pytestmark = pytest.mark.django_db(transaction=True)  # what the fuzzer writes is flushed afterwards

SCHEMATHESIS = Path(sys.executable).with_name("st")
SEED = "20261206"


def session_headers(base_url: str, username: str) -> list[str]:
    """Headers of a browser session signed in through the login form: cookie, CSRF token, same-origin referer."""
    session = requests.Session()
    session.get(f"{base_url}/login/", timeout=30)
    form = {"username": username, "password": settings.CITYOPS_DEMO_PASSWORD}
    form["csrfmiddlewaretoken"] = session.cookies["csrftoken"]
    session.post(f"{base_url}/login/", data=form, headers={"Referer": f"{base_url}/login/"}, timeout=30)
    cookie = "; ".join(f"{name}={value}" for name, value in session.cookies.items())
    return [f"Cookie: {cookie}", f"X-CSRFToken: {session.cookies['csrftoken']}", f"Referer: {base_url}/"]


@pytest.mark.timeout(900)  # two examples of every operation: it grows with the API (admin's ~300 s at 2 cores)
@pytest.mark.parametrize("username", ["admin", "calltaker", "inspector"])
def test_the_fuzzer_finds_no_server_error_and_no_answer_outside_the_schema(asgi_server, demo_city, username):
    command = [str(SCHEMATHESIS), "run", f"{asgi_server}/api/schema/?format=json"]
    for header in session_headers(asgi_server, username):
        command += ["-H", header]
    command += ["--checks", "not_a_server_error,response_schema_conformance", "--max-examples", "2", "--seed", SEED]
    result = subprocess.run(command, capture_output=True, text=True, timeout=900, check=False)
    # The failures themselves (each operation and its answer), not the warnings that follow them.
    failures = result.stdout.find("FAILURES")
    assert result.returncode == 0, result.stdout[failures : failures + 8000] if failures >= 0 else result.stdout[-6000:]
