"""The event catalog is the one list of event types: every publishing call in the code uses a declared type under
its topic, the consoles' scripts import every type they react to from the module served from it (/events.js) and
write none as text, publish() refuses anything else, and real events — the demo's live state, made through the
services — carry the properties the catalog promises."""

import ast
import re
from pathlib import Path

import pytest

from core.event_catalog import CATALOG
from core.events import publish
from core.models import Event

ROOT = Path(__file__).resolve().parents[2]
APP_FOLDERS = [ROOT / "platform", *(ROOT / name for name in ("gis", "grid", "pipelines_mgmt", "dispatch", "leader"))]
JS = ROOT / "frontend" / "static" / "frontend"
FAMILIES = {name.split(".")[0] for name in CATALOG}
IMPORTS_FROM_EVENTS = re.compile(r'import\s*\{([^}]*)\}\s*from\s*"/events\.js"')


def published_types() -> list[tuple[str, str | None, str]]:
    """(event type, topic or None, where) for every literal event type handed to a publishing function."""
    found = []
    for folder in APP_FOLDERS:
        for path in folder.rglob("*.py"):
            if "migrations" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.Call):
                    continue
                name = getattr(node.func, "id", getattr(node.func, "attr", ""))
                if "publish" not in name:
                    continue
                literals = [n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)]
                topic = literals[0] if literals and literals[0] in {e.topic for e in CATALOG.values()} else None
                where = f"{path.relative_to(ROOT)}:{node.lineno}"
                found += [(text, topic, where) for text in literals if text.split(".")[0] in FAMILIES and "." in text]
    return found


def test_every_publishing_call_uses_a_declared_type_under_its_topic():
    found = published_types()
    assert len({text for text, _, _ in found}) >= 12  # the walk does find them
    wrong = [f"{where}: {text} ({topic})" for text, topic, where in found
             if text not in CATALOG or (topic is not None and CATALOG[text].topic != topic)]  # fmt: skip
    assert wrong == []


def test_the_consoles_scripts_write_no_event_type_as_text():
    families = "|".join(sorted(FAMILIES))
    literal = re.compile(rf"[\"'`]((?:{families})\.[a-z_]*)[\"'`]")
    written = [
        f"{path.relative_to(ROOT)}: {name}" for path in JS.rglob("*.js") for name in literal.findall(path.read_text())
    ]
    assert written == []  # they import each type from /events.js


@pytest.mark.django_db
def test_the_consoles_import_only_types_the_served_module_declares(client):
    response = client.get("/events.js")
    assert response["Content-Type"].startswith("text/javascript")
    exported = dict(re.findall(r'^export const (\w+) = "([^"]+)";$', response.content.decode(), re.MULTILINE))
    assert sorted(exported.values()) == sorted(CATALOG)
    imported = {
        name.strip()
        for path in JS.rglob("*.js")
        for names in IMPORTS_FROM_EVENTS.findall(path.read_text(encoding="utf-8"))
        for name in names.split(",")
    } - {""}
    assert {"INCIDENT_CLOSED", "UNIT_STATUS", "CASE_REPORTED", "ALARM_RAISED"} <= imported  # the walk does find them
    assert imported - set(exported) == set()


@pytest.mark.django_db
def test_publish_refuses_an_undeclared_type_or_a_type_under_another_topic():
    with pytest.raises(ValueError, match="not declared"):
        publish("incidents", "incident.exploded", {"type": "Feature", "geometry": None, "properties": {}})
    with pytest.raises(ValueError, match="not declared"):
        publish("cases", "incident.created", {"type": "Feature", "geometry": None, "properties": {}})
    assert not Event.objects.filter(type="incident.exploded").exists()


@pytest.mark.django_db(transaction=True)
def test_real_events_carry_what_the_catalog_promises(demo_live):
    events = list(Event.objects.all())
    seen = {event.type for event in events}
    assert {"incident.created", "unit.status", "repair_order.created", "situation.annotation_added"} <= seen
    missing = [
        f"{event.type}: {sorted(set(CATALOG[event.type].properties) - set(event.data['properties']))}"
        for event in events
        if event.data.get("type") != "Feature"
        or not set(CATALOG[event.type].properties) <= set(event.data["properties"])
    ]
    assert missing == []
