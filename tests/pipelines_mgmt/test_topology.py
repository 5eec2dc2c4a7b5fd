"""Topology check: a hand-made network with one of each defect (no database), then the demo networks."""

import pytest
from django.core.management import CommandError, call_command

from pipelines_mgmt.models import Network
from pipelines_mgmt.selectors import topology_report
from pipelines_mgmt.topology import DefectKind, TopoNode, TopoPipe, TopoValve, check_topology

#   S ══P1══ A ══P2/P7══ B ──P3──⊘ C          ⊘: V3, normally closed at B, so P3 and C have no supply
#            │           │       ·K (0.4 m off P3, not split), P9 K–L goes south
#            P4          P5
#            D           E · E2 ──P6── F       E and E2 are 0.5 m apart, not joined
#                                         G ──P8── H  (an island)
NODES = [
    TopoNode("S", 0, 0, "source"),
    TopoNode("A", 100, 0),
    TopoNode("B", 200, 0),
    TopoNode("C", 300, 0, "hydrant"),
    TopoNode("D", 100, 100),
    TopoNode("E", 200, 100),
    TopoNode("E2", 200.5, 100),
    TopoNode("F", 300, 100, "hydrant"),
    TopoNode("G", 500, 500, "hydrant"),
    TopoNode("H", 600, 500, "hydrant"),
    TopoNode("K", 250, 0.4),
    TopoNode("L", 250, -100, "hydrant"),
]
XY = {node.id: (node.x, node.y) for node in NODES}


def pipe(pipe_id, start, end):
    return TopoPipe(pipe_id, start, end, [XY[start], XY[end]])


PIPES = [
    pipe("P1", "S", "A"),
    pipe("P2", "A", "B"),
    pipe("P3", "B", "C"),
    pipe("P4", "A", "D"),
    pipe("P5", "B", "E"),
    pipe("P6", "E2", "F"),
    pipe("P7", "A", "B"),
    pipe("P8", "G", "H"),
    pipe("P9", "K", "L"),
]
VALVES = [
    TopoValve("V1", "P3", "A", 210, 0),  # A is not an end of P3
    TopoValve("V2", "P1", "A", 50, 20),  # 20 m off P1
    TopoValve("V3", "P3", "B", 203, 0, normally_closed=True),
    TopoValve("V4", "P2", "A", 103, 0),
]


def found(report):
    return {(d.kind, d.nodes, d.pipes, d.valves) for d in report.defects}


def test_each_defect_is_reported_with_its_location():
    report = check_topology(NODES, PIPES, VALVES, tolerance=1.0)
    assert found(report) == {
        (DefectKind.DANGLING_END, ("D",), (), ()),
        (DefectKind.DANGLING_END, ("E",), (), ()),
        (DefectKind.DANGLING_END, ("E2",), (), ()),
        (DefectKind.DANGLING_END, ("K",), (), ()),
        (DefectKind.NEAR_MISS, ("E", "E2"), (), ()),
        (DefectKind.NEAR_MISS, ("K",), ("P3",), ()),
        (DefectKind.DUPLICATE_PIPE, (), ("P2", "P7"), ()),
        (DefectKind.ISOLATED_COMPONENT, (), ("P6",), ()),
        (DefectKind.ISOLATED_COMPONENT, (), ("P8",), ()),
        (DefectKind.ISOLATED_COMPONENT, (), ("P9",), ()),
        (DefectKind.VALVE_NOT_ON_PIPE, (), ("P3",), ("V1",)),
        (DefectKind.VALVE_NOT_ON_PIPE, (), ("P1",), ("V2",)),
        (DefectKind.NO_SOURCE, (), ("P3",), ()),
        (DefectKind.NO_SOURCE, (), ("P6",), ()),
        (DefectKind.NO_SOURCE, (), ("P8",), ()),
        (DefectKind.NO_SOURCE, (), ("P9",), ()),
    }
    assert not report.ok
    assert report.counts["no_source"] == 4 and report.counts["dangling_end"] == 4
    by_message = {d.message: d for d in report.defects}
    gap = next(d for d in report.defects if d.kind == DefectKind.NEAR_MISS and d.pipes)
    assert (gap.x, gap.y) == (250, 0.4) and "0.40 m from pipe P3" in gap.message
    off = next(m for m in by_message if m.startswith("valve V2"))
    assert "20.00 m off its pipe P1" in off
    assert (by_message[off].x, by_message[off].y) == (50, 20)


def test_a_clean_network_has_no_defects():
    nodes = [TopoNode("S", 0, 0, "source"), TopoNode("A", 100, 0), TopoNode("B", 200, 0, "hydrant")]
    pipes = [TopoPipe("P1", "S", "A", [(0, 0), (100, 0)]), TopoPipe("P2", "A", "B", [(100, 0), (200, 0)])]
    report = check_topology(nodes, pipes, [TopoValve("V", "P2", "A", 103, 0)])
    assert report.defects == [] and report.ok


def test_tolerance_decides_what_counts_as_a_near_miss():
    assert not any(d.kind == DefectKind.NEAR_MISS for d in check_topology(NODES, PIPES, VALVES, tolerance=0.3).defects)


def test_bad_references_are_reported_not_raised():
    nodes = [TopoNode("S", 0, 0, "source"), TopoNode("A", 100, 0, "hydrant")]
    pipes = [TopoPipe("P1", "S", "A", [(0, 0), (100, 0)]), TopoPipe("P2", "A", "nowhere", [(100, 0), (150, 0)])]
    report = check_topology(nodes, pipes, [TopoValve("V", "P404", "A", 100, 0)])
    messages = [d.message for d in report.defects]
    assert "pipe P2 ends at unknown node nowhere" in messages
    assert "valve V is on unknown pipe P404" in messages
    assert check_topology([], []).defects == []
    no_source = check_topology([TopoNode("A", 0, 0), TopoNode("B", 1, 0)], [TopoPipe("P", "A", "B", [(0, 0), (1, 0)])])
    assert [d.message for d in no_source.defects if d.kind == DefectKind.NO_SOURCE] == [
        "the network has no source node"
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("code", ["sz-water", "sz-gas"])
def test_demo_networks_are_clean_and_fully_supplied(demo_city, code):
    report = topology_report(Network.objects.get(code=code))
    assert report["ok"], report["defects"][:5]
    assert report["counts"]["no_source"] == 0 and report["counts"]["isolated_component"] == 0
    assert report["pipe_count"] > 200 and report["valve_count"] > 300


@pytest.mark.django_db
def test_check_topology_command(demo_city, capsys):
    call_command("check_topology", "--network", "sz-gas")
    assert "sz-gas:" in capsys.readouterr().out
    with pytest.raises(CommandError, match="unknown network"):
        call_command("check_topology", "--network", "nope")
