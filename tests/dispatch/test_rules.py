"""The plain rule modules, without a database: code-table parsing, plan needs and marking, AVL steps, KPIs."""

from datetime import UTC, datetime, timedelta

import pytest

from dispatch import avl, kpi
from dispatch.eta import RoadGraph
from dispatch.plans import CODE_TABLE, PlanLine, parse_plan, read_code_table
from dispatch.recommend import Candidate, Need, haversine_m, open_needs, recommend

KINDS = {"police_car", "fire_engine", "ladder", "ambulance", "traffic_car", "traffic_motorcycle", "rescue"}


def test_shipped_code_table_is_valid_and_covers_every_agency():
    rows = read_code_table(CODE_TABLE, KINDS)
    assert {r.agency for r in rows} == {"110", "119", "120", "122"}
    fire = next(r for r in rows if r.code == "119-FIRE-BUILDING")
    assert PlanLine("119", "fire_engine", 2) in fire.plan
    assert {line.agency for line in fire.plan} == {"110", "119", "120"}
    assert {r.utility for r in rows} == {"", "gas", "water"}


@pytest.mark.parametrize(
    "text, says",
    [("119:fire_engine", "agency:unit_kind:count"), ("999:fire_engine:1", "agency"), ("119:boat:1", "unit kind"),
     ("119:fire_engine:0", "1..20"), ("119:fire_engine:1;119:fire_engine:2", "twice")],
)  # fmt: skip
def test_bad_plans_are_refused_with_the_reason(text, says):
    with pytest.raises(ValueError, match=says):
        parse_plan(text, KINDS)


def test_needs_subtract_units_already_sent_and_the_fastest_are_marked():
    needs = open_needs([("119", "fire_engine", 2), ("120", "ambulance", 1)], [("119", "fire_engine")])
    assert needs == [Need("119", "fire_engine", 1, 2), Need("120", "ambulance", 1, 1)]
    here = (114.05, 22.54)
    units = [
        Candidate(1, "E1", "fire_engine", "119", 114.08, 22.54),  # ~3 km
        Candidate(2, "E2", "fire_engine", "119", 114.051, 22.54),  # ~100 m
        Candidate(3, "A1", "ambulance", "120", 114.06, 22.54),
        Candidate(4, "P1", "police_car", "110", 114.05, 22.54),  # not needed
    ]
    road = RoadGraph.from_segments([("east-west", [(114.04, 22.54), (114.09, 22.54)], 36.0, False)])
    answer = recommend(road, here, needs, units, off_network_m=100)
    rows = answer["units"]
    assert [r["vehicle_id"] for r in rows] == [2, 3, 1] and not answer["unroutable"]
    assert [r["recommended"] for r in rows] == [True, True, False]
    assert rows[0]["eta_s"] == pytest.approx(haversine_m(114.051, 22.54, *here) / 10, abs=0.1)
    assert answer["incident"]["snap_m"] < 0.5 and answer["incident"]["off_network"] is False
    # No road network at all: every unit apart, nearest first, none recommended.
    answer = recommend(None, here, needs, units, off_network_m=100)
    assert answer["units"] == [] and [r["vehicle_id"] for r in answer["unroutable"]] == [2, 3, 1]
    assert {r["reason"] for r in answer["unroutable"]} == {"no_road_network"}
    assert answer["unroutable"][0]["straight_m"] == pytest.approx(haversine_m(114.051, 22.54, *here), abs=0.1)


@pytest.mark.parametrize(
    "status, speed, to_incident, to_station, step",
    [
        ("dispatched", 0, 5000, 0, None),  # still in the bay
        ("dispatched", 30, 5000, 200, "en_route"),
        ("dispatched", 30, 80, 5000, "on_scene"),  # dispatched from next door: arrival wins
        ("en_route", 40, 150, 3000, None),
        ("en_route", 10, 99, 3000, "on_scene"),
        ("returning", 20, 50, 500, None),
        ("returning", 5, 3000, 60, "cleared"),
        ("on_scene", 0, 0, 3000, None),
    ],
)
def test_assignment_steps_follow_geofences_and_motion(status, speed, to_incident, to_station, step):
    assert avl.assignment_step(status, speed, to_incident, to_station) == step


def test_stopped_too_long_counts_from_the_last_movement():
    t = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    assert avl.is_stopped_too_long(t, t - timedelta(minutes=30), t + avl.STOP_LIMIT)
    assert not avl.is_stopped_too_long(t, t - timedelta(minutes=30), t + avl.STOP_LIMIT - timedelta(seconds=1))
    assert avl.is_stopped_too_long(None, t, t + avl.STOP_LIMIT)  # never moved in the window
    assert avl.speed_limit("dangerous_goods") < avl.speed_limit("fire_engine")


def test_kpis_are_judged_against_the_agency_objectives():
    judged = kpi.judged("119", {"call_processing": 45.0, "turnout": 95.0, "travel": None, "total_response": 370})
    assert judged["call_processing"] == {"p90_s": 45.0, "objective_s": 60, "met": True}
    assert judged["turnout"]["met"] is False and judged["travel"]["met"] is None
    assert set(kpi.OBJECTIVES_S) == set(kpi.OBJECTIVE_SOURCES) == {"110", "119", "120", "122"}
