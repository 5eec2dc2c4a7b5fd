"""The inspector tablet /m/ in Chromium, online and offline: the address filled in from the GPS position (reverse
geocoding), an address search that places the problem, and the warning of open cases of the same category nearby
before a report is sent ("这是同一问题" files nothing, "不是，继续上报" files it); offline none of these checks runs
and the report still goes to the outbox. At tablet (1024×768) and phone (390×844) sizes.

One test function on purpose: each transactional test flushes and reloads the demo city.
"""

import io
import re
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image
from playwright.sync_api import expect

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
METRES_PER_DEGREE_LAT = 111_320


def jpeg(path: Path, color: str, size=(1200, 900)) -> Path:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "JPEG", quality=85)
    path.write_bytes(buffer.getvalue())
    return path


def stored_photo(path: Path):
    from grid.photos import check_photo

    return check_photo(SimpleUploadedFile(path.name, path.read_bytes(), content_type="image/jpeg"))


def report(tablet, category, photo: Path, description: str):
    tablet.set_input_files("#report-photo", str(photo))
    expect(tablet.locator("#report-preview")).to_be_visible()
    tablet.fill(".category-search", category.code)
    tablet.click(f'.category-list button[data-code="{category.code}"]')
    tablet.fill("#report-description", description)
    tablet.click("#report-submit")


def inspector_cases(category):
    from grid.models import Case

    return list(Case.objects.filter(category=category, reporter__username="inspector").values_list("number", flat=True))


