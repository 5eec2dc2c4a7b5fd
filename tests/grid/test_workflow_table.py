"""Every state × action × role through the API: legal moves land in the workflow's next state, everything else
is refused (409 illegal transition, 403 wrong role) and changes nothing."""

import io
import json

import pytest
from django.db import transaction
from PIL import Image

from core.models import AdminArea, Organisation
from grid import services, workflow
from grid.models import Case, CaseTransition
from grid.workflow import PREVIOUS, Action, Role, State

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
    case.department = urban if state not in (State.REPORTED, State.CONFIRMING, State.FILED) else None
    case.previous_stage = PREVIOUS_OF.get(state, "")
    case.requested_extension_hours = 4 if state == State.POSTPONEMENT_REQUESTED else None
    case.save()


@pytest.mark.parametrize("state", list(State))
def test_every_action_and_role(api, base_case, state):
    urban = Organisation.objects.get(code="SZ-URBAN")
    clients = {role: api(username) for role, username in USERS.items()}
    spot = base_case.geom
    for action in Action:
        rule = workflow.rule_for(state, action)
        for role in workflow.ROLES:
            with transaction.atomic():
                _put_in(base_case, state)
                steps = CaseTransition.objects.count()
                body = {
                    "note": "原因说明",
                    "department_id": urban.pk,
                    "postpone_hours": 4,
                    "location": json.dumps({"type": "Point", "coordinates": [spot.x, spot.y]}),
                    "photo": jpeg(),
                }
                url = f"/api/grid/cases/{base_case.pk}/actions/{action}/"
                response = clients[role].post(url, body, format="multipart")
                where = f"{state} × {action} × {role}: {response.status_code} {response.content[:300]!r}"
                stage_now = Case.objects.get(pk=base_case.pk).stage
                if role == Role.DEPARTMENT_HANDLER and base_case.department is None:
                    # not sent to the handler's department yet: not theirs to act on, whatever the action
                    assert response.status_code == 403, where
                    assert response.json()["error"] == "permission_denied", where
                elif rule is None:
                    assert response.status_code == 409, where
                    assert response.json()["error"] == "illegal_transition", where
                    assert response.json()["stage"] == state and response.json()["action"] == action, where
                elif role not in rule.roles:
                    assert response.status_code == 403, where
                    assert response.json()["error"] == "role_not_allowed", where
                    assert role in response.json()["roles"], where
                else:
                    assert response.status_code == 200, where
                    expected = PREVIOUS_OF[state] if rule.next_state == PREVIOUS else rule.next_state
                    assert response.json()["properties"]["stage"] == expected, where
                    assert stage_now == expected, where
                    assert CaseTransition.objects.count() == steps + 1, where
                if response.status_code != 200:
                    assert stage_now == state, where
                    assert CaseTransition.objects.count() == steps, where
                transaction.set_rollback(True)


def test_handler_of_another_department_is_refused(api, base_case):
    _put_in(base_case, State.DISPATCHED)
    response = api("waterhandler").post(
        f"/api/grid/cases/{base_case.pk}/actions/handle/", {"note": "x", "photo": jpeg()}, format="multipart"
    )
    # the water group's handler may not act on the urban management bureau's case
    assert response.status_code == 403 and response.json()["error"] == "permission_denied"
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
    assert response.status_code == 403
    assert Case.objects.get(pk=base_case.pk).stage == State.HANDLED
