"""The shape ARCHITECTURE.md promises, checked on the source: no import cycle between apps, the shared apps
(core, gis) import no domain app, an app's reads (selectors) never import its writes (services), and only the
demo's own modules import the demo generator in data/.

Every import statement counts, also one inside a function (that is how cycles used to hide).
"""

import ast
from pathlib import Path

import networkx as nx

ROOT = Path(__file__).resolve().parents[1]
APPS = {"core": ROOT / "platform" / "core", "cityops": ROOT / "platform" / "cityops"} | {
    name: ROOT / name
    for name in (
        "gis", "grid", "pipelines_mgmt", "dispatch", "leader", "notify", "resources", "duty", "emergency", "drills",
        "transport", "fences", "trips", "crews", "exchange", "patrol",
        "frontend",
        "data",
    )
}  # fmt: skip
SHARED = {"core", "gis", "notify"}
DOMAINS = {
    "grid", "pipelines_mgmt", "dispatch", "leader", "resources", "duty", "emergency", "drills",
    "transport", "fences", "trips", "crews", "exchange", "patrol",
}  # fmt: skip
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


def imported_modules(app: str, path: Path) -> set[str]:
    """The dotted modules a file of ``app`` imports, relative imports resolved (``from . import x`` may be a module)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            package = ".".join(filter(None, [app if node.level else None, node.module]))
            found |= {package} | {f"{package}.{alias.name}" for alias in node.names}
    return found


def test_selectors_import_no_services():
    """Reads must not depend on writes: what both need (a Feature's shape) lives in a module both import."""
    wrong = [
        f"{path.relative_to(ROOT)} imports {module}"
        for app, folder in APPS.items()
        for path in folder.rglob("selectors.py")
        for module in imported_modules(app, path)
        if module == f"{app}.services" or module.startswith(f"{app}.services.")
    ]
    assert wrong == []
