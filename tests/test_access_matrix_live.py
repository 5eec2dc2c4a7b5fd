"""Access matrix of the live feed, the KPIs and the reports: for every demo role (tests/access_rules.py) and every
scoped object kind, the WebSocket snapshot, the replay after a reconnect and the live events, the KPI answers and
the situation reports agree with the domain's own rule — the same table as the map interfaces' matrix.

On the demo's live state plus, while every role's console is connected, new incidents of three agencies in both
districts and new cases in both districts, created through the API as a call taker and an inspector would.
"""

import pytest
from asgiref.sync import sync_to_async
from django.db.models import Max

from core.models import AdminArea, Event
from core.realtime import Viewer
from dispatch.models import Incident
from grid.models import Case
from tests.access_rules import KINDS, ROLES
from tests.ops_socket import connect, subscribe

pytestmark = pytest.mark.django_db(transaction=True)

LIVE_KINDS = ("incidents", "cases")  # the vehicles topic's positions are coalesced, not logged: snapshot only
NEW_INCIDENTS = [("110-THEFT", 0), ("119-FIRE-BUILDING", 1), ("120-ILLNESS", 0), ("119-FIRE-BUILDING", 0)]


def names_in(messages: list[dict], topic: str, op: str | None = None) -> set[str]:
    """The numbers/call signs of a topic's features in snapshots (op="snapshot") or in events (op=None)."""
    names = set()
    for message in messages:
        if op == "snapshot" and message.get("op") == "snapshot" and message["topic"] == topic:
            names |= {f["properties"][KINDS[topic][1]] for f in message["features"]}
        elif op is None and "seq" in message and message.get("topic") == topic and "data" in message:
            names.add(message["data"]["properties"][KINDS[topic][1]])
    return names


async def drain(communicator, quiet: float = 1.5) -> list[dict]:
    """Everything that arrives until the socket has been quiet for a while (a timed-out receive would end the
    consumer: the communicator cancels the application)."""
    received = []
    while not await communicator.receive_nothing(timeout=quiet):
        received.append(await communicator.receive_json_from())
    return received


@sync_to_async
def topics_of(username: str) -> list[str]:
    from core.models import User

    return sorted(Viewer.for_user(User.objects.get(username=username)).allowed_topics() & set(KINDS))


def district_spots() -> list:
    """A point inside each district (the first community of each)."""
    spots = []
    for district in AdminArea.objects.filter(level="district").order_by("code"):
        community = AdminArea.objects.filter(level="community", geom__within=district.geom).order_by("code").first()
        spots.append(community.geom.point_on_surface)
    return spots


def create_rows(api) -> tuple[set[str], set[str]]:
    """New incidents of three agencies and new cases, in both districts, through the API."""
    spots = district_spots()
    assert len(spots) >= 2
    incidents, cases = set(), set()
    for n, (type_code, district) in enumerate(NEW_INCIDENTS):
        spot = spots[district]
        answer = api("calltaker").post(
            "/api/dispatch/incidents/",
            {
                "caller_number": f"1380013{n:04d}",
                "type_code": type_code,
                "description": "访问矩阵测试",
                "location": {"type": "Point", "coordinates": [spot.x + 0.002 * n, spot.y]},
                "confirm_new": True,
            },
            format="json",
        )
        assert answer.status_code == 201, answer.content
        incidents.add(answer.json()["properties"]["number"])
    for n, spot in enumerate(spots[:2]):
        answer = api("inspector").post(
            "/api/grid/cases/",
            {
                "category_code": "06010",
                "description": "访问矩阵测试",
                "location": {"type": "Point", "coordinates": [spot.x, spot.y]},
            },
            format="json",
            HTTP_IDEMPOTENCY_KEY=f"matrix-{n}",
        )
        assert answer.status_code == 201, answer.content
        cases.add(answer.json()["properties"]["number"])
    return incidents, cases


