"""The case (案卷) workflow of 数字城管 as data: states, actions, roles, conditions and stage clocks.

Pure Python, no Django (its error is a plain ``core.errors.Refusal``): ``grid/services.py`` loads the case,
builds a *context* from the database (photos, position, department, the actor's organisation …), calls
:func:`transition`, records the transition and publishes it. Nothing here reads the database or the clock.

Workflow (grid-standards.md §4.1: 信息收集 → 立案 → 派遣 → 处置 → 处置反馈 → 核查结案)::

    reported ─file→ filed ─dispatch→ dispatched ─handle→ handled ─verify_ok→ verified ─close→ closed
    reported ─send_confirmation→ confirming ─submit_confirmation→ reported        (核实 of public reports)
    reported | confirming | filed ─reject→ invalid                                 (不予受理 / 作废)
    dispatched | rework ─return_to_center→ filed                                   (回退, re-dispatch)
    handled ─verify_fail→ rework ─handle→ handled                                  (返工)
    dispatched | rework ─request_postponement→ postponement_requested
        ─approve_postponement→ postponed ─handle→ handled  |  ─deny_postponement→ (where it came from)
    filed | dispatched | rework | postponed ─suspend→ suspended ─resume→ (where it came from)

States (值 = the string stored in the database):

=========================  ==============  ================================================================
state                      中文            meaning
=========================  ==============  ================================================================
``reported``               已上报/待受理   a report arrived (inspector tablet, call taker, citizen via Open311)
``confirming``             待核实          the call taker sent an inspector to confirm a public report (核实)
``filed``                  已立案/待派遣   accepted and registered with category + grid; waits for dispatch
``invalid``                已作废          rejected (不予受理/不予立案) or voided (作废) — terminal
``dispatched``             已派遣/处置中   sent to the responsible department
``postponement_requested`` 延期申请中      the department asked for more time; the handling clock still runs
``postponed``              已延期/处置中   postponement approved; handling continues with the extended deadline
``suspended``              已挂起          handling cannot proceed (weather, legal procedure …); clocks paused
``handled``                已处置/待核查   the department fed back (处置反馈, with photos); an inspector checks
``rework``                 返工            the check failed; back to the same department
``verified``               核查通过/待结案 the inspector confirmed the fix on site
``closed``                 已结案          closed by the shift leader — terminal
=========================  ==============  ================================================================

Roles: ``inspector`` 监督员, ``call_taker`` 受理员, ``grid_dispatcher`` 派遣员, ``department_handler``
专业部门, ``operator`` 指挥中心值班员 (reports an incident's follow-up case, nothing else), ``leader``
(值班长/领导: files, voids, closes, approves postponement and suspension), ``admin`` (may perform the
centre's actions as a correction, never the field actions — handling, on-site confirmation and checks — so
"who did it" stays true). A citizen report has no role: it enters as
``reported`` through Open311 (:func:`initial_state` with ``channel="open311"``).

Two centre roles never judge their own work ("two axes"): the department handles, the inspector
checks, the leader closes.

``resume`` and ``deny_postponement`` go back to the state the case came from; the caller passes it as
``context["previous_state"]`` (from the case history), and it must be one of the states from which
the case could have entered (``suspend``/``request_postponement`` origins).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from core.errors import Refusal

__all__ = [
    "ACTION_LABELS",
    "PREVIOUS",
    "REPORTING_ROLES",
    "REQUIREMENT_FIELDS",
    "REQUIREMENT_LABELS",
    "ROLES",
    "RULES",
    "STATE_LABELS",
    "TERMINAL_STATES",
    "Action",
    "Clock",
    "Requirement",
    "Role",
    "Rule",
    "State",
    "WorkflowError",
    "allowed_actions",
    "initial_state",
    "missing_requirements",
    "rule_for",
    "transition",
]


class State(StrEnum):
    REPORTED = "reported"
    CONFIRMING = "confirming"
    FILED = "filed"
    INVALID = "invalid"
    DISPATCHED = "dispatched"
    POSTPONEMENT_REQUESTED = "postponement_requested"
    POSTPONED = "postponed"
    SUSPENDED = "suspended"
    HANDLED = "handled"
    REWORK = "rework"
    VERIFIED = "verified"
    CLOSED = "closed"


class Action(StrEnum):
    SEND_CONFIRMATION = "send_confirmation"  # 发核实
    SUBMIT_CONFIRMATION = "submit_confirmation"  # 核实反馈
    FILE = "file"  # 受理立案
    REJECT = "reject"  # 不予受理 / 不予立案 / 作废
    DISPATCH = "dispatch"  # 派遣
    RETURN_TO_CENTER = "return_to_center"  # 回退
    HANDLE = "handle"  # 处置反馈
    REQUEST_POSTPONEMENT = "request_postponement"  # 申请延期
    APPROVE_POSTPONEMENT = "approve_postponement"  # 批准延期
    DENY_POSTPONEMENT = "deny_postponement"  # 驳回延期
    SUSPEND = "suspend"  # 挂起
    RESUME = "resume"  # 恢复
    VERIFY_OK = "verify_ok"  # 核查通过
    VERIFY_FAIL = "verify_fail"  # 核查未通过 → 返工
    CLOSE = "close"  # 结案


class Role(StrEnum):
    INSPECTOR = "inspector"
    CALL_TAKER = "call_taker"
    OPERATOR = "operator"  # reports only: an incident's follow-up case (emergency/crossover.py)
    GRID_DISPATCHER = "grid_dispatcher"
    DEPARTMENT_HANDLER = "department_handler"
    LEADER = "leader"
    ADMIN = "admin"


ROLES: tuple[Role, ...] = tuple(Role)


class Clock(StrEnum):
    """Stage clocks, each with its own deadline from the category's time limits (grid/calendar.py)."""

    CONFIRMATION = "confirmation"  # 核实时限: send_confirmation → submit_confirmation
    DISPATCH = "dispatch"  # 派遣时限: file (or return_to_center) → dispatch
    HANDLING = "handling"  # 处置时限: dispatch (or verify_fail) → handle; extended by an approved postponement
    VERIFICATION = "verification"  # 核查时限: handle → verify_ok / verify_fail


