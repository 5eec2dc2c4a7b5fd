"""Public warnings (公众预警) as CAP 1.2: issued by the command centre (audited), public without sign-in on
/warnings/, indexed in an Atom feed, each alert a CAP 1.2 document with every element the standard requires."""

import re

import pytest
from django.test import Client
from lxml import etree

from core.models import AuditEntry

pytestmark = pytest.mark.django_db

CAP = "{urn:oasis:names:tc:emergency:cap:1.2}"
ATOM = "{http://www.w3.org/2005/Atom}"
CAP_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[-+]\d\d:\d\d")  # CAP 1.2 3.3.2: an offset, never "Z"
# CAP 1.2 section 3.2: the required elements in their schema order, and the closed value lists
ALERT_ORDER = ["identifier", "sender", "sent", "status", "msgType", "scope"]
INFO_ORDER = ["language", "category", "event", "urgency", "severity", "certainty"]
VALUES = {
    "status": {"Actual", "Exercise", "System", "Test", "Draft"},
    "msgType": {"Alert", "Update", "Cancel", "Ack", "Error"},
    "scope": {"Public", "Restricted", "Private"},
    "category": {"Geo", "Met", "Safety", "Security", "Rescue", "Fire", "Health", "Env", "Transport", "Infra",
                 "CBRNE", "Other"},
    "urgency": {"Immediate", "Expected", "Future", "Past", "Unknown"},
    "severity": {"Extreme", "Severe", "Moderate", "Minor", "Unknown"},
    "certainty": {"Observed", "Likely", "Possible", "Unlikely", "Unknown"},
}  # fmt: skip
DRILL = {
    "status": "Exercise",
    "category": "Infra",
    "event": "燃气管道泄漏",
    "urgency": "Immediate",
    "severity": "Severe",
    "certainty": "Observed",
    "headline": "（演练）福田区燃气管道泄漏，请远离现场",
    "description": "某路段燃气管道泄漏，抢修中。",
    "instruction": "请关闭燃气阀门，勿使用明火。",
    "area_desc": "福田区某路段周边500米",
    "polygon": {"type": "Polygon", "coordinates": [[[114.05, 22.53], [114.06, 22.53], [114.06, 22.54],
                                                    [114.05, 22.53]]]},
}  # fmt: skip


def check_cap_1_2(xml: bytes) -> etree._Element:
    """The checks of the CAP 1.2 schema that apply to what we publish: namespace, required elements in order,
    closed value lists, time format, polygon and circle syntax."""
    alert = etree.fromstring(xml)
    assert alert.tag == f"{CAP}alert"
    names = [child.tag.removeprefix(CAP) for child in alert]
    assert names[: len(ALERT_ORDER)] == ALERT_ORDER
    assert CAP_TIME.fullmatch(alert.findtext(f"{CAP}sent"))
    for info in alert.findall(f"{CAP}info"):
        assert [child.tag.removeprefix(CAP) for child in info][: len(INFO_ORDER)] == INFO_ORDER
        for area in info.findall(f"{CAP}area"):
            assert area[0].tag == f"{CAP}areaDesc" and area[0].text
            for polygon in area.findall(f"{CAP}polygon"):
                pairs = polygon.text.split()
                assert len(pairs) >= 4 and pairs[0] == pairs[-1]
                assert all(re.fullmatch(r"-?\d+(\.\d+)?,-?\d+(\.\d+)?", pair) for pair in pairs)
            for circle in area.findall(f"{CAP}circle"):
                assert re.fullmatch(r"-?\d+(\.\d+)?,-?\d+(\.\d+)? \d+(\.\d+)?", circle.text)
        for name in ("category", "urgency", "severity", "certainty"):
            assert info.findtext(f"{CAP}{name}") in VALUES[name]
    for name in ("status", "msgType", "scope"):
        assert alert.findtext(f"{CAP}{name}") in VALUES[name]
    return alert


def test_a_drill_warning_is_in_the_feed_as_a_valid_cap_exercise(api):
    issued = api("operator").post("/api/notify/warnings/", DRILL, format="json")
    assert issued.status_code == 201, issued.json()
    identifier = issued.json()["identifier"]
    assert AuditEntry.objects.filter(action="notify.public_warning").count() == 1

    public = Client()  # nobody signed in
    feed = etree.fromstring(public.get("/warnings/cap/").content)
    links = [link.get("href") for link in feed.iter(f"{ATOM}link") if link.get("type") == "application/cap+xml"]
    assert links == [f"http://testserver/warnings/cap/{identifier}.xml"]

    response = public.get(f"/warnings/cap/{identifier}.xml")
    assert response["Content-Type"].startswith("application/cap+xml")
    alert = check_cap_1_2(response.content)
    assert alert.findtext(f"{CAP}status") == "Exercise"
    info = alert.find(f"{CAP}info")
    assert info.findtext(f"{CAP}language") == "zh-CN" and info.findtext(f"{CAP}headline") == DRILL["headline"]
    assert info.find(f"{CAP}area").findtext(f"{CAP}polygon").startswith("22.530000,114.050000 ")

    page = public.get("/warnings/").content.decode()
    assert DRILL["headline"] in page and "演练" in page

    cancel = api("leader").post(
        "/api/notify/warnings/",
        {**{k: v for k, v in DRILL.items() if k != "polygon"}, "msg_type": "Cancel", "references": identifier,
         "headline": "解除", "circle": {"center": [114.055, 22.535], "radius_km": 0.5}},
        format="json",
    )  # fmt: skip
    assert cancel.status_code == 201, cancel.json()
    alert = check_cap_1_2(public.get(cancel.json()["cap_url"]).content)
    assert alert.findtext(f"{CAP}msgType") == "Cancel"
    assert alert.findtext(f"{CAP}references").split(",")[1] == identifier
    assert alert.find(f"{CAP}info/{CAP}area/{CAP}circle").text == "22.535000,114.055000 0.5"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"status": "Maybe"}, "status"),
        ({"polygon": {"type": "Point", "coordinates": [114, 22]}}, "polygon"),
        ({"polygon": None}, "area"),
        ({"msg_type": "Update"}, "references"),
        ({"references": "no-such"}, "references"),
        ({"circle": {"center": [500, 22], "radius_km": 1}}, "circle"),
    ],
)
def test_a_bad_warning_names_the_field(api, change, field):
    data = {key: value for key, value in {**DRILL, **change}.items() if value is not None}
    response = api("operator").post("/api/notify/warnings/", data, format="json")
    assert (response.status_code, response.json().get("field")) == (400, field)
    assert Client().get("/warnings/cap/").status_code == 200
