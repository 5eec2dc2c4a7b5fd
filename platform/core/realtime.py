"""Who may see which live topic, and how each app supplies the snapshot a new console starts from."""

from collections.abc import Callable
from dataclasses import dataclass

from .models import Organisation, Role, User

ALL_ROLES = frozenset(Role.values)
TOPIC_ROLES: dict[str, frozenset[str]] = {
    "incidents": frozenset({Role.OPERATOR, Role.CALL_TAKER, Role.LEADER, Role.ADMIN}),
    "vehicles": frozenset({Role.OPERATOR, Role.CALL_TAKER, Role.LEADER, Role.ADMIN}),
    "alarms": frozenset({Role.OPERATOR, Role.CALL_TAKER, Role.LEADER, Role.ADMIN}),
    "cases": frozenset(
        {Role.OPERATOR, Role.GRID_DISPATCHER, Role.INSPECTOR, Role.DEPARTMENT_HANDLER, Role.LEADER, Role.ADMIN}
    ),
    "pipeline": frozenset({Role.OPERATOR, Role.CALL_TAKER, Role.PLANNER, Role.LEADER, Role.ADMIN}),
    "areas": ALL_ROLES,
}
# Topics whose updates are not in the event log: high-rate positions, coalesced at the source and sent
# as `{"op": "positions"}`; a console always gets their snapshot (the current positions), never a replay.
LIVE_ONLY_TOPICS = frozenset({"vehicles"})
VEHICLE_GROUP = "ops.vehicles"
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
    """The viewer's event tests for these topics (a topic without one: every event its organisations see)."""
    made = {topic: _event_filters[topic](viewer) for topic in topics if topic in _event_filters}
    return {topic: test for topic, test in made.items() if test is not None}


def snapshot(topic: str, viewer: "Viewer", bbox) -> list[dict]:
    provider = _snapshot_providers.get(topic)
    return provider(viewer, bbox) if provider else []


@dataclass(frozen=True)
class Viewer:
    """What one connected user may see: computed once per connection, not per event."""

    user_id: int
    roles: frozenset[str]
    org_ids: frozenset[int] | None  # None: city-wide

    @classmethod
    def for_user(cls, user: User) -> "Viewer":
        roles = frozenset(user.role_names)
        org = user.organisation
        city_wide = (
            user.is_superuser
            or (org is None and bool(roles & {Role.ADMIN, Role.LEADER}))
            # A city-level command centre coordinates every agency and department (joint dispatch).
            or (org is not None and org.kind == Organisation.Kind.GOVERNMENT and org.area_id is None)
        )
        return cls(user.pk, roles, None if city_wide else frozenset(_org_and_descendants(user.organisation_id)))

    def allowed_topics(self) -> set[str]:
        return {topic for topic, roles in TOPIC_ROLES.items() if roles & self.roles}

    def sees_orgs(self, event_orgs) -> bool:
        return not event_orgs or self.org_ids is None or bool(self.org_ids.intersection(event_orgs))


def _org_and_descendants(org_id: int | None) -> set[int]:
    if org_id is None:
        return set()
    found, frontier = {org_id}, [org_id]
    while frontier:
        frontier = list(Organisation.objects.filter(parent_id__in=frontier).values_list("pk", flat=True))
        found.update(frontier)
    return found


def bbox_intersects(a, b) -> bool:
    """Envelope test; an event without a geometry (a == None) is never filtered out by a bbox."""
    if a is None or b is None:
        return True
    return a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]
