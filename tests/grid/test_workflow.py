"""The case state machine: every state × action × role against a table written out here by hand.

Pure: no database, no Django models.
"""

import itertools
from datetime import timedelta

import pytest

from grid.workflow import (
    ROLES,
    RULES,
    Action,
    Clock,
    Requirement,
    State,
    WorkflowError,
    allowed_actions,
    initial_state,
    rule_for,
    transition,
)

CENTRE = {"call_taker", "leader", "admin"}
LEADER = {"leader", "admin"}
DISPATCHER = {"grid_dispatcher", "admin"}
HANDLER = {"department_handler"}
INSPECTOR = {"inspector"}

# (state, action) → (next state, roles that may do it). Everything else is refused.
# For the two "back to where it came from" transitions the test passes previous_state (see PREVIOUS_FOR).
EXPECTED = {
    ("reported", "send_confirmation"): ("confirming", CENTRE),
    ("reported", "file"): ("filed", CENTRE),
    ("reported", "reject"): ("invalid", CENTRE),
    ("confirming", "submit_confirmation"): ("reported", INSPECTOR),
    ("confirming", "reject"): ("invalid", CENTRE),
    ("filed", "reject"): ("invalid", LEADER),
    ("filed", "dispatch"): ("dispatched", DISPATCHER),
    ("filed", "suspend"): ("suspended", LEADER),
    ("dispatched", "return_to_center"): ("filed", HANDLER),
    ("dispatched", "handle"): ("handled", HANDLER),
    ("dispatched", "request_postponement"): ("postponement_requested", HANDLER),
    ("dispatched", "suspend"): ("suspended", LEADER),
    ("rework", "return_to_center"): ("filed", HANDLER),
    ("rework", "handle"): ("handled", HANDLER),
    ("rework", "request_postponement"): ("postponement_requested", HANDLER),
    ("rework", "suspend"): ("suspended", LEADER),
    ("postponement_requested", "approve_postponement"): ("postponed", LEADER),
    ("postponement_requested", "deny_postponement"): ("rework", LEADER),
    ("postponed", "handle"): ("handled", HANDLER),
    ("postponed", "suspend"): ("suspended", LEADER),
    ("suspended", "resume"): ("dispatched", LEADER),
    ("handled", "verify_ok"): ("verified", INSPECTOR),
    ("handled", "verify_fail"): ("rework", INSPECTOR),
    ("verified", "close"): ("closed", LEADER),
}
PREVIOUS_FOR = {"deny_postponement": "rework", "resume": "dispatched"}

ALL_STATES = [
    "reported", "confirming", "filed", "invalid", "dispatched", "postponement_requested", "postponed",
    "suspended", "handled", "rework", "verified", "closed",
]  # fmt: skip
ALL_ACTIONS = [
    "send_confirmation", "submit_confirmation", "file", "reject", "dispatch", "return_to_center", "handle",
    "request_postponement", "approve_postponement", "deny_postponement", "suspend", "resume", "verify_ok",
    "verify_fail", "close",
]  # fmt: skip
ALL_ROLES = ["inspector", "call_taker", "operator", "grid_dispatcher", "department_handler", "leader", "admin"]
ROLE_SETS = [(role,) for role in ALL_ROLES] + [()]  # () = a citizen / no role


def full_context(action):
    """A context meeting every requirement, so only state and role decide."""
    return {
        "photos": ["fix.jpg"],
        "position": (114.30, 30.59),
        "category": "0101",
        "grid": "420102001001001",
        "department": "D-SANITATION",
        "actor_department": "D-SANITATION",
        "case_department": "D-SANITATION",
        "note": "原因 / reason",
        "extension": timedelta(hours=8),
        "previous_state": PREVIOUS_FOR.get(action),
    }


def test_the_lists_here_are_the_modules_lists():
    assert sorted(ALL_STATES) == sorted(s.value for s in State)
    assert sorted(ALL_ACTIONS) == sorted(a.value for a in Action)
    assert sorted(ALL_ROLES) == sorted(r.value for r in ROLES)
    assert set(RULES) == set(EXPECTED)


