"""The shape ARCHITECTURE.md promises, checked on the source: no import cycle between apps, the shared apps
(core, gis) import no domain app, and only the demo's own modules import the demo generator in data/.

Every import statement counts, also one inside a function (that is how cycles used to hide).
"""

import ast
from pathlib import Path

import networkx as nx

ROOT = Path(__file__).resolve().parents[1]
APPS = {"core": ROOT / "platform" / "core", "cityops": ROOT / "platform" / "cityops"} | {
    name: ROOT / name for name in ("gis", "grid", "pipelines_mgmt", "dispatch", "leader", "frontend", "data")
}
SHARED = {"core", "gis"}
DOMAINS = {"grid", "pipelines_mgmt", "dispatch", "leader"}
# The demo city's wiring: each app's demo layer, and the command that loads them.
DEMO_MODULES = {"demo.py", "load_demo_city.py"}


def imports() -> list[tuple[str, str, Path]]:
    """(importing app, imported app, file) for every import of one app by another, outside migrations."""
    found = []
    for app, folder in APPS.items():
        for path in folder.rglob("*.py"):
            if "migrations" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                found += [
                    (app, name.split(".")[0], path) for name in names if name.split(".")[0] in APPS.keys() - {app}
                ]
    return found


def test_no_import_cycle_between_apps():
    graph = nx.DiGraph((a, b) for a, b, path in imports() if path.name not in DEMO_MODULES)
    assert list(nx.simple_cycles(graph)) == []


def test_shared_apps_import_no_domain_app():
    wrong = [f"{path.relative_to(ROOT)} imports {b}" for a, b, path in imports() if a in SHARED and b in DOMAINS]
    assert wrong == []


def test_only_the_demo_imports_the_demo_generator():
    wrong = [
        f"{path.relative_to(ROOT)}"
        for a, b, path in imports()
        if b == "data" and a != "data" and path.name not in DEMO_MODULES
    ]
    assert wrong == []


def test_the_walk_sees_imports_inside_functions():
    """dispatch/apps.py imports core only inside ready(): the walk must find it, or the tests above prove little."""
    assert ("dispatch", "core", APPS["dispatch"] / "apps.py") in imports()
