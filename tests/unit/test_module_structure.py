"""How the project's modules depend on each other.

- Production modules never load the demo tenant (``gainsight_assets.demo``): a deployment does
  not ship, import or start it.
- No import cycle among the project's modules, counting imports inside functions too (a cycle
  that only works because one side imports late is still a cycle).
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("gainsight_assets", "resources", "schedules", "sensors")
DEMO = "gainsight_assets.demo"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules() -> dict[str, Path]:
    return {
        module_name(path): path
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
    }


def production_modules() -> list[str]:
    return sorted(
        name for name in project_modules() if name != DEMO and not name.startswith(DEMO + ".")
    )


def imported_names(path: Path, name: str) -> set[str]:
    """Every module ``path`` imports, at module level or inside functions."""
    is_package = path.name == "__init__.py"
    package = name if is_package else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def import_graph() -> dict[str, set[str]]:
    modules = project_modules()
    return {
        name: {target for target in imported_names(path, name) if target in modules} - {name}
        for name, path in modules.items()
    }


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a path that starts and ends with the same module, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state:
                cycle = visit(target)
                if cycle:
                    return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def test_the_cycle_finder_finds_a_cycle_through_a_late_import(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("def f():\n    from b import g\n")
    (tmp_path / "b.py").write_text("import a\n")
    graph = {
        "a": imported_names(tmp_path / "a.py", "a") & {"b"},
        "b": imported_names(tmp_path / "b.py", "b") & {"a"},
    }
    assert find_cycle(graph) == ["a", "b", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycle_among_the_project_modules() -> None:
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_graph_sees_the_cli_and_its_commands() -> None:
    graph = import_graph()
    assert "gainsight_assets.operations" in graph["gainsight_assets.cli"]
    assert "resources.warehouse.url" in graph["resources.warehouse"]


@pytest.mark.timeout(120)
def test_production_modules_never_load_the_demo_tenant() -> None:
    modules = production_modules()
    assert "gainsight_assets.definitions" in modules and "gainsight_assets.cli" in modules
    script = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        f"print(json.dumps(sorted(m for m in sys.modules if m.startswith({DEMO!r}))))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    assert loaded == [], f"production modules loaded the demo tenant: {loaded}"


def test_only_dagster_private_uses_dagster_private_api() -> None:
    """Dagster's private modules (``dagster._core``, ``dagster._serdes``...) are imported by
    ``gainsight_assets/dagster_private.py`` alone, which says why for each use."""
    found = []
    for folder in (*PACKAGES, "benchmarks"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if relative == "gainsight_assets/dagster_private.py":
                continue
            for target in imported_names(path, module_name(path)):
                if target.startswith("dagster._") or target.startswith("dagster_shared._"):
                    found.append(f"{relative}: {target}")
    assert found == []