@pytest.mark.parametrize("roles", ROLE_SETS, ids=lambda r: "+".join(r) or "no-role")
@pytest.mark.parametrize("action", ALL_ACTIONS)
@pytest.mark.parametrize("state", ALL_STATES)
def test_every_state_action_role(state, action, roles):
    expected = EXPECTED.get((state, action))
    context = full_context(action)
    if expected is not None and set(roles) & expected[1]:
        assert transition(state, action, roles, context) == expected[0]
        return
    with pytest.raises(WorkflowError) as refused:
        transition(state, action, roles, context)
    error = refused.value
    assert error.code == ("illegal_transition" if expected is None else "role_not_allowed")
    message = str(error)
    assert f"'{state}'" in message and f"'{action}'" in message
    assert (roles[0] if roles else "no role") in message
    assert any("\u4e00" <= ch <= "\u9fff" for ch in message)  # the Chinese half


@pytest.mark.parametrize("state", ALL_STATES)
def test_every_combination_of_roles(state):
    """Users with several roles: allowed when any of their roles is allowed."""
    for n in range(len(ALL_ROLES) + 1):
        for roles in itertools.combinations(ALL_ROLES, n):
            for action in ALL_ACTIONS:
                expected = EXPECTED.get((state, action))
                if expected is not None and set(roles) & expected[1]:
                    assert transition(state, action, roles, full_context(action)) == expected[0]
                else:
                    with pytest.raises(WorkflowError):
                        transition(state, action, roles, full_context(action))


@pytest.mark.parametrize("state", ALL_STATES)
@pytest.mark.parametrize("roles", ROLE_SETS, ids=lambda r: "+".join(r) or "no-role")
def test_allowed_actions_are_the_buttons(state, roles):
    expected = {a for (s, a), (_, who) in EXPECTED.items() if s == state and set(roles) & who}
    assert set(allowed_actions(state, roles)) == expected
    assert set(allowed_actions(state, roles, full_context(None))) <= expected


def test_terminal_states_allow_nothing():
    for state in ("invalid", "closed"):
        for action in ALL_ACTIONS:
            with pytest.raises(WorkflowError, match="not possible"):
                transition(state, action, ALL_ROLES, full_context(action))


@pytest.mark.parametrize(("state", "action"), sorted(EXPECTED))
def test_each_requirement_is_enforced(state, action):
    rule = rule_for(state, action)
    roles = sorted(EXPECTED[state, action][1])[:1]
    for requirement in rule.requires:
        context = full_context(action)
        key = {
            Requirement.PHOTO: "photos",
            Requirement.OWN_DEPARTMENT: "actor_department",
        }.get(requirement, requirement.value)
        context[key] = None
        with pytest.raises(WorkflowError) as refused:
            transition(state, action, roles, context)
        assert refused.value.code == "requirement_unmet"
        assert requirement in refused.value.missing
        assert f"'{state}'" in str(refused.value) and f"'{action}'" in str(refused.value)


def test_conditions_by_name():
    # verify needs a photo and a position
    with pytest.raises(WorkflowError, match="photo, position"):
        transition("handled", "verify_ok", ["inspector"], {"photos": [], "position": None})
    assert transition("handled", "verify_ok", ["inspector"], {"photos": ["a.jpg"], "position": (1, 2)}) == "verified"
    # dispatch needs a department
    with pytest.raises(WorkflowError, match="department"):
        transition("filed", "dispatch", ["grid_dispatcher"], {})
    # handle needs the case's department to be the handler's
    ctx = {"photos": ["a.jpg"], "actor_department": "D-PARKS", "case_department": "D-SANITATION"}
    with pytest.raises(WorkflowError, match="own_department"):
        transition("dispatched", "handle", ["department_handler"], ctx)
    ctx["actor_department"] = "D-SANITATION"
    assert transition("dispatched", "handle", ["department_handler"], ctx) == "handled"
    # file needs category and grid; reject needs a reason; postponement needs a positive extension
    with pytest.raises(WorkflowError, match="category, grid"):
        transition("reported", "file", ["call_taker"], {"note": "x"})
    with pytest.raises(WorkflowError, match="note"):
        transition("reported", "reject", ["call_taker"], {"note": "   "})
    ctx = {"actor_department": "D", "case_department": "D", "note": "rain", "extension": timedelta(0)}
    with pytest.raises(WorkflowError, match="extension"):
        transition("dispatched", "request_postponement", ["department_handler"], ctx)


