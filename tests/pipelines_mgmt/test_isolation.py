"""Burst isolation: hand-made networks with answers worked out on paper, EPANET networks against WNTR's
valve segments, and random networks against WNTR and against a brute-force flood written here.

Pure computation: no database, no Django models.
"""

import warnings
from collections import defaultdict
from pathlib import Path

import networkx as nx
import pandas as pd
import pytest
import wntr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wntr.metrics.topographic import valve_segments as wntr_valve_segments
from wntr.network.layer import generate_valve_layer

from pipelines_mgmt.isolation import FarSide, IsolationGraph, Operability, Pipe, Valve, valve_segments

WORKING, INOPERABLE, UNKNOWN = Operability.WORKING, Operability.INOPERABLE, Operability.UNKNOWN
EPANET_LIBRARY = Path(wntr.__file__).parent / "library" / "networks"


def nodes_of(pipes, extra=()):
    seen = dict.fromkeys(extra)
    for pipe in pipes:
        seen.setdefault(pipe.start)
        seen.setdefault(pipe.end)
    return list(seen)


def network(pipes, valves, sources, **options):
    pipes = [Pipe(*row) for row in pipes]
    valves = [Valve(*row) for row in valves]
    return IsolationGraph(nodes_of(pipes, sources), sources, pipes, valves, **options)


def partition(node_segment, pipe_segment):
    """The set of segments, each a frozenset of ("node", id) / ("pipe", id): segment numbering removed."""
    groups = defaultdict(set)
    for node, segment in node_segment.items():
        groups[segment].add(("node", node))
    for pipe, segment in pipe_segment.items():
        groups[segment].add(("pipe", pipe))
    return {frozenset(group) for group in groups.values()}


# ----------------------------------------------------------------------------- hand-made networks


def test_loop_keeps_the_far_side_supplied():
    #        V1      P1       B      P2      V2
    #  R ──P0── A ─|──────────●──────────|─ C
    #           └─|───P4─── D ───P3─────|─┘
    #             V3                    V4
    graph = network(
        [("P0", "R", "A", 10), ("P1", "A", "B", 20), ("P2", "B", "C", 30), ("P3", "C", "D", 40), ("P4", "D", "A", 50)],
        [("V1", "P1", "A"), ("V2", "P2", "C"), ("V3", "P4", "A"), ("V4", "P3", "C")],
        ["R"],
    )
    plan = graph.isolate_burst("P1")
    assert set(plan.valves_to_close) == {"V1", "V2"}
    assert plan.isolated_pipe_ids == {"P1", "P2"}
    assert plan.isolated_node_ids == {"B"}
    assert plan.isolated_length == pytest.approx(50)
    assert plan.outage_pipe_ids == set() and plan.outage_node_ids == set()  # C is fed round the loop
    assert plan.far_side == {"V1": FarSide.SUPPLIED, "V2": FarSide.SUPPLIED}

    other_side = graph.isolate_burst("P3")
    assert set(other_side.valves_to_close) == {"V3", "V4"}
    assert other_side.isolated_pipe_ids == {"P3", "P4"}
    assert other_side.isolated_node_ids == {"D"}
    assert other_side.outage_node_ids == set()


def test_dead_end():
    #  R ──P0── A ─|─P1── B ──P2── C (dead end)
    graph = network(
        [("P0", "R", "A", 10), ("P1", "A", "B", 20), ("P2", "B", "C", 30)],
        [("V1", "P1", "A")],
        ["R"],
    )
    tail = graph.isolate_burst("P2")
    assert tail.valves_to_close == ("V1",)
    assert tail.isolated_pipe_ids == {"P1", "P2"}
    assert tail.isolated_node_ids == {"B", "C"}
    assert tail.isolated_length == pytest.approx(50)
    assert tail.outage_pipe_ids == set() and tail.outage_length == 0

    main = graph.isolate_burst("P0")
    assert main.valves_to_close == ("V1",)
    assert main.isolated_pipe_ids == {"P0"} and main.isolated_node_ids == {"R", "A"}
    assert main.outage_pipe_ids == {"P1", "P2"} and main.outage_node_ids == {"B", "C"}
    assert main.outage_length == pytest.approx(50)
    assert main.far_side == {"V1": FarSide.CUT_OFF}


