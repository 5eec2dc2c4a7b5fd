"""Concurrent allocations of the last items of a stock never oversubscribe: 20 threads, each with its own database
connection and its own request for one sandbag, race for the last 10 of a depot — exactly 10 win, the others get a
409 naming the shortfall, and the stock is never negative. The same for the last places of a shelter."""

import threading

import pytest
from django.contrib.gis.geos import Point
from django.db import connection
from rest_framework.test import APIClient

from core.models import Organisation, User
from core.realtime import Viewer
from dispatch.models import Incident
from resources import services
from resources.models import Allocation, Depot, Shelter, StockItem, SupplyItem

pytestmark = pytest.mark.django_db(transaction=True)
RACERS = 20


def race(work) -> list:
    """Run work(i) in RACERS threads released together; each thread its own connection, closed at the end."""
    start, results = threading.Barrier(RACERS), [None] * RACERS

    def run(i):
        try:
            start.wait()
            results[i] = work(i)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(RACERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def test_twenty_operators_race_for_the_last_ten_sandbags(demo_live):
    operator = User.objects.get(username="operator")
    incident = Incident.objects.exclude(status="closed").first()
    depot = Depot.objects.create(name="最后十袋", organisation=Organisation.objects.get(code="SZ-ECC"),
                                 geom=incident.geom)  # fmt: skip
    stock = StockItem.objects.create(depot=depot, item=SupplyItem.objects.get(code="sandbags"), on_hand=10)
    viewer = Viewer.for_user(operator)
    requests = [services.request_supplies(operator, viewer, incident.pk, "sandbags", 1) for _ in range(RACERS)]

    def allocate(i):
        client = APIClient()
        client.force_login(operator)
        answer = client.post(f"/api/resources/requests/{requests[i].pk}/allocate/", {"depot": depot.pk, "quantity": 1},
                             format="json")  # fmt: skip
        return answer.status_code, answer.json()

    results = race(allocate)
    codes = sorted(code for code, _ in results)
    assert codes == [201] * 10 + [409] * 10
    refusals = [body for code, body in results if code == 409]
    assert all(body["error"] == "shortfall" and body["shortfall"] == 1 and body["available"] == 0 for body in refusals)
    stock.refresh_from_db()
    assert (stock.on_hand, stock.allocated) == (10, 10)
    assert Allocation.objects.filter(stock=stock).count() == 10


def test_a_shelter_is_never_filled_past_its_capacity(demo_city):
    operator = User.objects.get(username="operator")
    shelter = Shelter.objects.create(name="临时避难点", organisation=Organisation.objects.get(code="SZ-ECC"),
                                     geom=Point(114.05, 22.54, srid=4326), capacity=30, status="open")  # fmt: skip

    def check_in(i):
        try:
            services.check_in(operator, shelter, 2)
            return "in"
        except services.Shortfall:
            return "full"

    results = race(check_in)
    assert results.count("in") == 15 and results.count("full") == 5
    shelter.refresh_from_db()
    assert shelter.occupancy == 30