async def test_the_live_feed_shows_what_the_domain_rule_allows(api, user_for, demo_live):
    consoles, snapshots = {}, {}
    for username in ["admin", *ROLES]:
        topics = await topics_of(username)
        if not topics:
            continue
        communicator, connected = await connect(username)
        assert connected, username
        answer = await subscribe(communicator, timeout=20, topics=topics)
        assert answer[-1]["op"] == "subscribed", (username, answer[-1])
        consoles[username] = (communicator, topics)
        snapshots[username] = answer
    head = await sync_to_async(lambda: Event.objects.aggregate(m=Max("seq"))["m"] or 0)()
    new_incidents, new_cases = await sync_to_async(create_rows)(api)
    live = {username: await drain(communicator) for username, (communicator, _) in consoles.items()}
    replayed = {}
    for username, (communicator, topics) in consoles.items():
        await communicator.disconnect()
        again, _ = await connect(username)
        replayed[username] = await subscribe(again, timeout=20, topics=topics, since=head)
        await again.disconnect()
    assert set(consoles["admin"][1]) == set(KINDS)
    wrong, differs = await sync_to_async(compare)(
        api, user_for, consoles, snapshots, live, replayed, {"incidents": new_incidents, "cases": new_cases}
    )
    assert wrong == [], "\n".join(wrong)
    # The new rows make the rules differ between roles, or the matrix would prove little.
    assert len({e for kind, e in differs if kind == "incidents"}) >= 3
    assert len({e for kind, e in differs if kind == "cases"}) >= 2


def compare(api, user_for, consoles, snapshots, live, replayed, new) -> tuple[list[str], set]:
    everything = {kind: names_in(snapshots["admin"], kind, "snapshot") for kind in KINDS}
    wrong, differs = [], set()
    for username in ROLES:
        user = user_for(username)
        topics = consoles.get(username, (None, []))[1]
        for kind, (_, _, rule) in KINDS.items():
            allowed = rule(api, user)
            if kind not in topics:
                # a role that may not subscribe must not be allowed the rows by the rule either (nothing hidden)
                if allowed & (everything[kind] | new.get(kind, set())):
                    wrong.append(f"{username} · {kind}: may not subscribe, but the rule allows {_brief(allowed)}")
                continue
            checks = {"snapshot": (names_in(snapshots[username], kind, "snapshot"), everything[kind] & allowed)}
            if kind in LIVE_KINDS:
                expected = new[kind] & allowed
                differs.add((kind, frozenset(expected)))
                checks["live"] = (names_in(live[username], kind), expected)
                checks["replay"] = (names_in(replayed[username], kind), expected)
            for interface, (shown, expected) in checks.items():
                if shown != expected:
                    wrong.append(f"{username} · {kind} · {interface}: shows {_brief(shown)}, rule {_brief(expected)}")
    return wrong, differs


def test_kpis_and_reports_show_what_the_domain_rule_allows(api, user_for, demo_live):
    wrong = []
    incidents = dict(Incident.objects.values_list("pk", "number"))
    case_departments = dict(Case.objects.exclude(department=None).values_list("number", "department_id"))
    for username in ROLES:
        user, client = user_for(username), api(username)
        # dispatch KPIs: only the agencies whose units the desk works (the status board's rule)
        kpis = client.get("/api/dispatch/kpis/")
        if kpis.status_code == 200:
            board = client.get("/api/dispatch/units/")
            agencies = (
                {f["properties"]["agency"] for f in board.json()["features"]} if board.status_code == 200 else set()
            )
            shown = {row["agency"] for row in kpis.json()["rows"]}
            if not shown <= agencies:
                wrong.append(f"{username} · dispatch KPIs: agencies {sorted(shown)}, rule {sorted(agencies)}")
        # case KPIs by department: only the departments of the cases the user may see
        grid_kpis = client.get("/api/grid/kpis/?group_by=department&from=2000-01-01")
        if grid_kpis.status_code == 200:
            visible = KINDS["cases"][2](api, user)
            departments = {case_departments[n] for n in visible if n in case_departments}
            shown = {row["id"] for row in grid_kpis.json()["rows"]} - {None}
            if shown != departments:
                wrong.append(f"{username} · case KPIs: departments {sorted(shown)}, rule {sorted(departments)}")
        # situation reports: an incident's report exists for the user exactly when the incident is visible
        allowed = KINDS["incidents"][2](api, user)
        for pk, number in incidents.items():
            report = client.get(f"/api/leader/reports/situation.html?incident={pk}")
            assert report.status_code in (200, 403, 404), report.status_code
            if (report.status_code == 200) != (number in allowed and user.has_role("leader", "admin")):
                wrong.append(f"{username} · situation report {number}: {report.status_code}")
    assert wrong == [], "\n".join(wrong)


def _brief(value):
    return f"{len(value)} {sorted(value)[:3]}…"