def test_tee_with_three_valves():
    #            X
    #            │P1
    #  R ──P0──|─T─|──P2── Y      (V0, V1, V2 all on the pipes at T)
    graph = network(
        [("P0", "R", "T", 100), ("P1", "T", "X", 40), ("P2", "T", "Y", 60)],
        [("V0", "P0", "T"), ("V1", "P1", "T"), ("V2", "P2", "T")],
        ["R"],
    )
    branch = graph.isolate_burst("P1")
    assert branch.valves_to_close == ("V1",)
    assert branch.isolated_pipe_ids == {"P1"} and branch.isolated_node_ids == {"X"}
    assert branch.outage_pipe_ids == set() and branch.outage_node_ids == set()

    feed = graph.isolate_burst("P0")  # the source itself is in the shut-in segment
    assert feed.valves_to_close == ("V0",)
    assert feed.isolated_pipe_ids == {"P0"} and feed.isolated_node_ids == {"R"}
    assert feed.outage_pipe_ids == {"P1", "P2"} and feed.outage_node_ids == {"T", "X", "Y"}
    assert feed.outage_length == pytest.approx(100)

    node_segment, pipe_segment = graph.valve_segments()
    assert {("node", "T")} in partition(node_segment, pipe_segment)  # the tee alone is a segment


def test_normally_closed_valve_is_a_boundary_with_no_action():
    #  R ──P0── A ─|─P1── B ─⊘─P2── C ─|─P3── D        ⊘ = normally closed (Vnc on P2 at B)
    #                                  │
    #                          S2 ──P4─┘
    graph = network(
        [("P0", "R", "A", 10), ("P1", "A", "B", 20), ("P2", "B", "C", 30), ("P3", "C", "D", 40), ("P4", "S2", "C", 5)],
        [("Va", "P1", "A"), ("Vnc", "P2", "B", True), ("Vc", "P3", "C")],
        ["R", "S2"],
    )
    plan = graph.isolate_burst("P1")
    assert plan.valves_to_close == ("Va",)
    assert plan.closed_boundary_valves == ("Vnc",)
    assert plan.isolated_pipe_ids == {"P1"} and plan.isolated_node_ids == {"B"}
    assert plan.outage_node_ids == set()

    zone_two = graph.isolate_burst("P2")
    assert zone_two.valves_to_close == ("Vc",)
    assert zone_two.closed_boundary_valves == ("Vnc",)
    assert zone_two.isolated_pipe_ids == {"P2", "P4"} and zone_two.isolated_node_ids == {"C", "S2"}
    assert zone_two.outage_pipe_ids == {"P3"} and zone_two.outage_node_ids == {"D"}


@pytest.mark.parametrize("zone_valve_closed", [True, False])
def test_normally_closed_valve_carries_no_supply(zone_valve_closed):
    #  R ──P0── A ─|─P1── B ──P2── C ─|─P4── D
    #           └──────────P3──────────⊘──┘      Vnc on P3 at D: closed, so D hangs on P4 only
    graph = network(
        [("P0", "R", "A", 10), ("P1", "A", "B", 20), ("P2", "B", "C", 30), ("P4", "C", "D", 40), ("P3", "A", "D", 90)],
        [("V1", "P1", "A"), ("V4", "P4", "C"), ("Vnc", "P3", "D", zone_valve_closed)],
        ["R"],
    )
    plan = graph.isolate_burst("P2")
    assert set(plan.valves_to_close) == {"V1", "V4"}
    assert plan.isolated_pipe_ids == {"P1", "P2"} and plan.isolated_node_ids == {"B", "C"}
    assert plan.closed_boundary_valves == ()
    if zone_valve_closed:
        assert plan.outage_pipe_ids == {"P4"} and plan.outage_node_ids == {"D"}
        assert plan.far_side["V4"] == FarSide.CUT_OFF
    else:
        assert plan.outage_pipe_ids == set() and plan.outage_node_ids == set()
        assert plan.far_side["V4"] == FarSide.SUPPLIED