class Requirement(StrEnum):
    """Conditions the caller proves with data in ``context`` (keys named after the requirement)."""

    PHOTO = "photo"  # context["photos"]: non-empty sequence
    POSITION = "position"  # context["position"]: not None (lon, lat)
    CATEGORY = "category"  # context["category"]: the standard class code
    GRID = "grid"  # context["grid"]: the unit-grid code found from the position
    DEPARTMENT = "department"  # context["department"]: the department the case is sent to
    OWN_DEPARTMENT = "own_department"  # context["actor_department"] == context["case_department"] (both set)
    NOTE = "note"  # context["note"]: a non-blank reason
    EXTENSION = "extension"  # context["extension"]: the requested extra time (> 0)
    PREVIOUS_STATE = "previous_state"  # context["previous_state"]: where to go back to (resume / deny)


# The API field that satisfies each requirement, so a refusal names what the client must send.
REQUIREMENT_FIELDS = {
    Requirement.PHOTO: "photo",
    Requirement.POSITION: "location",
    Requirement.CATEGORY: "category_code",
    Requirement.GRID: "location",
    Requirement.DEPARTMENT: "department_id",
    Requirement.NOTE: "note",
    Requirement.EXTENSION: "postpone_hours",
    Requirement.PREVIOUS_STATE: "stage",
}


STATE_LABELS: dict[State, str] = {
    State.REPORTED: "已上报",
    State.CONFIRMING: "待核实",
    State.FILED: "已立案",
    State.INVALID: "已作废",
    State.DISPATCHED: "已派遣",
    State.POSTPONEMENT_REQUESTED: "延期申请中",
    State.POSTPONED: "已延期",
    State.SUSPENDED: "已挂起",
    State.HANDLED: "已处置",
    State.REWORK: "返工",
    State.VERIFIED: "核查通过",
    State.CLOSED: "已结案",
}

ACTION_LABELS: dict[Action, str] = {
    Action.SEND_CONFIRMATION: "发核实",
    Action.SUBMIT_CONFIRMATION: "核实反馈",
    Action.FILE: "受理立案",
    Action.REJECT: "作废",
    Action.DISPATCH: "派遣",
    Action.RETURN_TO_CENTER: "回退",
    Action.HANDLE: "处置反馈",
    Action.REQUEST_POSTPONEMENT: "申请延期",
    Action.APPROVE_POSTPONEMENT: "批准延期",
    Action.DENY_POSTPONEMENT: "驳回延期",
    Action.SUSPEND: "挂起",
    Action.RESUME: "恢复",
    Action.VERIFY_OK: "核查通过",
    Action.VERIFY_FAIL: "核查未通过",
    Action.CLOSE: "结案",
}

