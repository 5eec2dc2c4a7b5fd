"""The fence rule engine without a database: recorded tracks against rules, as a table (tracks.csv: one fix a minute
across a 1 km square fence; rule_table.csv: track, start, vehicle, rule, the alarms expected at which fix)."""

import csv
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import shapely

from fences import engine
from fences.engine import Calendar, FixRow, Rule, RuleSet, State

HERE = Path(__file__).parent
CITY_TZ = ZoneInfo("Asia/Shanghai")
FENCE = shapely.box(114.050, 22.540, 114.060, 22.550)
SCHOOL_HOURS = Calendar(frozenset(range(5)), ((time(7), time(9)),), frozenset({date(2026, 12, 25)}))
RULES = {
    "enter": Rule("enter", 1, engine.ENTER),
    "exit": Rule("exit", 1, engine.EXIT),
    "speed50": Rule("speed50", 1, engine.SPEED, threshold=50),
    "school30": Rule("school30", 1, engine.SPEED, threshold=30, calendars=(SCHOOL_HOURS,)),
    "dwell30": Rule("dwell30", 1, engine.DWELL, threshold=30),
    "dwell45": Rule("dwell45", 1, engine.DWELL, threshold=45),
    "no_go": Rule("no_go", 1, engine.NO_GO),
    "night_enter": Rule("night_enter", 1, engine.ENTER, calendars=(Calendar(ranges=((time(22), time(6)),)),)),
    "group7_enter": Rule("group7_enter", 1, engine.ENTER, target=engine.GROUP, target_value="7"),
    "unit42_enter": Rule("unit42_enter", 1, engine.ENTER, target=engine.VEHICLE, target_value="42"),
    "coach_enter": Rule("coach_enter", 1, engine.ENTER, target=engine.KIND, target_value="coach"),
}


def _tracks() -> dict[str, list[dict]]:
    tracks: dict[str, list[dict]] = {}
    with open(HERE / "tracks.csv", newline="") as f:
        for row in csv.DictReader(f):
            tracks.setdefault(row["track"], []).append(row)
    return tracks


TRACKS = _tracks()
with open(HERE / "rule_table.csv", newline="") as _f:
    TABLE = list(csv.DictReader(_f))


def _fixes(case: dict) -> list[FixRow]:
    start = datetime.fromisoformat(case["start"]).replace(tzinfo=CITY_TZ)
    groups = frozenset(int(g) for g in case["groups"].split()) if case["groups"] else frozenset()
    return [
        FixRow(int(case["vehicle"]), case["kind"], groups, start + timedelta(minutes=int(r["minute"])),
               float(r["lon"]), float(r["lat"]), float(r["speed_kmh"]))
        for r in TRACKS[case["track"]]
    ]  # fmt: skip


def _said(events, fixes) -> str:
    index = {fix.at: i for i, fix in enumerate(fixes)}
    return " ".join(f"{e.action}@{index[e.at]}" for e in events)


@pytest.mark.parametrize("case", TABLE, ids=[f"{c['track']}-{c['rule']}-{c['start'][5:]}-{c['kind']}" for c in TABLE])
def test_rule_table(case):
    rules = RuleSet([(1, FENCE)], [RULES[case["rule"]]], CITY_TZ)
    fixes = _fixes(case)
    # the whole track in one batch, given shuffled: the engine takes each vehicle's fixes in time order
    shuffled = fixes[1::2] + fixes[::2]
    assert _said(rules.evaluate(shuffled, State()).events, fixes) == case["expected"]
    # fix by fix, the state carried through its stored form (presence and open conditions, as after a restart)
    state, events = State(), []
    for fix in fixes:
        events += rules.evaluate([fix], state).events
        state = State(presence=dict(state.presence), open=set(state.open))
    assert _said(events, fixes) == case["expected"]


def test_presence_changes_are_what_the_caller_stores():
    rules = RuleSet([(1, FENCE), (2, shapely.box(114.0, 22.0, 114.01, 22.01))], [RULES["enter"]], CITY_TZ)
    fixes = _fixes({"track": "through", "start": "2026-12-07T08:00", "vehicle": "5", "kind": "bus", "groups": ""})
    state = State()
    entered = rules.evaluate(fixes[:5], state)
    assert entered.entered == {(5, 1): fixes[3].at} and not entered.left
    assert state.presence == {(5, 1): fixes[3].at}
    left = rules.evaluate(fixes[5:], state)
    assert left.left == {(5, 1)} and not left.entered and state.presence == {}
    # a fence without any rule is not indexed at all
    assert rules.fence_ids.tolist() == [1]


def test_many_vehicles_many_fences_in_one_bulk_query():
    """200 fences in a row, 300 vehicles: each vehicle's enter lands on the fence its point lies in, none other."""
    fences = [(i, shapely.box(114 + i * 0.01, 22.5, 114 + i * 0.01 + 0.005, 22.505)) for i in range(200)]
    rules = RuleSet(fences, [Rule(f"r{i}", i, engine.ENTER) for i in range(200)], CITY_TZ)
    at = datetime(2026, 12, 7, 8, tzinfo=CITY_TZ)
    fixes = [FixRow(v, "bus", frozenset(), at, 114 + (v % 200) * 0.01 + 0.001 + (v >= 200) * 0.006, 22.501, 30)
             for v in range(300)]  # fmt: skip
    events = rules.evaluate(fixes, State()).events
    assert sorted((e.vehicle_id, e.rule.fence_id) for e in events) == [(v, v) for v in range(200)]


@pytest.mark.parametrize(
    "data, says",
    [("x", "a list"), ([{"weekdays": [7]}], "weekdays"), ([{"ranges": [["7:00"]]}], "HH:MM"),
     ([{"dates_off": ["2026-13-01"]}], "YYYY-MM-DD"), ([{"weekday": [1]}], "an object"),
     ([{"weekdays": []}], "at least")],
)  # fmt: skip
def test_bad_calendars_are_refused_with_the_reason(data, says):
    with pytest.raises(ValueError, match=says):
        engine.parse_calendars(data)


def test_calendar_json_reads_back():
    (calendar,) = engine.parse_calendars(
        [{"weekdays": [0, 1], "ranges": [["07:30", "08:30"]], "dates_off": ["2026-12-08"]}]
    )
    monday = datetime(2026, 12, 7, 8, tzinfo=CITY_TZ)
    assert calendar.covers(monday) and not calendar.covers(monday + timedelta(hours=1))
    assert not calendar.covers(monday + timedelta(days=1))  # a date off
    assert not calendar.covers(monday + timedelta(days=2))  # Wednesday
