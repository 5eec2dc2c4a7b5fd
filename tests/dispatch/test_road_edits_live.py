"""A road edit reaches the recommendation of every process: the live server (another process, with its road graph
already cached) answers the next request from the edited roads, because the edit raised the road network version
in its own transaction."""

import json
import urllib.request

import pytest
from django.db import transaction
from django.db.models import F
from django.test import Client

from core.models import User
from core.realtime import Viewer
from dispatch import selectors, services
from dispatch.models import IncidentType
from gis.models import Address, Road, TurnRestriction
from gis.selectors import road_network_version

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_road_edit_changes_the_next_recommendation_in_the_live_server(demo_city, asgi_server):
    calltaker = User.objects.get(username="calltaker")
    site = Address.objects.order_by("id").first()
    incident = services.create_incident(
        calltaker, incident_type=IncidentType.objects.get(code="119-FIRE-BUILDING"), point=site.geom
    )
    client = Client()
    client.force_login(calltaker)
    request = urllib.request.Request(  # noqa: S310 (the test server)
        f"{asgi_server}/api/dispatch/incidents/{incident.pk}/recommendation/",
        headers={"Cookie": f"sessionid={client.cookies['sessionid'].value}"},
    )

    def served() -> dict:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            return {u["vehicle_id"]: u["eta_s"] for u in json.load(response)["units"]}

    def here() -> dict:
        return {
            u["vehicle_id"]: u["eta_s"] for u in selectors.recommendation(Viewer.for_user(calltaker), incident)["units"]
        }

    before = served()  # the server builds and caches its graph
    assert before and before == here()

    version = road_network_version()
    Road.objects.update(speed_kmh=F("speed_kmh") / 2)  # one statement, committed: every road half as fast
    assert road_network_version() > version
    after = served()
    assert after == here()
    assert all(after[unit] > 1.5 * before[unit] for unit in before if before[unit] > 60)

    # A change rolled back is no change: the version and the server's answer stay as they were.
    version = road_network_version()
    with pytest.raises(RuntimeError), transaction.atomic():
        Road.objects.update(speed_kmh=F("speed_kmh") * 10)
        raise RuntimeError("cancelled")
    assert road_network_version() == version and served() == after

    # A turn restriction is a road change too.
    road = Road.objects.order_by("id").first()
    TurnRestriction.objects.create(
        kind="no", from_road=road, to_road=road, via=f"POINT({road.geom.coords[-1][0]} {road.geom.coords[-1][1]})"
    )
    assert road_network_version() > version
