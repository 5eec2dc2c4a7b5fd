"""The plan rules without a database: which plan covers an incident, which level its facts reach, and a plan's
levels refused with the path of the fault."""

from datetime import time

import pytest

from emergency import plans

TABLES = plans.CodeTables(
    unit_kinds=frozenset({"fire_engine", "police_car", "ambulance"}),
    roles=frozenset({"leader", "operator"}),
    duty_posts=frozenset({"leader_on_duty"}),
    departments=frozenset({"GAS"}),
    channels=frozenset({"in_app", "sms", "email"}),
)


def level(n: int, **thresholds) -> dict:
    return {"level": n, "thresholds": thresholds, "units": [{"agency": "119", "unit_kind": "fire_engine", "count": n}]}


LEVELS = plans.read_levels(
    [level(4), level(3, customers_at_least=20, calls_at_least=3), level(2, customers_at_least=500, priority_at_most=0)],
    TABLES,
)


@pytest.mark.parametrize(
    ("facts", "expected", "reasons"),
    [
        (plans.Facts(priority=1, calls=1, customers=None, population=None), 4, []),
        (plans.Facts(priority=1, calls=1, customers=19), 4, []),
        (plans.Facts(priority=1, calls=1, customers=20), 3, ["customers_at_least"]),
        (plans.Facts(priority=1, calls=3, customers=20), 3, ["customers_at_least", "calls_at_least"]),
        (plans.Facts(priority=1, calls=1, customers=500), 2, ["customers_at_least"]),
        (plans.Facts(priority=0, calls=1), 2, ["priority_at_most"]),
    ],
)
def test_the_most_severe_level_reached_else_the_mildest(facts, expected, reasons):
    chosen, reached = plans.grade(LEVELS, facts)
    assert chosen.level == expected and sorted(reached) == sorted(reasons)


def candidate(plan_id, rank=0, **scope) -> plans.Candidate:
    return plans.Candidate(plan_id, rank, plans.Scope(**scope))


NOON, NIGHT = time(12, 0), time(23, 30)


def test_a_zone_beats_a_district_beats_the_city_and_hours_narrow_further():
    city, district = candidate(1), candidate(2, district="440304")
    zone = candidate(3, district="440304", in_zone=True)
    night = candidate(4, district="440304", hours=(time(20), time(8)))
    assert plans.choose([city, district], "440304", NOON) is district
    assert plans.choose([city, district], "440303", NOON) is city  # another district: the city's plan
    assert plans.choose([city, district, zone], "440304", NOON) is zone
    assert plans.choose([city, district, night], "440304", NIGHT) is night  # 20:00–08:00 passes midnight
    assert plans.choose([city, district, night], "440304", NOON) is district
    assert plans.choose([candidate(5, in_zone=False)], "440304", NOON) is None


def test_equally_specific_plans_go_to_the_higher_rank_then_the_newer():
    assert plans.choose([candidate(1, rank=5), candidate(2, rank=0)], None, NOON).plan_id == 1
    assert plans.choose([candidate(1), candidate(2)], None, NOON).plan_id == 2


@pytest.mark.parametrize(
    ("levels", "field"),
    [
        ([], "levels"),
        ([{"level": 5}], "levels.0.level"),
        ([level(3), level(3)], "levels"),
        ([{**level(3), "units": [{"agency": "119", "unit_kind": "tank", "count": 1}]}], "levels.0.units.0.unit_kind"),
        (
            [{**level(3), "units": [{"agency": "911", "unit_kind": "fire_engine", "count": 1}]}],
            "levels.0.units.0.agency",
        ),
        (
            [{**level(3), "units": [{"agency": "119", "unit_kind": "fire_engine", "count": 0}]}],
            "levels.0.units.0.count",
        ),
        ([{**level(3), "thresholds": {"deaths_at_least": 3}}], "levels.0.thresholds.deaths_at_least"),
        ([{**level(3), "notify": [{"role": "nobody"}]}], "levels.0.notify.0.role"),
        ([{**level(3), "notify": [{"role": "leader", "duty": "leader_on_duty"}]}], "levels.0.notify.0"),
        ([{**level(3), "notify": [{"role": "leader", "channels": ["fax"]}]}], "levels.0.notify.0.channels"),
        ([{**level(3), "actions": [{"text": "", "owner": "119", "due_minutes": 5}]}], "levels.0.actions.0.text"),
        ([{**level(3), "departments": ["WATER"]}], "levels.0.departments.0"),
        ([{**level(3), "colour": "red"}], "levels.0.colour"),
        ([{**level(3), "stage": [{"kind": "helicopter", "quantity": 1}]}], "levels.0.stage.0.kind"),
    ],
)
def test_a_bad_plan_names_the_path_of_its_fault(levels, field):
    with pytest.raises(plans.PlanError) as error:
        plans.read_levels(levels, TABLES)
    assert error.value.field == field


def test_a_level_reads_back_as_it_was_written():
    written = [plans.level_json(lv) for lv in LEVELS]
    assert plans.read_levels(written, TABLES) == LEVELS
