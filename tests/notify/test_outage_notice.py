"""停水停气通知: the customers a repair order's isolation cuts off are texted once each, sensitive ones first."""

import pytest

from notify import services
from notify.models import Delivery
from pipelines_mgmt.models import RepairOrder, ServiceConnection

pytestmark = pytest.mark.django_db


def burst_order(api) -> RepairOrder:
    """A repair order for a burst on a water pipe that supplies a hospital, school or care home."""
    pipe = ServiceConnection.objects.filter(sensitive=True, pipe__network__utility="water").first().pipe
    response = api("operator").post(
        "/api/pipelines/repair-orders/", {"network": pipe.network.code, "pipe": pipe.pk}, format="json"
    )
    assert response.status_code == 201, response.json()
    return RepairOrder.objects.select_related("network").get(number=response.json()["number"])


def test_isolated_customers_get_one_sms_each_sensitive_first_and_twice_is_still_once(api, sms_gateway):
    order = burst_order(api)
    items = order.isolation["customers"]["items"]
    phones = dict(ServiceConnection.objects.filter(pk__in=[c["id"] for c in items]).values_list("pk", "phone"))
    expected = list(dict.fromkeys(phones[c["id"]] for c in items if phones[c["id"]]))
    sensitive = {phones[c["id"]] for c in items if c["sensitive"]}
    assert len(expected) >= 3 and sensitive, "the demo's repair order cuts off customers, some of them sensitive"

    url = f"/api/pipelines/repair-orders/{order.number}/notify-customers/"
    first = api("operator").post(url)
    assert first.status_code == 200, first.json()
    assert first.json()["customers"] == len(expected)
    services.deliver_pending(first.json()["notification_id"], "sms")
    again = api("operator").post(url)
    assert again.json()["notification_id"] == first.json()["notification_id"]
    services.deliver_pending(again.json()["notification_id"], "sms")

    texted = [r.destination for r in sms_gateway.received if r.part[0] == 1]
    assert texted == expected  # each once, in the isolation's order
    assert set(texted[: len(sensitive)]) == sensitive  # hospitals, schools and care homes first
    assert "停" in sms_gateway.texts_to(expected[0])[0] and order.number in sms_gateway.texts_to(expected[0])[0]
    deliveries = Delivery.objects.filter(notification_id=first.json()["notification_id"])
    assert deliveries.count() == len(expected)
    assert set(deliveries.values_list("state", flat=True)) == {Delivery.State.DELIVERED}


def test_notifying_customers_needs_a_repair_order_role(api):
    order = burst_order(api)
    response = api("planner").post(f"/api/pipelines/repair-orders/{order.number}/notify-customers/")
    assert response.status_code == 403
    assert api("operator").post("/api/pipelines/repair-orders/NO-SUCH/notify-customers/").status_code == 404