REQUIREMENT_LABELS: dict[Requirement, str] = {
    Requirement.PHOTO: "需要照片 / a photo is required",
    Requirement.POSITION: "需要位置 / a position is required",
    Requirement.CATEGORY: "需要案件类别 / a category is required",
    Requirement.GRID: "需要单元网格 / a unit grid is required",
    Requirement.DEPARTMENT: "需要指定处置部门 / a department is required",
    Requirement.OWN_DEPARTMENT: "只能处置派给本部门的案卷 / the case must be assigned to the handler's department",
    Requirement.NOTE: "需要填写原因 / a reason (note) is required",
    Requirement.EXTENSION: "需要申请的延期时长 / the requested extension is required",
    Requirement.PREVIOUS_STATE: "需要原状态 / the previous state is required",
}

TERMINAL_STATES = frozenset({State.INVALID, State.CLOSED})

#: Roles that may create a report from the consoles/tablet; citizens come in without a role via Open311.
REPORTING_ROLES = frozenset({Role.INSPECTOR, Role.CALL_TAKER, Role.OPERATOR, Role.ADMIN})

#: Marker for "back to the state before" (resume, deny_postponement): see the module docstring.
PREVIOUS = "previous"


@dataclass(frozen=True)
class Rule:
    """One allowed (state, action): who may do it, what it needs, where it leads, which clocks it moves."""

    state: State
    action: Action
    next_state: State | str  # a State, or PREVIOUS
    roles: frozenset[Role]
    requires: frozenset[Requirement] = frozenset()
    starts: frozenset[Clock] = frozenset()  # clocks started (a new deadline is computed from now)
    stops: frozenset[Clock] = frozenset()  # clocks stopped (the stage is done; on time if now <= deadline)
    pauses_all: bool = False  # suspend: every running clock pauses (remaining working time is kept)
    resumes_all: bool = False  # resume: paused clocks continue (new deadline = now + remaining)
    extends: frozenset[Clock] = frozenset()  # approve_postponement: deadline moved by context["extension"]
    back_from: frozenset[State] = field(default=frozenset())  # for PREVIOUS: the states one may go back to


_CENTRE = frozenset({Role.CALL_TAKER, Role.LEADER, Role.ADMIN})
_LEADER = frozenset({Role.LEADER, Role.ADMIN})
_DISPATCHER = frozenset({Role.GRID_DISPATCHER, Role.ADMIN})
_DEPT = frozenset({Role.DEPARTMENT_HANDLER})
_INSPECTOR = frozenset({Role.INSPECTOR})
_HANDLING_STATES = (State.DISPATCHED, State.REWORK, State.POSTPONED)
_SUSPENDABLE = frozenset({State.FILED, State.DISPATCHED, State.REWORK, State.POSTPONED})
_POSTPONABLE = frozenset({State.DISPATCHED, State.REWORK})
_ALL_CLOCKS = frozenset(Clock)
_EVIDENCE = frozenset({Requirement.PHOTO, Requirement.POSITION})


def _r(state, action, next_state, roles, requires=(), **kw) -> Rule:
    return Rule(State(state), Action(action), next_state, frozenset(roles), frozenset(requires), **kw)


