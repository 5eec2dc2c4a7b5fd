"""The repair order as a PDF, the burst opened from a dispatch incident, and the "pipeline" console snapshot."""

import re
import zlib

import pytest
from django.contrib.gis.geos import Point

from core.models import Event, User
from core.realtime import Viewer, snapshot
from pipelines_mgmt import printing, services
from pipelines_mgmt.models import Network, Pipe, RepairOrder

pytestmark = pytest.mark.django_db


def pdf_strings(pdf: bytes) -> bytes:
    """The PDF with every Flate stream inflated: WeasyPrint compresses its objects, metadata included."""
    parts = [pdf]
    for match in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        try:
            parts.append(zlib.decompress(match.group(1)))
        except zlib.error:
            continue
    return b"\n".join(parts)


def pdf_text_hex(text: str) -> bytes:
    """How a PDF text string (the document title) holds non-ASCII text: UTF-16BE with a byte-order mark, in hex."""
    return ("<feff" + text.encode("utf-16-be").hex() + ">").encode()


@pytest.fixture
def order(api, demo_city):
    pipe = Pipe.objects.filter(network__code="sz-water", link_type="pipe", length_m__gt=150).order_by("id")[2]
    payload = {"network": "sz-water", "pipe": pipe.pk}
    response = api("operator").post("/api/pipelines/repair-orders/", payload, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def test_pdf_is_a_real_pdf_titled_with_the_order_number(api, order):
    response = api("leader").get(order["pdf_url"])
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    pdf = response.content
    assert pdf.startswith(b"%PDF-1.") and pdf.rstrip().endswith(b"%%EOF")
    assert pdf_text_hex(f"抢修单 {order['number']}") in pdf_strings(pdf)
    assert api("inspector").get(order["pdf_url"]).status_code == 403


def test_pdf_pages_carry_the_order_number_valves_and_map(order):
    """The laid-out document (WeasyPrint's own boxes) holds the text a reader sees, and the map drawing."""
    document = printing.repair_order_document(RepairOrder.objects.get(number=order["number"]))
    texts, svgs = [], 0
    for page in document.pages:
        for box in page._page_box.descendants():
            if hasattr(box, "text"):
                texts.append(box.text)
            svgs += type(getattr(box, "replacement", None)).__name__ == "SVGImage"
    text = "".join(texts)
    assert order["number"] in text
    assert "关阀顺序" in text
    for valve in order["valves_to_close"]:
        assert valve["code"] in text
    assert svgs >= 1


def test_incident_opens_one_repair_order_on_the_nearest_pipe_of_its_utility(demo_city):
    gas = Network.objects.get(code="sz-gas")
    pipe = Pipe.objects.filter(network=gas, link_type="pipe").order_by("id")[7]
    point = pipe.geom.interpolate_normalized(0.5)
    near = Point(point.x + 0.00005, point.y, srid=4326)  # about 5 m east of the gas main
    events = Event.objects.filter(topic="pipeline", type="repair_order.created").count()

    order = services.burst_for_incident(9001, near, "gas")
    assert order is not None and order.incident_id == 9001 and order.network == gas
    assert order.isolation["burst"]["distance_m"] <= 6  # the gas main it lies beside (within ~5 m)
    assert Event.objects.filter(topic="pipeline", type="repair_order.created").count() == events + 1
    assert services.burst_for_incident(9001, near, "gas") == order  # asked again: the same order
    assert RepairOrder.objects.filter(incident_id=9001).count() == 1

    water = services.burst_for_incident(9002, near, "water")
    assert water is not None and water.network.utility == "water"
    assert services.burst_for_incident(9003, Point(114.9, 23.2, srid=4326), "water") is None
    with pytest.raises(ValueError):
        services.burst_for_incident(9004, near, "power")


def test_pipeline_snapshot_lists_open_repair_orders(order):
    viewer = Viewer.for_user(User.objects.get(username="operator"))
    numbers = [feature["properties"]["number"] for feature in snapshot("pipeline", viewer, None)]
    assert order["number"] in numbers
    RepairOrder.objects.filter(number=order["number"]).update(status=RepairOrder.Status.RESTORED)
    numbers = [feature["properties"]["number"] for feature in snapshot("pipeline", viewer, None)]
    assert order["number"] not in numbers
    far_away = (0.0, 0.0, 1.0, 1.0)
    assert snapshot("pipeline", viewer, far_away) == []