@pytest.mark.parametrize("previous", ["filed", "dispatched", "rework", "postponed"])
def test_resume_goes_back_where_it_was_suspended(previous):
    assert transition(previous, "suspend", ["leader"], {"note": "暴雨"}) == "suspended"
    assert transition("suspended", "resume", ["leader"], {"previous_state": previous}) == previous


@pytest.mark.parametrize("previous", ["dispatched", "rework"])
def test_denied_postponement_goes_back(previous):
    ctx = {"previous_state": previous, "note": "不符合延期条件"}
    assert transition("postponement_requested", "deny_postponement", ["leader"], ctx) == previous


@pytest.mark.parametrize("bad", [None, "closed", "handled", "reported", "nonsense"])
def test_back_transitions_refuse_a_previous_state_the_case_cannot_have_had(bad):
    with pytest.raises(WorkflowError, match="previous_state"):
        transition("suspended", "resume", ["leader"], {"previous_state": bad})
    with pytest.raises(WorkflowError, match="previous_state"):
        transition("postponement_requested", "deny_postponement", ["leader"], {"previous_state": bad, "note": "x"})


def test_unknown_state_or_action_is_refused_not_crashed():
    with pytest.raises(WorkflowError, match="not possible"):
        transition("archived", "close", ["leader"])
    with pytest.raises(WorkflowError, match="not possible"):
        transition("verified", "delete", ["admin"])


def test_initial_state():
    assert initial_state(["inspector"]) == "reported"
    assert initial_state(["call_taker"]) == "reported"
    assert initial_state(["operator"]) == "reported"  # an incident's follow-up case
    assert initial_state([], channel="open311") == "reported"
    with pytest.raises(WorkflowError, match="report"):
        initial_state([])
    with pytest.raises(WorkflowError, match="department_handler"):
        initial_state(["department_handler"])


# Which stage clock each transition starts / stops (the rest: none).
CLOCKS = {
    ("reported", "send_confirmation"): ({"confirmation"}, set()),
    ("confirming", "submit_confirmation"): (set(), {"confirmation"}),
    ("confirming", "reject"): (set(), {"confirmation"}),
    ("reported", "file"): ({"dispatch"}, set()),
    ("filed", "reject"): (set(), {"dispatch"}),
    ("filed", "dispatch"): ({"handling"}, {"dispatch"}),
    ("dispatched", "return_to_center"): ({"dispatch"}, {"handling"}),
    ("rework", "return_to_center"): ({"dispatch"}, {"handling"}),
    ("dispatched", "handle"): ({"verification"}, {"handling"}),
    ("rework", "handle"): ({"verification"}, {"handling"}),
    ("postponed", "handle"): ({"verification"}, {"handling"}),
    ("handled", "verify_ok"): (set(), {"verification"}),
    ("handled", "verify_fail"): ({"handling"}, {"verification"}),
    ("verified", "close"): (set(), {"confirmation", "dispatch", "handling", "verification"}),
}


@pytest.mark.parametrize(("state", "action"), sorted(EXPECTED))
def test_stage_clocks(state, action):
    rule = rule_for(state, action)
    starts, stops = CLOCKS.get((state, action), (set(), set()))
    assert {c.value for c in rule.starts} == starts
    assert {c.value for c in rule.stops} == stops
    assert rule.pauses_all == (action == "suspend")
    assert rule.resumes_all == (action == "resume")
    assert {c.value for c in rule.extends} == ({"handling"} if action == "approve_postponement" else set())


def test_a_happy_path_with_rework_leaves_no_clock_running():
    steps = [
        ("file", ["call_taker"]),
        ("dispatch", ["grid_dispatcher"]),
        ("handle", ["department_handler"]),
        ("verify_fail", ["inspector"]),
        ("handle", ["department_handler"]),
        ("verify_ok", ["inspector"]),
        ("close", ["leader"]),
    ]
    state, running = State.REPORTED, set()
    for action, roles in steps:
        rule = rule_for(state, action)
        state = transition(state, action, roles, full_context(action))
        assert not (rule.starts & running), f"{action} restarts a running clock"
        running = (running - rule.stops) | rule.starts
    assert state == "closed" and running == set()
    assert Clock.HANDLING not in running