def test_parts_already_without_supply_are_not_blamed_on_the_burst():
    #  R ──P0── A ─|─P1── B ─⊘─P2── C      (C is dead behind the closed valve before any burst)
    graph = network(
        [("P0", "R", "A", 10), ("P1", "A", "B", 20), ("P2", "B", "C", 30)],
        [("V1", "P1", "A"), ("Vnc", "P2", "B", True)],
        ["R"],
    )
    plan = graph.isolate_burst("P1")
    assert plan.valves_to_close == ("V1",) and plan.closed_boundary_valves == ("Vnc",)
    assert plan.outage_pipe_ids == set() and plan.outage_node_ids == set()

    behind = graph.isolate_burst("P2")
    assert behind.valves_to_close == () and behind.closed_boundary_valves == ("Vnc",)
    assert behind.isolated_pipe_ids == {"P2"} and behind.isolated_node_ids == {"C"}


CHAIN = [("P0", "R", "A", 10), ("P1", "A", "B", 20), ("P2", "B", "C", 30), ("P3", "C", "D", 40), ("P4", "D", "R2", 50)]


def chain(v2_operability=WORKING, **options):
    #  R ──P0── A ─|─P1── B ─|─P2── C ─|─P3── D ──P4── R2
    #           V1        V2         V3
    return network(
        CHAIN, [("V1", "P1", "A"), ("V2", "P2", "B", False, v2_operability), ("V3", "P3", "C")], ["R", "R2"], **options
    )


def test_inoperable_valve_is_passed_through():
    plan = chain(INOPERABLE).isolate_burst("P1")
    assert set(plan.valves_to_close) == {"V1", "V3"}
    assert plan.isolated_pipe_ids == {"P1", "P2"} and plan.isolated_node_ids == {"B", "C"}
    assert plan.isolated_length == pytest.approx(50)
    assert plan.outage_node_ids == set()

    working = chain(WORKING).isolate_burst("P1")
    assert set(working.valves_to_close) == {"V1", "V2"}
    assert working.isolated_pipe_ids == {"P1"} and working.isolated_node_ids == {"B"}


def test_failed_valve_replan_extends_to_the_next_ring():
    graph = chain()
    assert set(graph.isolate_burst("P1").valves_to_close) == {"V1", "V2"}

    replan = graph.isolate_burst("P1", ["V2"])
    assert set(replan.valves_to_close) == {"V1", "V3"}
    assert replan.extended_past_valves == ("V2",)
    assert replan.isolated_pipe_ids == {"P1", "P2"} and replan.isolated_node_ids == {"B", "C"}

    two_stuck = graph.isolate_burst("P1", ["V2", "V3"])
    assert two_stuck.valves_to_close == ("V1",)
    assert two_stuck.isolated_pipe_ids == {"P1", "P2", "P3", "P4"}
    assert two_stuck.isolated_node_ids == {"B", "C", "D", "R2"}
    assert set(two_stuck.extended_past_valves) == {"V2", "V3"}

    stuck_but_not_needed = graph.isolate_burst("P4", ["V1"])  # V1 is not on P4's boundary
    assert stuck_but_not_needed.valves_to_close == ("V3",) and stuck_but_not_needed.extended_past_valves == ()


def test_valve_state_patches_match_a_fresh_build():
    graph = chain()
    graph.mark_valve_failed("V2")  # merge
    assert graph.isolate_burst("P1") == chain(INOPERABLE).isolate_burst("P1")
    assert partition(*graph.valve_segments()) == partition(*chain(INOPERABLE).valve_segments())

    graph.set_valve_state("V2", operability=WORKING)  # split again
    assert set(graph.isolate_burst("P1").valves_to_close) == {"V1", "V2"}
    assert partition(*graph.valve_segments()) == partition(*chain().valve_segments())

    graph.set_valve_state("V3", normally_closed=True)  # same cut, but no longer carries supply
    plan = graph.isolate_burst("P1", ["V2"])
    assert plan.valves_to_close == ("V1",) and plan.closed_boundary_valves == ("V3",)


def test_no_valves_isolates_the_whole_connected_network():
    graph = network(
        [("P0", "R", "A", 10), ("P1", "A", "B", 20), ("P2", "R2", "C", 30), ("P3", "E", "F", 40)],
        [],
        ["R", "R2"],
    )
    plan = graph.isolate_burst("P1")
    assert plan.valves_to_close == () and plan.closed_boundary_valves == ()
    assert plan.isolated_pipe_ids == {"P0", "P1"} and plan.isolated_node_ids == {"R", "A", "B"}
    assert plan.isolated_length == pytest.approx(30)
    assert plan.outage_pipe_ids == set() and plan.outage_node_ids == set()  # R2's part stays fed, E–F never was
    assert graph.closing_order(plan) == []

    unfed = graph.isolate_burst("P3")
    assert unfed.isolated_pipe_ids == {"P3"} and unfed.isolated_node_ids == {"E", "F"}


