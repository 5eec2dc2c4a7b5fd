"""Cases through the API on the small demo city: report, idempotency, bad input, the full workflow."""

import io
import json
import struct
import zlib

import pytest
from PIL import Image

from core.models import Event, Organisation
from grid.models import Case, CasePhoto, CaseTransition

pytestmark = pytest.mark.django_db


def jpeg(size=(40, 30), name="p.jpg") -> io.BytesIO:
    buf = io.BytesIO()
    Image.new("RGB", size, (200, 80, 40)).save(buf, "JPEG")
    buf.seek(0)
    buf.name = name
    return buf


def report_body(spot, **extra) -> dict:
    body = {
        "category_code": "06010",
        "description": "路边暴露垃圾",
        "location": {"type": "Point", "coordinates": [spot.x, spot.y]},
        "address": "福华路1号",
    }
    body.update(extra)
    return body


def counts():
    return Case.objects.count(), CaseTransition.objects.count(), CasePhoto.objects.count(), Event.objects.count()


def test_report_is_idempotent_by_key(api, spot):
    client = api("inspector")
    first = client.post("/api/grid/cases/", report_body(spot), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == 201, first.content
    props = first.json()["properties"]
    assert props["stage"] == "reported" and props["channel"] == "inspector"
    assert props["category_code"] == "06010" and props["category_label"] == "暴露垃圾"
    before = counts()
    again = client.post("/api/grid/cases/", report_body(spot), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    other = client.post(
        "/api/grid/cases/", report_body(spot, description="别的"), format="json", HTTP_IDEMPOTENCY_KEY="k-1"
    )
    assert other.status_code == 409
    assert other.json()["field"] == "Idempotency-Key" and "k-1" in other.json()["detail"]
    assert counts() == before
    # Someone else who sends the same key learns nothing about the case it made.
    stranger = api("gridclerk").post("/api/grid/cases/", report_body(spot), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert stranger.status_code == 409 and props["number"] not in stranger.content.decode()


def test_multipart_report_with_photo_and_gcj02(api, spot):
    body = report_body(spot, crs="gcj02")
    body["location"] = json.dumps(body["location"])
    body["photo"] = jpeg()
    response = api("inspector").post("/api/grid/cases/", body, format="multipart")
    assert response.status_code == 201, response.content
    props = response.json()["properties"]
    assert len(props["photos"]) == 1
    image = api("inspector").get(props["photos"][0])
    assert image.status_code == 200 and image["Content-Type"] == "image/jpeg"
    # GCJ-02 input is shifted back to WGS84 by a few hundred metres
    lon, lat = response.json()["geometry"]["coordinates"]
    assert 0.001 < abs(lon - spot.x) + abs(lat - spot.y) < 0.02


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"location": {"type": "Point", "coordinates": [116.4, 39.9]}}, "location"),
        ({"category_code": "99999"}, "category_code"),
        ({"category_code": "0101"}, "category_code"),
        ({"photo": "not-an-image"}, "photo"),
        ({"photo": "oversize"}, "photo"),
        ({"channel": "open311"}, "channel"),
    ],
)
def test_bad_reports_change_nothing(api, spot, settings, change, field):
    settings.CITYOPS_GRID_MAX_PHOTO_BYTES = 2000
    body = report_body(spot, **change)
    body["location"] = json.dumps(body["location"])
    if body.get("photo") == "not-an-image":
        body["photo"] = io.BytesIO(b"%PDF-1.4 definitely not a picture")
        body["photo"].name = "evil.jpg"
    elif body.get("photo") == "oversize":
        body["photo"] = jpeg(size=(400, 400))
        Image.effect_noise((400, 400), 100).convert("RGB").save(body["photo"], "JPEG", quality=100)
        body["photo"].seek(0)
    before = counts()
    response = api("inspector").post("/api/grid/cases/", body, format="multipart", HTTP_IDEMPOTENCY_KEY="bad")
    assert response.status_code == 400, response.content
    assert response.json()["field"] == field
    assert counts() == before