_RULES: list[Rule] = [
    # 受理 / 核实 / 立案
    _r(State.REPORTED, Action.SEND_CONFIRMATION, State.CONFIRMING, _CENTRE, starts=frozenset({Clock.CONFIRMATION})),
    _r(
        State.CONFIRMING,
        Action.SUBMIT_CONFIRMATION,
        State.REPORTED,
        _INSPECTOR,
        _EVIDENCE,
        stops=frozenset({Clock.CONFIRMATION}),
    ),
    _r(
        State.REPORTED,
        Action.FILE,
        State.FILED,
        _CENTRE,
        {Requirement.CATEGORY, Requirement.GRID},
        starts=frozenset({Clock.DISPATCH}),
    ),
    _r(State.REPORTED, Action.REJECT, State.INVALID, _CENTRE, {Requirement.NOTE}),
    _r(
        State.CONFIRMING,
        Action.REJECT,
        State.INVALID,
        _CENTRE,
        {Requirement.NOTE},
        stops=frozenset({Clock.CONFIRMATION}),
    ),
    _r(State.FILED, Action.REJECT, State.INVALID, _LEADER, {Requirement.NOTE}, stops=frozenset({Clock.DISPATCH})),
    # 派遣 / 回退
    _r(
        State.FILED,
        Action.DISPATCH,
        State.DISPATCHED,
        _DISPATCHER,
        {Requirement.DEPARTMENT},
        starts=frozenset({Clock.HANDLING}),
        stops=frozenset({Clock.DISPATCH}),
    ),
    *(
        _r(
            s,
            Action.RETURN_TO_CENTER,
            State.FILED,
            _DEPT,
            {Requirement.OWN_DEPARTMENT, Requirement.NOTE},
            starts=frozenset({Clock.DISPATCH}),
            stops=frozenset({Clock.HANDLING}),
        )
        for s in (State.DISPATCHED, State.REWORK)
    ),
    # 处置反馈
    *(
        _r(
            s,
            Action.HANDLE,
            State.HANDLED,
            _DEPT,
            {Requirement.OWN_DEPARTMENT, Requirement.PHOTO},
            starts=frozenset({Clock.VERIFICATION}),
            stops=frozenset({Clock.HANDLING}),
        )
        for s in _HANDLING_STATES
    ),
    # 延期
    *(
        _r(
            s,
            Action.REQUEST_POSTPONEMENT,
            State.POSTPONEMENT_REQUESTED,
            _DEPT,
            {Requirement.OWN_DEPARTMENT, Requirement.NOTE, Requirement.EXTENSION},
        )
        for s in sorted(_POSTPONABLE)
    ),
    _r(
        State.POSTPONEMENT_REQUESTED,
        Action.APPROVE_POSTPONEMENT,
        State.POSTPONED,
        _LEADER,
        {Requirement.EXTENSION},
        extends=frozenset({Clock.HANDLING}),
    ),
    _r(
        State.POSTPONEMENT_REQUESTED,
        Action.DENY_POSTPONEMENT,
        PREVIOUS,
        _LEADER,
        {Requirement.NOTE, Requirement.PREVIOUS_STATE},
        back_from=_POSTPONABLE,
    ),
    # 挂起 / 恢复
    *(
        _r(s, Action.SUSPEND, State.SUSPENDED, _LEADER, {Requirement.NOTE}, pauses_all=True)
        for s in sorted(_SUSPENDABLE)
    ),
    _r(
        State.SUSPENDED,
        Action.RESUME,
        PREVIOUS,
        _LEADER,
        {Requirement.PREVIOUS_STATE},
        resumes_all=True,
        back_from=_SUSPENDABLE,
    ),
    # 核查 / 返工 / 结案
    _r(State.HANDLED, Action.VERIFY_OK, State.VERIFIED, _INSPECTOR, _EVIDENCE, stops=frozenset({Clock.VERIFICATION})),
    _r(
        State.HANDLED,
        Action.VERIFY_FAIL,
        State.REWORK,
        _INSPECTOR,
        _EVIDENCE,
        starts=frozenset({Clock.HANDLING}),
        stops=frozenset({Clock.VERIFICATION}),
    ),
    _r(State.VERIFIED, Action.CLOSE, State.CLOSED, _LEADER, stops=_ALL_CLOCKS),
]

#: The table: (state, action) → Rule. Any pair not in it is an illegal transition.
RULES: dict[tuple[State, Action], Rule] = {}
for _rule in _RULES:
    assert (_rule.state, _rule.action) not in RULES, (_rule.state, _rule.action)
    RULES[_rule.state, _rule.action] = _rule


class WorkflowError(Refusal):
    """A refused transition; ``code`` is ``illegal_transition``, ``role_not_allowed`` or ``requirement_unmet``.

    Answered 409 (not possible in this stage), 403 (the role, or another department's case) or 400 (the first
    missing input named as ``field``), always naming the stage, the action and the actor's roles."""

    def __init__(
        self,
        code: str,
        state: str,
        action: str,
        roles: Iterable[str],
        message: str,
        missing: Iterable[Requirement] = (),
    ):
        self.code = code
        self.state = state
        self.action = action
        self.roles = sorted(str(r) for r in roles)
        self.missing = tuple(missing)
        super().__init__(message)

    @property
    def status(self) -> int:
        if self.code == "illegal_transition":
            return 409
        if self.code == "role_not_allowed" or Requirement.OWN_DEPARTMENT in self.missing:
            return 403
        return 400

    def as_json(self) -> dict:
        body = {
            "error": self.code,
            "detail": self.detail,
            "stage": self.state,
            "action": self.action,
            "roles": self.roles,
        }
        if self.code in ("illegal_transition", "role_not_allowed"):
            return body
        if Requirement.OWN_DEPARTMENT in self.missing:
            return {**body, "error": "wrong_department"}
        field = REQUIREMENT_FIELDS.get(self.missing[0], "action") if self.missing else "action"
        return {**body, "error": "invalid_input", "field": field, "missing": [m.value for m in self.missing]}


def _label(table: Mapping, key: str) -> str:
    try:
        return table[key]
    except KeyError:
        return "?"


def _roles_text(roles: Iterable[str]) -> str:
    roles = sorted(str(r) for r in roles)
    return ", ".join(roles) if roles else "无角色/no role"


