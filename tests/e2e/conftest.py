"""Real-browser fixtures: Debian's Chromium driven by Playwright (sync API) against the `asgi_server` fixture.

Every page records the requests and WebSockets it opens; a test fails at teardown if any of them left
the machine, because CityOps runs on an offline intranet.
"""

import os
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import sync_playwright

from tests.conftest import DEMO_PASSWORD

# Playwright's sync API keeps its asyncio loop registered on the main thread, so Django would refuse
# ORM calls from fixtures (e.g. `demo_city`) there. That loop only ever runs the browser driver,
# never Django code, which is the case this switch exists for.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--enable-unsafe-swiftshader",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


def is_local(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in {"data", "blob", "about"} or parts.hostname in LOCAL_HOSTS


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    """A fresh browser profile per test, as a Chinese-language workstation at wall resolution.

    `page.requests` lists every URL the page asked for (WebSockets included), `page.errors` every
    console error and uncaught exception.
    """
    context = browser.new_context(locale="zh-CN", viewport={"width": 1920, "height": 1080})
    page = context.new_page()
    page.requests, page.errors = [], []
    page.on("request", lambda request: page.requests.append(request.url))
    page.on("websocket", lambda ws: page.requests.append(ws.url))
    page.on("console", lambda message: message.type == "error" and page.errors.append(message.text))
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    yield page
    context.close()
    external = [url for url in page.requests if not is_local(url)]
    assert not external, f"the page reached outside the intranet: {external}"


@pytest.fixture
def login():
    """login(page, base_url, username): signs in through the real login form and waits for the home page."""

    def sign_in(page, base_url: str, username: str):
        page.goto(f"{base_url}/login/")
        page.fill("#id_username", username)
        page.fill("#id_password", DEMO_PASSWORD)
        page.click("form.login-card button[type=submit]")
        page.wait_for_url(f"{base_url}/")

    return sign_in
