"""Every state × action × role against the grid services on the real database: legal moves land in the next
state of the table written out by hand in test_workflow.py, everything else is refused (illegal transition,
wrong role, not the handler's case) and changes nothing. The HTTP API is checked for every action once legal,
once by a wrong role and once in an illegal state (status code and error body)."""

import io
import json

import pytest
from django.db import transaction
from django.db.models import Count
from PIL import Image

from core.models import AdminArea, Organisation
from grid import selectors, services
from grid.models import Case, CaseTransition
from grid.photos import check_photo
from grid.workflow import Action, Role, State, WorkflowError

from .test_workflow import EXPECTED

pytestmark = pytest.mark.django_db

USERS = {
    Role.INSPECTOR: "inspector",
    Role.CALL_TAKER: "gridclerk",
    Role.GRID_DISPATCHER: "griddispatcher",
    Role.DEPARTMENT_HANDLER: "depthandler",
    Role.LEADER: "shiftleader",
    Role.ADMIN: "admin",
}
# Where a case in these states came from (what resume / deny_postponement go back to).
PREVIOUS_OF = {State.SUSPENDED: State.DISPATCHED, State.POSTPONEMENT_REQUESTED: State.REWORK}
# Not yet sent to a department: a department handler does not see the case at all.
UNASSIGNED = (State.REPORTED, State.CONFIRMING, State.FILED)


def jpeg() -> io.BytesIO:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (10, 20, 30)).save(buf, "JPEG")
    buf.seek(0)
    buf.name = "x.jpg"
    return buf


@pytest.fixture
def base_case(demo_city, user_for):
    spot = AdminArea.objects.filter(level="community").order_by("code").first().geom.point_on_surface
    report = services.Report(category_code="06010", position=spot, description="table test")
    case, _ = services.report_case(user_for("inspector"), report)
    return case


def _put_in(case: Case, state: State) -> None:
    urban = Organisation.objects.get(code="SZ-URBAN")
    case.stage = state
    case.department = None if state in UNASSIGNED else urban
    case.previous_stage = PREVIOUS_OF.get(state, "")
    case.requested_extension_hours = 4 if state == State.POSTPONEMENT_REQUESTED else None
    case.save()


def _stage_and_steps(case: Case) -> tuple[str, int]:
    """The stored stage and the number of recorded transitions, in one query."""
    return Case.objects.filter(pk=case.pk).annotate(steps=Count("transitions")).values_list("stage", "steps").get()


def _expected(state: State, action: Action, role: Role) -> tuple[str, str | None]:
    """("moved", next state) or ("refused", error code) by the hand-written table."""
    if role == Role.DEPARTMENT_HANDLER and state in UNASSIGNED:
        return "refused", "permission_denied"
    legal = EXPECTED.get((state, action))
    if legal is None:
        return "refused", "illegal_transition"
    next_state, roles = legal
    return ("moved", next_state) if role in roles else ("refused", "role_not_allowed")


@pytest.mark.parametrize("state", list(State))
def test_every_action_and_role(base_case, user_for, state):
    """The whole table through ``selectors.case_for`` + ``services.transition`` (what the action view calls),
    each combination in a savepoint that is rolled back."""
    users = {role: user_for(username) for role, username in USERS.items()}
    spot = base_case.geom
    step = services.Step(
        note="原因说明",
        photos=[check_photo(jpeg())],
        position=spot,
        department=Organisation.objects.get(code="SZ-URBAN"),
        extension_hours=4,
    )
    _put_in(base_case, state)
    before = _stage_and_steps(base_case)
    checked = 0
    for role, user in users.items():
        case = selectors.case_for(user, base_case.pk)  # what the action view acts on (depends on state and role)
        for action in Action:
            outcome, expected = _expected(state, action, role)
            where = f"{state} × {action} × {role}"
            if expected == "permission_denied":
                assert case is None, f"{where}: the handler sees a case not sent to their department"
                checked += 1
                continue
            assert case is not None, f"{where}: the case is not visible"
            with transaction.atomic():
                try:
                    moved = services.transition(user, case, action, step)
                except WorkflowError as refused:
                    status, body = refused.status, refused.as_json()
                    assert (outcome, body["error"]) == ("refused", expected), f"{where}: {body}"
                    assert status == (409 if expected == "illegal_transition" else 403), where
                    assert (body["stage"], body["action"]) == (state, action), where
                    assert role in body["roles"], where
                    assert _stage_and_steps(base_case) == before, f"{where}: a refusal changed the case"
                else:
                    assert (outcome, moved.stage) == ("moved", expected), f"{where}: moved to {moved.stage}"
                    assert _stage_and_steps(base_case) == (expected, before[1] + 1), where
                transaction.set_rollback(True)
            checked += 1
    assert checked == len(Action) * len(USERS)