def test_tablet_fills_the_address_finds_places_and_warns_of_duplicates(
    workstations, login, demo_city, user_for, asgi_server, tmp_path
):
    from gis.geocoder import reverse
    from gis.models import Address
    from grid import services
    from grid.models import Category, UnitGrid

    inspector = user_for("inspector")
    grid = UnitGrid.objects.filter(inspectors=inspector).order_by("code").first()
    door = Address.objects.filter(geom__within=grid.geom, building="").order_by("id").first()
    assert door is not None, "the demo city has door plates in the inspector's grid"
    category = Category.objects.filter(active=True, scheme="gbt47678", kind="event").order_by("code").first()
    # An open case of this category at the door, reported through the hotline.
    reported, _ = services.report_case(
        user_for("calltaker"),
        services.Report(
            category_code=category.code,
            position=door.geom,
            description="人行道井盖破损，已有市民来电",
            address=door.label,
            channel="hotline",
            photos=[stored_photo(jpeg(tmp_path / "first.jpg", "#6b4f2a", (320, 240)))],
        ),
    )
    # The inspector stands 8 m north of it.
    lon, lat = door.geom.x, door.geom.y + 8 / METRES_PER_DEGREE_LAT
    here = reverse(lon, lat)
    assert here["distance_m"] <= 30, "the GPS position is at an address"

    tablet = workstations(1024, 768)
    tablet.context.grant_permissions(["geolocation"])
    tablet.context.set_geolocation({"longitude": lon, "latitude": lat, "accuracy": 6})
    login(tablet, asgi_server, "inspector")
    tablet.goto(f"{asgi_server}/m/")
    tablet.wait_for_function("() => document.body?.dataset.appReady === '1'", timeout=60_000)

    # --- the address comes from the GPS position, and stays editable ---
    address = tablet.locator("#report-address")
    expect(address).to_have_attribute("data-source", "reverse", timeout=20_000)
    expect(address).to_have_value(here["address"]["label"])
    expect(address).to_be_editable()

    # --- an open case of the same category within its radius: listed before anything is sent ---
    mine_before = inspector_cases(category)
    report(tablet, category, jpeg(tmp_path / "a.jpg", "#7a5230"), "井盖松动")
    warning = tablet.locator("#duplicate-warning")
    expect(warning).to_be_visible(timeout=20_000)
    listed = warning.locator(f'li.duplicate[data-number="{reported.number}"]')
    expect(listed).to_contain_text(re.compile(r"相距 \d+ 米"))
    expect(listed).to_contain_text("人行道井盖破损")
    expect(listed.locator(".duplicate-photo img")).to_be_visible()
    expect(tablet.locator("#report-submit")).to_be_hidden()
    assert inspector_cases(category) == mine_before, "nothing is sent while the inspector decides"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    tablet.screenshot(path=SCREENSHOTS / "tablet-duplicates-1024x768.png")

    # "不是，继续上报": filed as usual
    warning.locator("button.not-same").click()
    expect(warning).to_be_hidden()
    sent = tablet.locator('#outbox-list li[data-kind="report"][data-status="sent"]')
    expect(sent).to_have_count(1, timeout=30_000)
    [filed] = [number for number in inspector_cases(category) if number not in mine_before]
    expect(sent.locator(".case-number")).to_contain_text(filed)
    # the form is ready for the next problem, its address again from the position
    expect(address).to_have_value(here["address"]["label"], timeout=20_000)

    # --- the same problem again: both open cases are listed; "这是同一问题" files nothing ---
    report(tablet, category, jpeg(tmp_path / "b.jpg", "#70502c"), "同一个井盖")
    expect(warning.locator("li.duplicate")).to_have_count(2, timeout=20_000)
    expect(warning.locator("li.duplicate").first).to_have_attribute("data-number", filed)  # nearest first
    warning.locator(f'li.duplicate[data-number="{reported.number}"] button.same-problem').click()
    expect(tablet.locator("#toast")).to_contain_text(reported.number)
    expect(warning).to_be_hidden()
    expect(tablet.locator("#report-preview")).to_be_hidden()  # the report is dropped
    expect(tablet.locator('#outbox-list li[data-kind="report"]')).to_have_count(1)
    assert sorted(inspector_cases(category)) == sorted([*mine_before, filed])

    # --- an address typed into the search places the problem there ---
    other = Address.objects.exclude(pk=door.pk).filter(building="").order_by("-id").first()
    tablet.fill("#address-search", other.label)
    result = tablet.locator(".address-result", has_text=other.label).first
    expect(result).to_be_visible(timeout=20_000)
    tablet.screenshot(path=SCREENSHOTS / "tablet-address-search-1024x768.png")
    result.click()
    position = tablet.locator("#position-status")
    expect(position).to_have_attribute("data-source", "address")
    assert float(position.get_attribute("data-lon")) == pytest.approx(other.geom.x, abs=1e-6)
    assert float(position.get_attribute("data-lat")) == pytest.approx(other.geom.y, abs=1e-6)
    expect(address).to_have_value(other.label)
    expect(address).to_have_attribute("data-source", "address")
    # the inspector's own words are never overwritten by the position's address
    address.fill("井盖在公交站旁")
    asked = len(tablet.requests)
    tablet.click("#position-status button.link")  # use GPS again
    expect(position).to_have_attribute("data-source", "gps")
    tablet.wait_for_timeout(1000)  # time for a lookup that must not happen
    expect(address).to_have_value("井盖在公交站旁")
    assert not [url for url in tablet.requests[asked:] if "/api/gis/reverse/" in url]
    address.fill("")

    # --- a phone held upright: the warning fits, its buttons finger-sized ---
    tablet.set_viewport_size({"width": 390, "height": 844})
    report(tablet, category, jpeg(tmp_path / "c.jpg", "#6a4a2a"), "手机上报")
    expect(warning.locator("li.duplicate")).to_have_count(2, timeout=20_000)
    small = tablet.evaluate(
        """() => [...document.querySelectorAll('#duplicate-warning button, #address-search, #report-address')]
             .filter((e) => e.getBoundingClientRect().height < 44 || e.getBoundingClientRect().right > innerWidth)
             .map((e) => e.className || e.id)"""
    )
    assert small == [], f"controls too small or off the screen: {small}"
    tablet.screenshot(path=SCREENSHOTS / "tablet-duplicates-390x844.png")
    warning.locator(f'li.duplicate[data-number="{filed}"] button.same-problem').click()
    expect(warning).to_be_hidden()

    # --- offline: no lookups, no duplicate check, the report is queued as before ---
    tablet.set_viewport_size({"width": 1024, "height": 768})
    tablet.context.set_offline(True)
    expect(tablet.locator("#net-state")).to_have_attribute("data-online", "0")
    expect(tablet.locator("#address-search")).to_be_disabled()
    asked = len(tablet.requests)
    moved = (lon + 30 / METRES_PER_DEGREE_LAT, lat)
    tablet.evaluate("([lon, lat]) => window.cityopsTablet.setPosition(lon, lat)", list(moved))
    expect(address).to_have_value("")
    address.fill("离线手写地址")
    report(tablet, category, jpeg(tmp_path / "d.jpg", "#5a4a3a"), "离线上报，不查重")
    queued = tablet.locator('#outbox-list li[data-kind="report"][data-status="queued"]')
    expect(queued).to_have_count(1)
    expect(warning).to_be_hidden()
    expect(tablet.locator("#sync-state")).to_have_attribute("data-state", "queued")
    lookups = [url for url in tablet.requests[asked:] if "/api/gis/" in url or "/duplicates/" in url]
    assert lookups == [], f"offline, the tablet still asked: {lookups}"
    tablet.screenshot(path=SCREENSHOTS / "tablet-offline-1024x768.png")

    # back online, the queued report is sent as it was written: the typed address, no check in between
    tablet.context.set_offline(False)
    expect(tablet.locator("#sync-state")).to_have_attribute("data-state", "idle", timeout=60_000)
    from grid.models import Case

    offline_case = Case.objects.get(description="离线上报，不查重")
    assert offline_case.address == "离线手写地址"
    assert [e for e in tablet.errors if "ERR_INTERNET_DISCONNECTED" not in e] == []
