"""Real-browser fixtures: Debian's Chromium driven by Playwright (sync API) against the `asgi_server` fixture.

Every page records the requests and WebSockets it opens; a test fails at teardown if any of them left
the machine, because CityOps runs on an offline intranet.
"""

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from playwright.sync_api import sync_playwright

from .browser import CHROMIUM, CHROMIUM_ARGS

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
E2E_DIR = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items):
    """Browser tests run last: from the first of them to the end of the session, Playwright's sync API
    keeps an asyncio loop running on the main thread, which other tests' ORM and asyncio code cannot share.
    """
    items.sort(key=lambda item: item.path.is_relative_to(E2E_DIR))


@pytest.fixture(scope="session", autouse=True)
def _orm_beside_playwright(asgi_server):
    """Let fixtures and pytest-django use the ORM on the main thread while Playwright's loop runs there.

    That loop only ever drives the browser, never Django code: the case DJANGO_ALLOW_ASYNC_UNSAFE is for.
    Set after `asgi_server` has started, so the server under test keeps Django's async-safety checks.
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


def is_local(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in {"data", "blob", "about"} or parts.hostname in LOCAL_HOSTS


FUNCTION = re.compile(r"\s*(\(|function\b|async\b|[A-Za-z_$][\w$]*\s*=>)")


def as_function(expression: str) -> str:
    """A bare JavaScript expression as a function: Playwright polls a bare expression with eval(), which the pages'
    Content-Security-Policy refuses (no 'unsafe-eval'); a function it compiles through the DevTools protocol."""
    return expression if FUNCTION.match(expression) else f"() => ({expression})"


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def workstations(browser):
    """workstations(width=1920, height=1080) opens one more Chinese-language workstation (its own browser profile
    and session). `page.requests` lists every URL the page asked for (WebSockets included), `page.errors` every
    console error and uncaught exception; at teardown the test fails if any request left the machine.
    """
    opened = []

    def open_workstation(width: int = 1920, height: int = 1080):
        page = browser.new_context(locale="zh-CN", viewport={"width": width, "height": height}).new_page()
        page.requests, page.errors = [], []
        page.on("request", lambda request: page.requests.append(request.url))
        page.on("websocket", lambda ws: page.requests.append(ws.url))
        page.on("console", lambda message: message.type == "error" and page.errors.append(message.text))
        page.on("pageerror", lambda error: page.errors.append(str(error)))
        wait_for_function = page.wait_for_function
        page.wait_for_function = lambda expression, **options: wait_for_function(as_function(expression), **options)
        opened.append(page)
        return page

    yield open_workstation
    for page in opened:
        page.context.close()
        external = [url for url in page.requests if not is_local(url)]
        assert not external, f"the page reached outside the intranet: {external}"


@pytest.fixture
def page(workstations):
    """A fresh browser profile per test, as a workstation at wall resolution (see `workstations`)."""
    return workstations()


@pytest.fixture
def login():
    """login(page, base_url, username): signs in through the real login form and waits for the home page."""

    def sign_in(page, base_url: str, username: str):
        page.goto(f"{base_url}/login/")
        page.fill("#id_username", username)
        page.fill("#id_password", settings.CITYOPS_DEMO_PASSWORD)
        page.click("form.login-card button[type=submit]")
        page.wait_for_url(f"{base_url}/")

    return sign_in