def test_unknown_operability_is_planned_as_closable_but_flagged():
    pipes = [("P0", "R", "A", 10), ("P1", "A", "B", 20), ("P2", "B", "C", 30)]
    valves = [("V1", "P1", "A", False, WORKING), ("V2", "P2", "B", False, UNKNOWN)]

    default = network(pipes, valves, ["R"]).isolate_burst("P1")
    assert set(default.valves_to_close) == {"V1", "V2"}
    assert default.unverified_valves == ("V2",)
    assert default.outage_pipe_ids == {"P2"} and default.outage_node_ids == {"C"}

    conservative = network(pipes, valves, ["R"], unknown_is_operable=False).isolate_burst("P1")
    assert conservative.valves_to_close == ("V1",) and conservative.unverified_valves == ()
    assert conservative.isolated_pipe_ids == {"P1", "P2"} and conservative.isolated_node_ids == {"B", "C"}


def test_working_valve_preferred_over_unknown_at_the_same_pipe_end():
    graph = network(
        [("P0", "R", "A", 10), ("P1", "A", "B", 20)],
        [("Vunknown", "P1", "A", False, UNKNOWN), ("Vworking", "P1", "A", False, WORKING)],
        ["R"],
    )
    assert graph.isolate_burst("P1").valves_to_close == ("Vworking",)
    assert graph.isolate_burst("P1", ["Vworking"]).valves_to_close == ("Vunknown",)


def test_closing_order_supply_side_first_then_nearest():
    #                 30 m to Va        25 m to Vd
    #  R ──P0── A ─|─P1(10)─ B ══P2(40)══ C ─P3(5)─|─ D ──P6── R2
    #                        └─P4(7)─|─ E ──P5── F (dead end)        27 m to Ve
    graph = network(
        [
            ("P0", "R", "A", 100),
            ("P1", "A", "B", 10),
            ("P2", "B", "C", 40),
            ("P3", "C", "D", 5),
            ("P6", "D", "R2", 100),
            ("P4", "B", "E", 7),
            ("P5", "E", "F", 50),
        ],
        [("Va", "P1", "A"), ("Vd", "P3", "D"), ("Ve", "P4", "E")],
        ["R", "R2"],
    )
    plan = graph.isolate_burst("P2")
    assert set(plan.valves_to_close) == {"Va", "Vd", "Ve"}
    steps = graph.closing_order(plan)
    assert [step.valve_id for step in steps] == ["Vd", "Va", "Ve"]
    assert [step.far_side for step in steps] == [FarSide.SUPPLIED, FarSide.SUPPLIED, FarSide.CUT_OFF]
    assert [step.distance for step in steps] == pytest.approx([25, 30, 27])


def test_secondary_outage_cuts_off_the_downstream_branch():
    #  R ──P0── A ─|─P1─|─ B ──P2── C
    #                      └|─P3── D ──P5── E
    graph = network(
        [("P0", "R", "A", 10), ("P1", "A", "B", 20), ("P2", "B", "C", 30), ("P3", "B", "D", 40), ("P5", "D", "E", 5)],
        [("Va", "P1", "A"), ("Vb", "P1", "B"), ("V3", "P3", "B")],
        ["R"],
    )
    plan = graph.isolate_burst("P1")
    assert set(plan.valves_to_close) == {"Va", "Vb"}
    assert plan.isolated_pipe_ids == {"P1"} and plan.isolated_node_ids == set()
    assert plan.outage_pipe_ids == {"P2", "P3", "P5"}
    assert plan.outage_node_ids == {"B", "C", "D", "E"}
    assert plan.outage_length == pytest.approx(75)
    assert plan.total_length == pytest.approx(95)
    assert [step.valve_id for step in graph.closing_order(plan)] == ["Va", "Vb"]


