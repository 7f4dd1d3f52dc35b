"""The shape of the package: no import cycle, and the API-version modules stay behind the
interfaces (see README, "Design")."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "putiofs"

#: The packages that speak one version of the put.io API. Only the factory that picks the
#: version, and the version packages themselves, may import them.
VERSION_PACKAGES = ("putiofs.v1", "putiofs.v2")
WIRING = {"putiofs.connect"}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, modules: set[str]) -> set[str]:
    """Every putiofs module ``path`` imports, anywhere in it (functions and TYPE_CHECKING
    blocks included: a cycle hidden there is still a cycle of the design)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            # ``from pkg import sub`` depends on the submodule; ``from pkg import name`` on
            # the package's ``__init__``.
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                       for alias in node.names]
        else:
            continue
        found.update(target for target in targets if target in modules)
    found.discard(name)
    return found


def import_graph() -> dict[str, set[str]]:
    paths = sorted(PACKAGE.rglob("*.py"))
    modules = {module_name(path) for path in paths}
    return {module_name(path): imports_of(path, modules) for path in paths}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for child in sorted(graph.get(node, ())):
            if child not in index:
                visit(child)
                low[node] = min(low[node], low[child])
            elif child in on_stack:
                low[node] = min(low[node], index[child])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_cycle_finder_finds_cycles():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_in_the_package():
    assert cycles(import_graph()) == []


def _is_version_module(module: str) -> bool:
    return any(module == p or module.startswith(p + ".") for p in VERSION_PACKAGES)


def _may_import_versions(module: str) -> bool:
    return module in WIRING or _is_version_module(module)


def test_only_the_wiring_and_the_version_modules_import_a_version_module():
    graph = import_graph()
    offending = {(module, target) for module, targets in graph.items()
                 for target in targets if _is_version_module(target)
                 and not _may_import_versions(module)}
    assert offending == set()


def test_the_front_and_errno_mapping_depend_only_downwards():
    graph = import_graph()
    importers_of_front = {module for module, targets in graph.items() if "putiofs.front" in targets}
    assert importers_of_front <= {"putiofs.mount.run", "putiofs.cli"}
    assert graph["putiofs.front.control"].isdisjoint({"putiofs.front", "putiofs.front.account_view",
                                                "putiofs.front.tree_edits"})
    assert graph["putiofs.front.errno_map"] <= {"putiofs.api.errors", "putiofs.tree.names",
                                            "putiofs.net.deadline"}


def test_the_emulator_imports_nothing_from_the_rest_of_the_package():
    graph = import_graph()
    for module, targets in graph.items():
        if module.startswith("putiofs.emulator"):
            assert {t for t in targets if not t.startswith("putiofs.emulator")} <= {"putiofs"}, \
                module
