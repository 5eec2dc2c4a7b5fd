"""CI's check of the README's *run* command: the platform it started serves `/` with the demo city drawn.

Usage: .venv/bin/python tests/e2e/smoke_run_command.py http://127.0.0.1:8000
Logs in as the demo operator in Debian's Chromium, waits for the map's first `idle` with data, checks that
every district of /api/core/areas/ is rendered and that nothing was requested outside this machine, and
saves var/screenshots/run-command-home.png. Exits non-zero with the reason otherwise.
"""

import os
import sys
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent))
from browser import CHROMIUM, CHROMIUM_ARGS

ROOT = Path(__file__).resolve().parents[2]


def main(base_url: str) -> None:
    password = os.environ.get("CITYOPS_DEMO_PASSWORD", "cityops-demo")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1920, "height": 1080}, locale="zh-CN")
        requested = []
        page.on("request", lambda request: requested.append(request.url))
        page.goto(f"{base_url}/login/")
        page.fill("#id_username", "operator")
        page.fill("#id_password", password)
        page.click("form.login-card button[type=submit]")
        # a function (CSP); `?.`: between the login's redirect and the home page there is a moment without a body
        page.wait_for_function("() => document.body?.dataset.mapReady === '1'", timeout=90_000)
        screenshot = ROOT / "var" / "screenshots" / "run-command-home.png"
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=screenshot)
        districts = {f["id"] for f in page.request.get(f"{base_url}/api/core/areas/?level=district").json()["features"]}
        drawn = set(
            page.evaluate(
                "window.cityopsMap.queryRenderedFeatures({layers: ['district-fill']}).map(f => f.properties.code)"
            )
        )
        browser.close()
    external = [url for url in requested if urlsplit(url).hostname not in {"127.0.0.1", "localhost", None}]
    if not districts or not districts <= drawn or external:
        sys.exit(f"run-command smoke failed: districts {sorted(districts)}, drawn {sorted(drawn)}, external {external}")
    print(
        f"run-command smoke: {len(districts)} districts drawn at {base_url}/, nothing requested outside; {screenshot}"
    )


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000")
