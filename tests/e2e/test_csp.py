"""Every page under the Content-Security-Policy in a real Chromium: the consoles on the live demo, the home map,
the base-map preview, the admin (its map widget included) and the API docs open with the policy's header, no
`securitypolicyviolation` event, no console error (Chromium logs every refused script or style as one) and no error
on screen. Each page is saved at 1280×800 in var/screenshots/csp-<name>.png, to look at."""

from pathlib import Path

import pytest
from django.conf import settings

from core.models import AdminArea

from .test_consoles import CONSOLES, MAP_READY, SHOWN_ERRORS, live_state  # noqa: F401 (live_state: a fixture)

pytestmark = [pytest.mark.e2e]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
# Recorded from the first script of every document, before any of the page's own.
RECORD_VIOLATIONS = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) =>
  window.cspViolations.push(`${event.violatedDirective} ${event.blockedURI} ${event.sourceFile}:${event.lineNumber}`));
"""
ADMIN_MAP_READY = "window.geodjango_geom?.map.getLayers().item(0).getSource().getFeatures().length > 0"
PAGES = [
    *((name, username, path, ready) for name, username, path, _size, ready, _check in CONSOLES),
    ("home", "operator", "/", MAP_READY),
    ("basemap-preview", "operator", "/tiles/preview/?style=basemap", MAP_READY),
    ("admin", "admin", "/admin/", "document.readyState === 'complete'"),
    ("admin-map", "admin", "/admin/core/adminarea/{area}/change/", ADMIN_MAP_READY),
    ("api-docs", "operator", "/api/docs/", "document.querySelectorAll('.swagger-ui .opblock').length > 0"),
]


@pytest.mark.parametrize(("name", "username", "path", "ready"), PAGES, ids=[page[0] for page in PAGES])
def test_page_runs_under_the_policy_without_a_violation(
    page,
    asgi_server,
    live_state,  # noqa: F811 (the fixture imported above)
    django_db_blocker,
    name,
    username,
    path,
    ready,
):
    with django_db_blocker.unblock():
        area = AdminArea.objects.filter(level="community").order_by("code").first()
    page.set_viewport_size({"width": 1280, "height": 800})
    page.add_init_script(RECORD_VIOLATIONS)
    page.goto(f"{asgi_server}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", settings.CITYOPS_DEMO_PASSWORD)
    page.click("form.login-card button[type=submit]")
    page.wait_for_url(f"{asgi_server}/")

    response = page.goto(f"{asgi_server}{path.format(gas_leak=live_state['gas_leak_incident'].pk, area=area.pk)}")
    directives = dict(part.strip().split(" ", 1) for part in response.headers["content-security-policy"].split(";"))
    assert directives["script-src"] == "'self'" and directives["frame-ancestors"] == "'none'"
    page.wait_for_function(ready, timeout=60_000)
    page.wait_for_timeout(1500)  # late work (live catch-up, KPIs, lazy styles) would have been refused by now
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"csp-{name}.png")
    assert page.evaluate("window.cspViolations") == []
    assert page.evaluate(SHOWN_ERRORS) == []
    assert page.errors == []
