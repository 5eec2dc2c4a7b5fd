"""The access matrix's table: the demo roles (two organisations or districts each where the rule depends on them)
and, per object kind, the domain's own rule for what a user may see: what the domain API answers.

Shared by the map interfaces' matrix (tests/gis/test_layer_scope.py) and the live feed's, KPIs' and reports'
(tests/test_access_matrix_live.py).
"""

from core.realtime import Viewer
from dispatch import selectors as dispatch_selectors
from dispatch.models import Incident, Vehicle
from grid.models import Case
from grid.selectors import visible_cases

ROLES = [
    "operator",
    "calltaker",
    "dispatcher110",
    "dispatcher119",
    "dispatcher120",
    "leader",
    "districtleader",
    "luohuleader",
    "griddispatcher",
    # A city-management call taker: the call-taker role in a centre that commands cases, not incidents.
    "gridclerk",
    "inspector",
    "patrol001",  # a second inspector, other grids
    "depthandler",
    "waterhandler",  # a second department
    # A leader in the city-management centre (approves postponements): commands cases, not incidents.
    "shiftleader",
    "planner",
    "admin",
]


def incidents_rule(api, user) -> set[str] | None:
    """The dispatch API's list for a desk, the situation map's answers for a leader."""
    numbers = set()
    desk = api(user.username).get("/api/dispatch/incidents/?status=all")
    if desk.status_code == 200:
        numbers |= {f["properties"]["number"] for f in desk.json()["features"]}
    if user.has_role("leader"):
        for incident in Incident.objects.all():
            if api(user.username).get(f"/api/leader/incidents/{incident.pk}/situation/").status_code == 200:
                numbers.add(incident.number)
    return numbers


def vehicles_rule(api, user) -> set[str]:
    """The dispatch API's status board (a desk its agency's units, a command centre every agency's); for a role
    without the board (a leader's wall), the units of the viewer's organisations."""
    units = api(user.username).get("/api/dispatch/units/")
    if units.status_code == 200:
        return {f["properties"]["call_sign"] for f in units.json()["features"]}
    return {f["properties"]["call_sign"] for f in dispatch_selectors.vehicle_features(Viewer.for_user(user), None)}


def cases_rule(api, user) -> set[str]:
    return set(visible_cases(user).values_list("number", flat=True))


# layer id → (model, the property that names an object, the domain's rule)
KINDS = {
    "incidents": (Incident, "number", incidents_rule),
    "vehicles": (Vehicle, "call_sign", vehicles_rule),
    "cases": (Case, "number", cases_rule),
}