def rule_for(state: str, action: str) -> Rule | None:
    """The rule for (state, action), or None when the transition does not exist for any role."""
    try:
        return RULES.get((State(state), Action(action)))
    except ValueError:
        return None


def _present(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, list | tuple | set | frozenset | dict):
        return len(value) > 0
    return True


def _met(requirement: Requirement, rule: Rule, context: Mapping[str, Any]) -> bool:
    if requirement is Requirement.PHOTO:
        return _present(context.get("photos"))
    if requirement is Requirement.OWN_DEPARTMENT:
        mine, case = context.get("actor_department"), context.get("case_department")
        return mine is not None and case is not None and mine == case
    if requirement is Requirement.EXTENSION:
        extension = context.get("extension")
        try:
            return extension is not None and extension > type(extension)(0)
        except TypeError:
            return False
    if requirement is Requirement.PREVIOUS_STATE:
        return context.get("previous_state") in {str(s) for s in rule.back_from}
    return _present(context.get(requirement.value))


def missing_requirements(rule: Rule, context: Mapping[str, Any] | None) -> list[Requirement]:
    """The requirements of ``rule`` that ``context`` does not satisfy, in a stable order."""
    context = context or {}
    return [req for req in Requirement if req in rule.requires and not _met(req, rule, context)]


def transition(state: str, action: str, actor_roles: Iterable[str], context: Mapping[str, Any] | None = None) -> State:
    """The state after ``action``; raises :class:`WorkflowError` (bilingual message) when refused.

    Checks in order: the transition exists for the state, one of ``actor_roles`` may perform it,
    then the rule's requirements against ``context``.
    """
    roles = frozenset(str(r) for r in actor_roles)
    context = context or {}
    st_label, act_label = _label(STATE_LABELS, state), _label(ACTION_LABELS, action)
    rule = rule_for(state, action)
    if rule is None:
        raise WorkflowError(
            "illegal_transition",
            state,
            action,
            roles,
            f"案卷状态「{st_label}」下不能执行「{act_label}」（角色：{_roles_text(roles)}）/ "
            f"action '{action}' is not possible in state '{state}' (roles: {_roles_text(roles)})",
        )
    if not roles & {str(r) for r in rule.roles}:
        raise WorkflowError(
            "role_not_allowed",
            state,
            action,
            roles,
            f"角色 {_roles_text(roles)} 无权在状态「{st_label}」下执行「{act_label}」，"
            f"允许的角色：{_roles_text(rule.roles)} / roles [{_roles_text(roles)}] may not perform "
            f"'{action}' in state '{state}'; allowed: {_roles_text(rule.roles)}",
        )
    missing = missing_requirements(rule, context)
    if missing:
        what = "；".join(REQUIREMENT_LABELS[m] for m in missing)
        raise WorkflowError(
            "requirement_unmet",
            state,
            action,
            roles,
            f"状态「{st_label}」下角色 {_roles_text(roles)} 执行「{act_label}」的条件不满足：{what} / "
            f"'{action}' in state '{state}' by [{_roles_text(roles)}] is missing: "
            f"{', '.join(m.value for m in missing)}",
            missing,
        )
    if rule.next_state == PREVIOUS:
        return State(context["previous_state"])
    return State(rule.next_state)


def allowed_actions(state: str, actor_roles: Iterable[str], context: Mapping[str, Any] | None = None) -> list[Action]:
    """Actions ``actor_roles`` may perform in ``state`` (for the UI buttons), in the table's order.

    Without ``context`` only state and roles count (show the button, check the data on submit);
    with ``context`` the requirements must be met too.
    """
    roles = frozenset(str(r) for r in actor_roles)
    out = []
    for rule in _RULES:
        if rule.state != state or not roles & {str(r) for r in rule.roles}:
            continue
        if context is not None and missing_requirements(rule, context):
            continue
        out.append(rule.action)
    return out


def initial_state(actor_roles: Iterable[str], channel: str = "console") -> State:
    """The state of a new report: ``reported``. Without a role a report comes only through ``open311`` (citizens) or
    ``upper_platform`` (a task the provincial/national platform sent down)."""
    roles = frozenset(str(r) for r in actor_roles)
    if channel in ("open311", "upper_platform") or roles & {str(r) for r in REPORTING_ROLES}:
        return State.REPORTED
    raise WorkflowError(
        "role_not_allowed",
        "",
        "report",
        roles,
        f"角色 {_roles_text(roles)} 无权上报案卷（渠道：{channel}）/ roles [{_roles_text(roles)}] may not "
        f"report a case through channel '{channel}'",
    )
