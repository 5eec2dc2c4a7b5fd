"""The row rule of resources on every read path: the REST lists, OGC API items and single items, export,
statistics and vector tiles of the five layers show, for each demo role, exactly what the rule allows — and the
rule is the one the module promises (a command centre its area, an agency desk its own organisation's rows,
hazard sources for every desk in its area)."""

import pytest

from core.models import AdminArea
from gis import layers
from resources.models import Depot, HazardSource, RescueTeam, Shelter
from tests.gis.test_layer_scope import sample, what_interfaces_show

pytestmark = pytest.mark.django_db

ROLES = ["operator", "calltaker", "dispatcher110", "dispatcher119", "leader", "districtleader", "luohuleader",
         "planner", "depthandler", "admin"]  # fmt: skip
# layer id → (model, the REST list that is the rule's own answer)
LAYERS = {
    "rescue_teams": (RescueTeam, "teams"),
    "depots": (Depot, "depots"),
    "shelters": (Shelter, "shelters"),
    "hazards": (HazardSource, "hazards"),
    "hazard_zones": (HazardSource, "hazards"),
}


def rest_names(client, path) -> set[str] | None:
    answer = client.get(f"/api/resources/{path}/")
    return {f["properties"]["name"] for f in answer.json()["features"]} if answer.status_code == 200 else None


def promised(username: str, model) -> set[str] | None:
    """The rule as documented, written out by hand for the demo accounts."""
    rows = model.objects.all()
    if username in ("planner", "depthandler"):
        return None
    if username == "districtleader":
        rows = rows.filter(geom__intersects=AdminArea.objects.get(code="440304").geom)
    elif username == "luohuleader":
        rows = rows.filter(geom__intersects=AdminArea.objects.get(code="440303").geom)
    elif username in ("dispatcher110", "dispatcher119") and model is not HazardSource:
        rows = rows.filter(organisation__code={"dispatcher110": "SZ-PSB-110", "dispatcher119": "SZ-FIRE-119"}[username])
    return set(rows.values_list("name", flat=True))


def test_every_read_path_shows_what_the_rule_allows(api, user_for):
    wrong = []
    for username in ROLES:
        client = api(username)
        for layer_id, (model, path) in LAYERS.items():
            expected = promised(username, model)
            if rest_names(client, path) != expected:
                wrong.append(f"{username} · {path} REST: {rest_names(client, path)} ≠ {expected}")
            readable = layers.get(layer_id).readable_by(user_for(username))
            assert readable == (expected is not None), (username, layer_id)
            for interface, shown in what_interfaces_show(client, layer_id, "name", model).items():
                want = expected
                if expected is not None and interface == "stats (count)":
                    want = len(expected)
                elif expected is not None and interface == "ogc item":
                    want = expected & {name for _, name in sample(model, "name")}
                if interface == "stats (count)" and layer_id == "hazard_zones":
                    continue  # a circle across a district boundary counts in both districts: checked on "hazards"
                if shown != want:
                    wrong.append(f"{username} · {layer_id} · {interface}: {shown} ≠ {want}")
    assert wrong == []
    # The demo makes the rules differ, or the test would prove little.
    assert promised("districtleader", Depot) and promised("luohuleader", Depot)
    assert promised("districtleader", Depot).isdisjoint(promised("luohuleader", Depot))
    assert promised("dispatcher119", RescueTeam) < promised("operator", RescueTeam)
    assert promised("dispatcher110", Depot) == set()
    assert promised("districtleader", HazardSource) < promised("leader", HazardSource)


def test_hazard_zones_are_the_circles_in_tiles_and_ogc(api):
    hazard = HazardSource.objects.order_by("-radius_m").first()
    item = api("operator").get(f"/ogcapi/collections/hazard_zones/items/{hazard.pk}").json()
    assert item["geometry"]["type"] == "Polygon"
    assert item["properties"]["radius_m"] == hazard.radius_m


def test_search_and_live_snapshot_follow_the_rule(api, user_for):
    from core.realtime import Viewer
    from resources.selectors import snapshot

    leader = user_for("districtleader")
    names = {f["properties"]["name"] for f in snapshot(Viewer.for_user(leader), None)}
    allowed = set().union(*(promised("districtleader", m) for m in (RescueTeam, Depot, Shelter, HazardSource)))
    assert names == allowed
    found = api("districtleader").get("/api/resources/search/?near=114.05,22.54&kind=depot&item=sandbags&limit=50")
    assert {r["name"] for r in found.json()["results"]} <= promised("districtleader", Depot)
    assert api("planner").get("/api/resources/search/?near=114.05,22.54&kind=hazard").status_code == 403