def test_bad_input_is_refused_with_a_clear_message():
    with pytest.raises(ValueError, match="not an end of pipe"):
        network([("P0", "R", "A", 1), ("P1", "A", "B", 1)], [("V1", "P1", "R")], ["R"])
    with pytest.raises(ValueError, match="unknown pipe start node"):
        IsolationGraph(["A"], [], [Pipe("P0", "X", "A", 1.0)])
    with pytest.raises(ValueError, match="duplicate pipe"):
        network([("P0", "R", "A", 1), ("P0", "A", "B", 1)], [], ["R"])
    with pytest.raises(ValueError, match="operability"):
        network([("P0", "R", "A", 1)], [("V1", "P0", "A", False, "rusty")], ["R"])
    graph = network([("P0", "R", "A", 1)], [("V1", "P0", "A")], ["R"])
    with pytest.raises(KeyError, match="unknown pipe 'nope'"):
        graph.isolate_burst("nope")
    with pytest.raises(KeyError, match="unknown valve 'no-such-valve'"):
        graph.isolate_burst("P0", ["no-such-valve"])


# ----------------------------------------------------------------------------- EPANET networks vs WNTR


def load_epanet(name):
    return wntr.network.WaterNetworkModel(str(EPANET_LIBRARY / f"{name}.inp"))


def wntr_partition(graph, valve_layer):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        node_segments, link_segments, _ = wntr_valve_segments(graph, valve_layer.copy())
    return partition(node_segments, link_segments), node_segments, link_segments


@pytest.mark.parametrize(
    ("model", "placement", "count"),
    [
        ("Net3", "strategic", 1),
        ("Net3", "strategic", 2),
        ("Net3", "random", 60),
        ("ky10", "strategic", 2),
        ("ky10", "random", 500),
    ],
)
def test_epanet_segments_identical_to_wntr(model, placement, count):
    wn = load_epanet(model)
    layer = generate_valve_layer(wn, placement, count, seed=123)
    expected, _, _ = wntr_partition(wn.to_graph(), layer)
    graph = IsolationGraph.from_wntr(wn, layer)
    ours = partition(*graph.valve_segments())
    assert len(ours) == len(expected) > 1
    assert ours == expected


def test_epanet_bursts_match_wntr_segment_lookup():
    """Every pipe of Net3: the valves on its WNTR segment's boundary and the segment's contents."""
    wn = load_epanet("Net3")
    layer = generate_valve_layer(wn, "strategic", 2, seed=7)
    _, node_segments, link_segments = wntr_partition(wn.to_graph(), layer)
    graph = IsolationGraph.from_wntr(wn, layer)
    link_side = link_segments.reindex(layer["link"]).to_numpy()
    node_side = node_segments.reindex(layer["node"]).to_numpy()
    for pipe_name in wn.pipe_name_list:
        segment = link_segments[pipe_name]
        plan = graph.isolate_burst(pipe_name)
        boundary = set(layer.index[(link_side == segment) != (node_side == segment)])
        assert set(plan.valves_to_close) == boundary, pipe_name
        assert plan.isolated_pipe_ids == set(link_segments.index[link_segments == segment])
        assert plan.isolated_node_ids == set(node_segments.index[node_segments == segment])


def test_epanet_secondary_outage_is_unreachable_from_reservoirs_and_tanks():
    """ky10: what the plan reports as cut off is exactly what a networkx search from the sources misses."""
    wn = load_epanet("ky10")
    layer = generate_valve_layer(wn, "strategic", 2, seed=11)
    graph = IsolationGraph.from_wntr(wn, layer)
    sources = set(wn.reservoir_name_list) | set(wn.tank_name_list)
    before = nx.Graph()
    before.add_nodes_from(("node", node) for node in wn.node_name_list)
    for link_name, link in wn.links():
        before.add_edges_from(
            (("link", link_name), ("node", node)) for node in (link.start_node_name, link.end_node_name)
        )
    fed_before = set().union(*(nx.node_connected_component(before, ("node", s)) for s in sources))
    outages = 0
    for pipe_name in wn.pipe_name_list[::20]:
        plan = graph.isolate_burst(pipe_name)
        closing = layer.loc[list(plan.valves_to_close)]
        shut_in = {("link", p) for p in plan.isolated_pipe_ids} | {("node", n) for n in plan.isolated_node_ids}
        after = before.copy()
        after.remove_edges_from(
            (("link", link), ("node", node)) for link, node in zip(closing["link"], closing["node"], strict=True)
        )
        after.remove_nodes_from(shut_in)
        fed_after = set().union(
            *(nx.node_connected_component(after, ("node", s)) for s in sources if after.has_node(("node", s)))
        )
        lost = fed_before - fed_after - shut_in
        assert {name for kind, name in lost if kind == "link"} == plan.outage_pipe_ids, pipe_name
        assert {name for kind, name in lost if kind == "node"} == plan.outage_node_ids, pipe_name
        outages += bool(lost)
    assert outages > 0  # the sample exercises unintended isolation


