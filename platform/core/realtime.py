"""Who may see which live topic, and how each app supplies the snapshot a new console starts from."""

from collections.abc import Callable
from dataclasses import dataclass

import shapely
import shapely.geometry
import shapely.prepared

from .models import AdminArea, Domain, Organisation, Role, User
from .trees import subtree

ALL_ROLES = frozenset(Role.values)
TOPIC_ROLES: dict[str, frozenset[str]] = {
    "incidents": frozenset({Role.OPERATOR, Role.CALL_TAKER, Role.LEADER, Role.ADMIN}),
    # The transport bureau's supervisors follow key vehicles: unit_visibility gives them their carriers' only.
    "vehicles": frozenset({Role.OPERATOR, Role.CALL_TAKER, Role.LEADER, Role.ADMIN, Role.TRANSPORT}),
    "alarms": frozenset({Role.OPERATOR, Role.CALL_TAKER, Role.LEADER, Role.ADMIN, Role.TRANSPORT}),
    "cases": frozenset(
        {
            Role.OPERATOR,
            Role.CALL_TAKER,
            Role.GRID_DISPATCHER,
            Role.INSPECTOR,
            Role.DEPARTMENT_HANDLER,
            Role.LEADER,
            Role.ADMIN,
        }
    ),
    "pipeline": frozenset({Role.OPERATOR, Role.CALL_TAKER, Role.PLANNER, Role.LEADER, Role.ADMIN}),
    "areas": ALL_ROLES,
    # Emergency resources and hazards (resources/): the command centre's working picture.
    "resources": frozenset({Role.OPERATOR, Role.CALL_TAKER, Role.LEADER, Role.ADMIN}),
    # Duty management (duty/): sign-on, hand-over, hand-over items and duty log entries of the desks.
    "duty": frozenset({Role.OPERATOR, Role.CALL_TAKER, Role.GRID_DISPATCHER, Role.LEADER, Role.ADMIN}),
    # Notifications (notify/): each event names its recipient and sender and reaches only them (notify's filter).
    "notices": ALL_ROLES,
    # Inspectors on patrol shift (patrol/): attendance and last position, for the case centre and the wall; which
    # inspectors a viewer sees is patrol's rule (its event filter), as for the REST API.
    "inspectors": frozenset({Role.OPERATOR, Role.CALL_TAKER, Role.GRID_DISPATCHER, Role.LEADER, Role.ADMIN}),
}
# The domain whose organisation rule a topic's events follow (an event names the organisations it concerns);
# a topic without one is filtered by role (and the app's event filter) only.
TOPIC_DOMAINS: dict[str, str] = {
    "incidents": Domain.DISPATCH,
    "vehicles": Domain.DISPATCH,
    "alarms": Domain.DISPATCH,
    "cases": Domain.GRID,
    "resources": Domain.DISPATCH,
    "duty": Domain.DISPATCH,  # a desk's events name its organisation: an agency desk sees its own, a centre all
}
# Topics whose updates are not in the event log: positions, sent on the topic's own group (message type
# "ops.<topic>") and to consoles as `{"op": "positions"}` (upsert by id); a console always gets their snapshot (the
# current positions), never a replay. A message marked "complete" is the whole current set: consoles get it as a
# snapshot. Each topic names the feature property that says whose organisation a feature is (None: the topic's
# event filter alone decides who sees it).
LIVE_ONLY_TOPICS: dict[str, str | None] = {"vehicles": "agency_id", "inspectors": None}
LIVE_GROUPS = {topic: f"ops.{topic}" for topic in LIVE_ONLY_TOPICS}
VEHICLE_GROUP = LIVE_GROUPS["vehicles"]
INSPECTOR_GROUP = LIVE_GROUPS["inspectors"]
# Everything-after-`since` is replayed from the table up to this many events; further behind gets a snapshot.
REPLAY_LIMIT = 5000
EVENT_GROUP = "ops.events"

SnapshotProvider = Callable[["Viewer", tuple[float, float, float, float] | None], list[dict]]
_snapshot_providers: dict[str, SnapshotProvider] = {}


def register_snapshot(topic: str, provider: SnapshotProvider) -> None:
    """Apps call this from AppConfig.ready() for the topics whose current state they own."""
    if topic not in TOPIC_ROLES:
        raise ValueError(f"unknown topic {topic!r}")
    _snapshot_providers[topic] = provider