def _samples() -> list[tuple[Action, str, State, Role]]:
    """For each action: one legal (state, role), one wrong role, one illegal state for an allowed role."""

    def sees(role, state) -> bool:
        return not (role == Role.DEPARTMENT_HANDLER and state in UNASSIGNED)

    out = []
    for action in Action:
        state, (_, roles) = next((s, v) for (s, a), v in EXPECTED.items() if a == action)
        role = next(r for r in USERS if r in roles)  # the admin (last) only where no other role may
        wrong = next(r for r in USERS if r not in roles and sees(r, state))
        illegal = next(s for s in State if (s, action) not in EXPECTED and sees(role, s))
        out += [(action, "legal", state, role), (action, "wrong_role", state, wrong)]
        out.append((action, "illegal", illegal, role))
    return out


@pytest.mark.parametrize(("action", "kind", "state", "role"), _samples(), ids=lambda v: str(v))
def test_action_over_http(api, base_case, action, kind, state, role):
    _put_in(base_case, state)
    steps = CaseTransition.objects.filter(case=base_case).count()
    spot = base_case.geom
    body = {
        "note": "原因说明",
        "department_id": Organisation.objects.get(code="SZ-URBAN").pk,
        "postpone_hours": 4,
        "location": json.dumps({"type": "Point", "coordinates": [spot.x, spot.y]}),
        "photo": jpeg(),
    }
    response = api(USERS[role]).post(f"/api/grid/cases/{base_case.pk}/actions/{action}/", body, format="multipart")
    where = f"{state} × {action} × {role}: {response.status_code} {response.content[:300]!r}"
    case = Case.objects.get(pk=base_case.pk)
    if kind == "legal":
        expected = EXPECTED[state, action][0]
        assert response.status_code == 200, where
        assert response.json()["properties"]["stage"] == expected, where
        assert case.stage == expected, where
        assert CaseTransition.objects.filter(case=base_case).count() == steps + 1, where
        return
    refused = response.json()
    if kind == "wrong_role":
        assert (response.status_code, refused["error"]) == (403, "role_not_allowed"), where
        assert role in refused["roles"], where
    else:
        assert (response.status_code, refused["error"]) == (409, "illegal_transition"), where
    assert (refused["stage"], refused["action"]) == (state, action), where
    assert refused["detail"], where
    assert case.stage == state, where
    assert CaseTransition.objects.filter(case=base_case).count() == steps, where


def test_handler_sees_no_case_before_it_is_dispatched(api, base_case):
    _put_in(base_case, State.FILED)
    response = api("depthandler").post(
        f"/api/grid/cases/{base_case.pk}/actions/handle/", {"note": "x", "photo": jpeg()}, format="multipart"
    )
    # not visible to them: the same 404 as a case that does not exist, so its number does not leak
    missing = api("depthandler").post("/api/grid/cases/999999999/actions/handle/", {"note": "x"}, format="multipart")
    assert (response.status_code, response.json()) == (404, missing.json())
    assert base_case.number not in response.content.decode()
    assert Case.objects.get(pk=base_case.pk).stage == State.FILED


def test_handler_of_another_department_is_refused(api, base_case):
    _put_in(base_case, State.DISPATCHED)
    response = api("waterhandler").post(
        f"/api/grid/cases/{base_case.pk}/actions/handle/", {"note": "x", "photo": jpeg()}, format="multipart"
    )
    # the water group's handler may not act on (nor learn of) the urban management bureau's case
    assert response.status_code == 404
    assert Case.objects.get(pk=base_case.pk).stage == State.DISPATCHED


def test_inspector_of_another_grid_may_not_check(api, base_case, user_for):
    _put_in(base_case, State.HANDLED)
    base_case.reporter = None
    base_case.checker = None
    base_case.save()
    other = base_case.grid.inspectors.exclude(username="inspector").first()
    stranger = type(other).objects.filter(username__startswith="patrol").exclude(pk__in=base_case.grid.inspectors.all())
    client = api(stranger.first().username)
    assert client.get(f"/api/grid/cases/{base_case.pk}/").status_code == 404
    loc = json.dumps({"type": "Point", "coordinates": [base_case.geom.x, base_case.geom.y]})
    response = client.post(
        f"/api/grid/cases/{base_case.pk}/actions/verify_ok/", {"photo": jpeg(), "location": loc}, format="multipart"
    )
    assert response.status_code == 404
    assert Case.objects.get(pk=base_case.pk).stage == State.HANDLED