# ----------------------------------------------------------------------------- random networks


@st.composite
def small_networks(draw):
    """Up to 8 nodes and 12 pipes (parallel pipes and self-loops allowed), 0–2 valves per pipe end, mixed states."""
    node_count = draw(st.integers(2, 8))
    nodes = [f"n{i}" for i in range(node_count)]
    pipes = []
    for index in range(draw(st.integers(1, 12))):
        start = draw(st.integers(0, node_count - 1))
        end = draw(st.integers(0, node_count - 1))
        pipes.append(Pipe(f"p{index}", nodes[start], nodes[end], float(draw(st.integers(1, 100)))))
    valves = []
    for pipe in pipes:
        for node in dict.fromkeys((pipe.start, pipe.end)):
            for _ in range(draw(st.sampled_from([0, 0, 1, 1, 1, 2]))):
                normally_closed = draw(st.sampled_from([False, False, False, True]))
                operability = draw(st.sampled_from([WORKING, WORKING, INOPERABLE, UNKNOWN]))
                valves.append(Valve(f"v{len(valves)}", pipe.id, node, normally_closed, operability))
    sources = draw(st.lists(st.sampled_from(nodes), max_size=3, unique=True))
    return nodes, sources, pipes, valves


def reference_plan(nodes, sources, pipes, valves, burst, will_not_close, unknown_is_operable):
    """Brute force on the element graph (nodes and pipe bodies), with no segments and no precomputation."""
    ends = {pipe.id: (pipe.start, pipe.end) for pipe in pipes}
    at_end = defaultdict(list)
    for valve in valves:
        at_end[(valve.pipe, 0 if valve.node == ends[valve.pipe][0] else 1)].append(valve)

    def operable(valve):
        return valve.operability == WORKING or (valve.operability == UNKNOWN and unknown_is_operable)

    def normally_closed_at(pipe_end):
        return any(valve.normally_closed for valve in at_end[pipe_end])

    def closable_at(pipe_end):
        return {v.id for v in at_end[pipe_end] if operable(v) and not v.normally_closed and v.id not in will_not_close}

    def links(element, passable):
        kind, name = element
        if kind == "pipe":
            for side in (0, 1):
                if passable((name, side)):
                    yield ("node", ends[name][side])
        else:
            for pipe in pipes:
                for side in (0, 1):
                    if ends[pipe.id][side] == name and passable((pipe.id, side)):
                        yield ("pipe", pipe.id)

    def flood(starts, passable, blocked=frozenset()):
        seen = {start for start in starts if start not in blocked}
        stack = list(seen)
        while stack:
            for neighbour in links(stack.pop(), passable):
                if neighbour not in seen and neighbour not in blocked:
                    seen.add(neighbour)
                    stack.append(neighbour)
        return seen

    shut_in = flood([("pipe", burst)], lambda e: not normally_closed_at(e) and not closable_at(e))
    boundary = [
        (pipe.id, side)
        for pipe in pipes
        for side in (0, 1)
        if (("pipe", pipe.id) in shut_in) != (("node", ends[pipe.id][side]) in shut_in)
    ]
    to_close = {e: closable_at(e) for e in boundary if not normally_closed_at(e)}
    closed_boundary = {v.id for e in boundary for v in at_end[e] if v.normally_closed}
    source_elements = [("node", source) for source in sources]

    def open_for_supply(pipe_end):
        return not normally_closed_at(pipe_end)

    fed_before = flood(source_elements, open_for_supply)
    fed_after = flood(source_elements, open_for_supply, blocked=shut_in)
    lost = fed_before - fed_after - shut_in
    return shut_in, to_close, closed_boundary, lost


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_networks(), st.data(), st.booleans())
def test_random_networks_match_brute_force(net, data, unknown_is_operable):
    nodes, sources, pipes, valves = net
    burst = data.draw(st.sampled_from([pipe.id for pipe in pipes]))
    will_not_close = set(data.draw(st.lists(st.sampled_from([v.id for v in valves]), unique=True))) if valves else set()
    graph = IsolationGraph(nodes, sources, pipes, valves, unknown_is_operable=unknown_is_operable)
    plan = graph.isolate_burst(burst, will_not_close)
    shut_in, to_close, closed_boundary, lost = reference_plan(
        nodes, sources, pipes, valves, burst, will_not_close, unknown_is_operable
    )

    assert plan.isolated_pipe_ids == {name for kind, name in shut_in if kind == "pipe"}
    assert plan.isolated_node_ids == {name for kind, name in shut_in if kind == "node"}
    assert plan.outage_pipe_ids == {name for kind, name in lost if kind == "pipe"}
    assert plan.outage_node_ids == {name for kind, name in lost if kind == "node"}
    assert set(plan.closed_boundary_valves) == closed_boundary
    # One valve per boundary pipe end, and each one a valve the crew can close there.
    valve_end = {v.id: (v.pipe, v.node) for v in valves}
    ends = {pipe.id: (pipe.start, pipe.end) for pipe in pipes}
    chosen_ends = [
        (valve_end[v][0], 0 if valve_end[v][1] == ends[valve_end[v][0]][0] else 1) for v in plan.valves_to_close
    ]
    assert sorted(chosen_ends) == sorted(to_close)
    for valve_id, pipe_end in zip(plan.valves_to_close, chosen_ends, strict=True):
        assert valve_id in to_close[pipe_end]
    length = {pipe.id: pipe.length for pipe in pipes}
    assert plan.isolated_length == pytest.approx(sum(length[p] for p in plan.isolated_pipe_ids))
    assert plan.outage_length == pytest.approx(sum(length[p] for p in plan.outage_pipe_ids))
    steps = graph.closing_order(plan)
    assert sorted(step.valve_id for step in steps) == sorted(plan.valves_to_close)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_networks())
