"""The per-process graph cache: reused while the network version is unchanged, rebuilt when it moves."""

import pytest
from django.db import connection, transaction

from pipelines_mgmt import graph
from pipelines_mgmt.models import Network, Pipe, Valve
from pipelines_mgmt.services import bump_network_version, set_valve_state

pytestmark = pytest.mark.django_db


@pytest.fixture
def water(demo_city):
    return Network.objects.get(code="sz-water")


@pytest.fixture
def burst(water):
    return Pipe.objects.filter(network=water, length_m__gt=150).exclude(start_node__kind="source").order_by("id")[3].pk


def test_graph_is_reused_until_the_version_changes(water, burst, user_for):
    first = graph.network_graph(water.pk)
    assert graph.network_graph(water.pk) is first
    assert first.version == water.version and first.isolation.n_pipes == water.pipes.count()

    plan = first.isolation.isolate_burst(burst)
    valve = Valve.objects.get(pk=plan.valves_to_close[0])
    set_valve_state(user_for("operator"), valve, operability="inoperable")
    second = graph.network_graph(water.pk)
    assert second is not first and second.version == Network.objects.get(pk=water.pk).version
    replan = second.isolation.isolate_burst(burst)
    assert valve.pk not in replan.valves_to_close
    assert replan.isolated_pipe_ids > plan.isolated_pipe_ids


def test_a_change_made_by_another_process_is_noticed(water, burst):
    """Another process changes a valve row and bumps the version in SQL: this process must rebuild."""
    before = graph.network_graph(water.pk)
    valve_id = before.isolation.isolate_burst(burst).valves_to_close[0]
    with connection.cursor() as cursor:
        cursor.execute("UPDATE pipelines_mgmt_valve SET normal_state = 'closed' WHERE id = %s", [valve_id])
    # A writer that forgets the bump leaves every process on the old graph: that is why services bump.
    assert graph.network_graph(water.pk) is before
    assert valve_id in before.isolation.isolate_burst(burst).valves_to_close
    bump_network_version(water.pk)
    after = graph.network_graph(water.pk)
    assert after is not before
    plan = after.isolation.isolate_burst(burst)
    assert valve_id not in plan.valves_to_close and valve_id in plan.closed_boundary_valves


def test_versions_are_never_reused_after_a_rollback(water):
    """A version taken in a rolled-back transaction is never handed out again (sequence semantics)."""
    with pytest.raises(RuntimeError), transaction.atomic():
        lost = bump_network_version(water.pk)
        raise RuntimeError
    assert Network.objects.get(pk=water.pk).version == water.version
    assert bump_network_version(water.pk) > lost


def test_unknown_network_raises(demo_city):
    with pytest.raises(Network.DoesNotExist):
        graph.network_graph(987654321)