EventFilter = Callable[[dict], bool]
_event_filters: dict[str, Callable[["Viewer"], EventFilter | None]] = {}


def register_event_filter(topic: str, make: Callable[["Viewer"], EventFilter | None]) -> None:
    """An app whose rows are visible by more than organisation (e.g. an inspector's own grids) gives, per viewer,
    a test of an event's data; it is worked out once per subscription and applied to live and replayed events."""
    if topic not in TOPIC_ROLES:
        raise ValueError(f"unknown topic {topic!r}")
    _event_filters[topic] = make


def event_filters(viewer: "Viewer", topics) -> dict[str, EventFilter]:
    """The viewer's event tests for these topics (a topic without one: every event its organisations see): the
    app's own test and, for a command centre with an area, the event's place in that area."""
    made, area_tests = {}, {}
    for topic in topics:
        area_id = viewer.area_in(TOPIC_DOMAINS.get(topic))
        if area_id not in area_tests:  # one area read and prepared per subscription, whatever its topics
            area_tests[area_id] = area_test(area_id)
        tests = [
            test
            for test in (_event_filters[topic](viewer) if topic in _event_filters else None, area_tests[area_id])
            if test is not None
        ]
        if tests:
            made[topic] = tests[0] if len(tests) == 1 else lambda data, tests=tests: all(t(data) for t in tests)
    return made


def area_test(area_id: int | None) -> EventFilter | None:
    """Whether a GeoJSON Feature lies in an area (a feature without a geometry, e.g. a removal, always does)."""
    if area_id is None:
        return None
    area = AdminArea.objects.get(pk=area_id)
    prepared = shapely.prepared.prep(shapely.from_wkb(bytes(area.geom.wkb)))

    def inside(feature: dict) -> bool:
        geometry = feature.get("geometry")
        return geometry is None or prepared.intersects(shapely.geometry.shape(geometry))

    return inside


def snapshot(topic: str, viewer: "Viewer", bbox) -> list[dict]:
    provider = _snapshot_providers.get(topic)
    return provider(viewer, bbox) if provider else []


@dataclass(frozen=True)
class Viewer:
    """What one connected user may see: computed once per connection, not per event."""

    user_id: int
    roles: frozenset[str]
    org_ids: frozenset[int] | None  # the user's organisation and those below it; None: every organisation
    oversees: frozenset[str] = frozenset()  # the domains (core.models.Domain) its organisation commands
    area_id: int | None = None  # where it commands them: its organisation's area (None: the whole city)

    @classmethod
    def for_user(cls, user: User) -> "Viewer":
        roles = frozenset(user.role_names)
        org = user.organisation
        if user.is_superuser or (org is None and bool(roles & {Role.ADMIN, Role.LEADER})):
            return cls(user.pk, roles, None)
        oversees = frozenset(org.oversees) if org is not None else frozenset()
        area_id = org.area_id if org is not None else None
        return cls(
            user.pk,
            roles,
            frozenset(subtree(Organisation, [user.organisation_id] if user.organisation_id else [])),
            oversees,
            area_id,
        )

    def orgs_in(self, domain: str | None) -> frozenset[int] | None:
        """The organisations whose rows of this domain the viewer sees (None: all of them). A command centre sees
        every organisation's rows of the domains it oversees, within its area (area_in); others their own."""
        if self.org_ids is None or domain is None or domain in self.oversees:
            return None
        return self.org_ids

    def area_in(self, domain: str | None) -> int | None:
        """The area the viewer's rows of this domain must lie in (None: no limit by place)."""
        return self.area_id if domain in self.oversees else None

    def allowed_topics(self) -> set[str]:
        return {topic for topic, roles in TOPIC_ROLES.items() if roles & self.roles}

    def sees_orgs(self, topic: str, event_orgs) -> bool:
        orgs = self.orgs_in(TOPIC_DOMAINS.get(topic))
        return not event_orgs or orgs is None or bool(orgs.intersection(event_orgs))


def bbox_intersects(a, b) -> bool:
    """Envelope test; an event without a geometry (a == None) is never filtered out by a bbox."""
    if a is None or b is None:
        return True
    return a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]
