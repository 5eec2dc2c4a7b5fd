"""Access matrix of the shared map interfaces: for every demo role and every scoped object kind, what OGC API
items, OGC API item, export, statistics and vector tiles answer agrees with the domain's own rule — the
dispatch API for incidents and units (the leader's situation map for a leader), the case API's rule for cases.

One table drives it (tests/access_rules.py: ROLES × KINDS, shared with the live feed's matrix); on the demo's live
state (three incidents of different agencies in three districts, units of every agency, the case history of every
department).
"""

import json
import math

import pytest

from core.models import AdminArea
from gis import layers
from tests.access_rules import KINDS, ROLES

from .mvt import decode

pytestmark = pytest.mark.django_db(transaction=True)

def tiles_over_city(z: int):
    west, south, east, north = AdminArea.objects.get(level="city").geom.extent

    def tile(lon, lat):
        n = 1 << z
        y = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n
        return int((lon + 180) / 360 * n), int(y)

    (x0, y0), (x1, y1) = tile(west, north), tile(east, south)
    return [(x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]


ITEM_SAMPLE = 60


def sample(model, key) -> list[tuple[int, str]]:
    """Objects whose single-item answer is checked: all of a small kind, an even spread of a large one."""
    rows = list(model.objects.order_by("pk").values_list("pk", key))
    return rows[:: max(1, len(rows) // ITEM_SAMPLE)]


def what_interfaces_show(client, layer_id: str, key: str, model) -> dict[str, set | None]:
    """Each interface's answer as a set of names (None: the layer is not there for this user)."""
    shown: dict[str, set | None] = {}
    items = client.get(f"/ogcapi/collections/{layer_id}/items?limit=10000")
    shown["ogc items"] = {f["properties"][key] for f in items.json()["features"]} if items.status_code == 200 else None
    by_item = set()
    for pk, name in sample(model, key):
        answer = client.get(f"/ogcapi/collections/{layer_id}/items/{pk}")
        assert answer.status_code in (200, 404), answer.status_code
        if answer.status_code == 200:
            by_item.add(name)
    shown["ogc item"] = by_item if items.status_code == 200 else None
    export = client.get(f"/api/gis/layers/{layer_id}/export/?f=geojson")
    shown["export"] = {f["properties"][key] for f in _json(export)["features"]} if export.status_code == 200 else None
    stats = client.get(f"/api/gis/layers/{layer_id}/stats/?by=district")
    shown["stats (count)"] = sum(z["count"] for z in stats.json()["zones"]) if stats.status_code == 200 else None
    layer = layers.get(layer_id)
    z = max(layer.tile_min_zoom, 10)
    ids, found = set(), True
    for x, y in tiles_over_city(z):
        tile = client.get(f"/tiles/{layer_id}/{z}/{x}/{y}.pbf")
        if tile.status_code == 404:
            found = False
            break
        if tile.status_code == 200:
            ids |= {f["id"] for f in decode(tile.content).get(layer_id, {"features": []})["features"]}
    names = dict(model.objects.values_list("pk", key))
    shown["tiles"] = {names[pk] for pk in ids} if found else None
    return shown


def _json(response):
    return json.loads(b"".join(response.streaming_content) if response.streaming else response.content)


def test_every_map_interface_shows_what_the_domain_rule_allows(api, user_for, demo_live):
    wrong, allowed_by = [], {}
    for username in ROLES:
        user = user_for(username)
        client = api(username)
        for layer_id, (model, key, rule) in KINDS.items():
            readable = layers.get(layer_id).readable_by(user)
            allowed = allowed_by[username, layer_id] = rule(api, user) if readable else None
            shown = what_interfaces_show(client, layer_id, key, model)
            sampled = {name for _, name in sample(model, key)}
            expected_by = {"stats (count)": len(allowed), "ogc item": allowed & sampled} if readable else {}
            for interface, answer in shown.items():
                expected = expected_by.get(interface, allowed)
                if answer != expected:
                    wrong.append(
                        f"{username} · {layer_id} · {interface}: shows {_brief(answer)}, rule {_brief(expected)}"
                    )
    assert wrong == []
    # The live state makes the rules differ, or the matrix would prove little.
    assert allowed_by["dispatcher110", "incidents"] != allowed_by["dispatcher120", "incidents"]
    assert allowed_by["districtleader", "incidents"] < allowed_by["leader", "incidents"]
    assert allowed_by["dispatcher119", "vehicles"] < allowed_by["operator", "vehicles"]


def _brief(value):
    if value is None or isinstance(value, int):
        return value
    return f"{len(value)} {sorted(value)[:3]}…"
