"""The live feed applies the case API's rule: an inspector's console gets the events of cases in their own grids
(or theirs to report, confirm or check), live and replayed, and nothing of the rest of the city."""

import pytest
from asgiref.sync import sync_to_async

from core.models import User
from grid import services
from grid.models import UnitGrid
from tests.core.test_realtime import subscribe
from tests.ops_socket import connect

pytestmark = pytest.mark.django_db(transaction=True)


@sync_to_async
def report_in(grid: UnitGrid, note: str) -> int:
    """A hotline clerk files a case at a point inside `grid`; its event seq."""
    clerk = User.objects.get(username="gridclerk")
    report = services.Report("06010", grid.geom.point_on_surface, description=note, channel="hotline")
    case, _ = services.report_case(clerk, report)
    return case.pk


@sync_to_async
def grids_of_the_demo_inspector() -> tuple[UnitGrid, UnitGrid]:
    inspector = User.objects.get(username="inspector")
    return UnitGrid.objects.filter(inspectors=inspector).first(), UnitGrid.objects.exclude(inspectors=inspector).first()


async def test_an_inspector_gets_the_cases_of_their_grids_only(demo_city):
    own, elsewhere = await grids_of_the_demo_inspector()
    communicator, _ = await connect("inspector")
    answer = await subscribe(communicator, topics=["cases"])
    seq = answer[-1]["seq"]
    foreign = await report_in(elsewhere, "别处的案件")
    mine = await report_in(own, "本网格的案件")
    event = await communicator.receive_json_from(timeout=5)
    assert (event["topic"], event["data"]["id"]) == ("cases", mine)
    assert await communicator.receive_nothing(timeout=0.5)
    await communicator.disconnect()

    # A console that reconnects gets the same from the event log, not the foreign case.
    communicator, _ = await connect("inspector")
    replayed = await subscribe(communicator, topics=["cases"], since=seq)
    assert [m["data"]["id"] for m in replayed if m.get("topic") == "cases"] == [mine]
    await communicator.disconnect()

    # The centre's dispatcher sees both.
    communicator, _ = await connect("griddispatcher")
    everything = await subscribe(communicator, topics=["cases"], since=seq)
    assert {m["data"]["id"] for m in everything if m.get("topic") == "cases"} == {foreign, mine}
    await communicator.disconnect()