def test_random_networks_partition_identical_to_wntr(net):
    nodes, _, pipes, valves = net
    cuts = [v for v in valves if v.normally_closed or v.operability != INOPERABLE]
    graph = nx.MultiDiGraph()
    graph.add_nodes_from(nodes)
    for pipe in pipes:
        graph.add_edge(pipe.start, pipe.end, key=pipe.id)
    layer = pd.DataFrame([[v.pipe, v.node] for v in cuts], columns=["link", "node"])
    expected, _, _ = wntr_partition(graph, layer)
    assert partition(*valve_segments(nodes, pipes, valves)) == expected


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_networks(), st.data())
def test_patched_graph_equals_a_fresh_build(net, data):
    nodes, sources, pipes, valves = net
    if not valves:
        return
    graph = IsolationGraph(nodes, sources, pipes, valves)
    current = {v.id: v for v in valves}
    changes = data.draw(
        st.lists(
            st.tuples(
                st.sampled_from(list(current)),
                st.sampled_from([None, False, True]),
                st.sampled_from([None, WORKING, INOPERABLE, UNKNOWN]),
            ),
            min_size=1,
            max_size=6,
        )
    )
    for valve_id, normally_closed, operability in changes:
        graph.isolate_burst(pipes[0].id)  # queries between patches must not leave stale state behind
        graph.set_valve_state(valve_id, normally_closed=normally_closed, operability=operability)
        valve = current[valve_id]
        current[valve_id] = valve._replace(
            normally_closed=valve.normally_closed if normally_closed is None else normally_closed,
            operability=valve.operability if operability is None else operability,
        )
    fresh = IsolationGraph(nodes, sources, pipes, list(current.values()))
    assert partition(*graph.valve_segments()) == partition(*fresh.valve_segments())
    for pipe in pipes:
        patched_plan, fresh_plan = graph.isolate_burst(pipe.id), fresh.isolate_burst(pipe.id)
        assert patched_plan.isolated_length == pytest.approx(fresh_plan.isolated_length)
        assert patched_plan.outage_length == pytest.approx(fresh_plan.outage_length)
        skip = {"isolated_length", "outage_length"}
        assert {k: v for k, v in vars(patched_plan).items() if k not in skip} == {
            k: v for k, v in vars(fresh_plan).items() if k not in skip
        }