def test_full_workflow_through_the_api(api, spot):
    urban = Organisation.objects.get(code="SZ-URBAN")
    case = api("inspector").post("/api/grid/cases/", report_body(spot), format="json").json()
    url = f"/api/grid/cases/{case['id']}/actions/"

    def act(user, action, fmt="json", **data):
        return api(user).post(f"{url}{action}/", data, format=fmt)

    assert act("inspector", "file").status_code == 403  # an inspector may not file
    assert act("leader", "close").status_code == 409  # not in this stage
    filed = act("leader", "file")
    assert filed.status_code == 200, filed.content
    assert filed.json()["properties"]["timer_state"] == "green"
    assert act("griddispatcher", "dispatch", department_id=urban.pk).status_code == 200
    missing = act("depthandler", "handle", note="done")
    assert missing.status_code == 400 and missing.json()["field"] == "photo"
    handled = act("depthandler", "handle", fmt="multipart", note="清理完毕", photo=jpeg())
    assert handled.status_code == 200, handled.content
    loc = json.dumps({"type": "Point", "coordinates": [spot.x, spot.y]})
    checked = act("inspector", "verify_ok", fmt="multipart", photo=jpeg(), location=loc)
    assert checked.status_code == 200, checked.content
    closed = act("leader", "close")
    assert closed.status_code == 200
    detail = api("leader").get(f"/api/grid/cases/{case['id']}/").json()
    assert detail["properties"]["stage"] == "closed"
    assert [h["action"] for h in detail["history"]] == ["report", "file", "dispatch", "handle", "verify_ok", "close"]
    assert len(detail["history"][3]["photos"]) == 1 and detail["history"][4]["position"] is not None
    row = Case.objects.get(pk=case["id"])
    assert row.filed_at and row.dispatched_at and row.handled_at and row.checked_at and row.closed_at
    assert row.deadline_at is None


def test_department_sees_only_its_cases(api, spot):
    case = api("inspector").post("/api/grid/cases/", report_body(spot), format="json").json()
    assert api("depthandler").get(f"/api/grid/cases/{case['id']}/").status_code == 404
    ids = [f["id"] for f in api("depthandler").get("/api/grid/cases/").json()["features"]]
    assert case["id"] not in ids
    assert case["id"] in [f["id"] for f in api("leader").get("/api/grid/cases/?stage=open").json()["features"]]


def test_a_key_belongs_to_its_sender(api, spot):
    first = api("inspector").post("/api/grid/cases/", report_body(spot), format="json", HTTP_IDEMPOTENCY_KEY="mine")
    assert first.status_code == 201
    other = api("admin").post("/api/grid/cases/", report_body(spot), format="json", HTTP_IDEMPOTENCY_KEY="mine")
    assert other.status_code == 409 and other.json()["field"] == "Idempotency-Key"


def pixel_bomb(width: int, height: int) -> io.BytesIO:
    """A PNG of a few hundred bytes that declares width × height pixels (its data would inflate to gigabytes)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    data = chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(bytes(50_000))) + chunk(b"IEND", b"")
    buf = io.BytesIO(b"\x89PNG\r\n\x1a\n" + data)
    buf.name = "bomb.png"
    return buf


@pytest.mark.parametrize("side", [20_000, 12_000])
def test_a_pixel_bomb_is_refused_by_what_it_declares(api, spot, side):
    body = report_body(spot, photo=pixel_bomb(side, side))
    body["location"] = json.dumps(body["location"])
    before = counts()
    response = api("inspector").post("/api/grid/cases/", body, format="multipart", HTTP_IDEMPOTENCY_KEY=f"bomb{side}")
    assert response.status_code == 400, response.content
    assert response.json()["field"] == "photo" and "pixels" in response.json()["detail"]
    assert counts() == before


def test_a_photo_is_stored_re_encoded_upright_and_without_its_metadata(api, spot):
    upload = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: the camera was turned; the stored picture is upright
    exif[0x010F] = "CameraMaker"
    Image.new("RGB", (5000, 100), (10, 120, 30)).save(upload, "PNG", exif=exif)
    upload.seek(0)
    upload.name = "wide.png"
    body = report_body(spot, photo=upload)
    body["location"] = json.dumps(body["location"])
    response = api("inspector").post("/api/grid/cases/", body, format="multipart")
    assert response.status_code == 201, response.content
    stored = CasePhoto.objects.get(case_id=response.json()["id"])
    with Image.open(stored.image.open("rb")) as image:
        assert (image.format, image.size) == ("JPEG", (82, 4096))  # turned upright, long side at most 4096
        assert not image.getexif()
    assert stored.content_type == "image/jpeg"
