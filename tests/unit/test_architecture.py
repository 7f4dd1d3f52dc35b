"""The shape of the package (docs/architecture.md): data flows one way between packages named
for their roles, no import cycle, one package loads the FUSE binding, one raises errno for the
kernel, the API versions stay behind the factory, the emulator stands apart, and the house
stays readable (few modules per folder)."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.support.imports import PACKAGE, import_graph, other_imports, source_files

#: What each part of the package may import from the others (besides itself and the package's
#: own ``__init__``): ``cli -> mount -> front -> (tree, read, write) -> api <- v1 | v2``, with
#: ``net`` under all of them. A part is a subpackage, or a top-level module.
MAY_IMPORT: dict[str, set[str]] = {
    "api": set(),
    "logs": set(),
    "torrent": set(),
    "config": {"api"},
    "net": {"api", "logs"},
    "v1": {"api", "net", "config", "logs"},
    "v2": {"api", "net", "config", "logs"},
    "connect": {"api", "net", "config", "logs", "v1", "v2"},
    "tree": {"api", "net"},
    "read": {"api", "net", "logs"},
    "write": {"api", "net", "tree", "read", "logs"},
    "views": {"api", "write"},
    "thumbnails": {"api", "net", "tree"},
    "hooks": {"api", "tree"},
    "subtitles": {"api", "net", "tree"},
    "front": {"api", "net", "tree", "read", "write", "views", "torrent", "logs", "subtitles"},
    "mount": {"api", "net", "config", "connect", "logs", "tree", "write", "front",
              "thumbnails", "hooks", "subtitles"},
    "commands": {"api", "net", "config", "connect", "logs", "tree", "write", "views", "torrent",
                 "front", "read"},
    "testing": {"mount"},
    "cli": {"api", "config", "logs", "net", "front", "write", "mount", "commands", "emulator"},
    "__main__": {"cli"},
    "emulator": set(),
}
#: The packages that speak one version of the put.io API; only the factory names them.
VERSION_PACKAGES = ("v1", "v2")
FACTORY = "putiofs.connect"
#: The parts below the front: they know put.io and the disk, never the kernel.
BELOW_THE_FRONT = ("api", "net", "tree", "read", "write", "v1", "v2", "config", "connect",
                   "views", "torrent", "logs", "thumbnails", "subtitles")
FUSE_BINDINGS = {"fuse", "mfusepy"}
#: Calls that make an errno for the kernel out of an errno value.
ERRNO_RAISERS = {"OSError", "FuseOSError", "fail", "PermissionError", "FileNotFoundError"}
#: Constants the emulator defines for itself although the client has them too: it stands apart,
#: so a value of the wire (the root folder's id, the socket's close code) is written on each side.
CONSTANTS_ON_BOTH_SIDES = {"ROOT_ID", "UNAUTHORIZED"}
#: How many modules a folder of the package may hold at its own level (its __init__ counted).
MAX_TOP_LEVEL = 12
MAX_PER_PACKAGE = 18


def part_of(module: str) -> str:
    """``putiofs.front.control.add`` -> ``front``; ``putiofs.cli`` -> ``cli``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


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


def test_every_part_of_the_package_has_its_rules():
    parts = {part_of(module) for module in import_graph()} - {""}
    assert parts == set(MAY_IMPORT)


def test_data_flows_one_way_between_the_parts():
    offending = sorted(
        (module, target) for module, targets in import_graph().items() for target in targets
        if part_of(target) not in {part_of(module), ""}
        and part_of(target) not in MAY_IMPORT[part_of(module)])
    assert offending == []


def test_only_the_factory_names_an_api_version():
    offending = sorted(
        (module, target) for module, targets in import_graph().items() for target in targets
        if part_of(target) in VERSION_PACKAGES and part_of(module) not in VERSION_PACKAGES
        and module != FACTORY)
    assert offending == []


def test_the_front_and_the_errno_map_depend_only_downwards():
    graph = import_graph()
    importers_of_operations = {module for module, targets in graph.items()
                               if "putiofs.front.operations" in targets}
    assert importers_of_operations <= {"putiofs.mount.run", "putiofs.mount.compose"}
    for module in (m for m in graph if m.startswith("putiofs.front.control")):
        assert graph[module].isdisjoint({"putiofs.front.operations", "putiofs.front.account_view",
                                         "putiofs.front.tree_edits"}), module
    assert graph["putiofs.front.errno_map"] <= {"putiofs.api.errors", "putiofs.tree.names",
                                                "putiofs.net.deadline"}


def test_only_mount_loads_a_fuse_binding():
    loaders = {module for module, path in source_files().items()
               if other_imports(path) & FUSE_BINDINGS}
    assert loaders == {"putiofs.mount.binding"}


def _errno_raises(path: Path) -> list[int]:
    """Lines that raise an errno: ``raise OSError(errno.X ...)``, ``raise fail(errno.X)``."""
    lines = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Raise) or not isinstance(node.exc, ast.Call):
            continue
        func = node.exc.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
        uses_errno = any(isinstance(sub, ast.Attribute) and isinstance(sub.value, ast.Name)
                         and sub.value.id == "errno" for arg in node.exc.args
                         for sub in ast.walk(arg))
        if name in ERRNO_RAISERS and uses_errno:
            lines.append(node.lineno)
    return lines


def test_the_errno_finder_finds_errno_raises(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("import errno\ndef f():\n    raise OSError(errno.EIO, 'x')\n"
                      "def g():\n    raise fail(errno.ENOSPC)\ndef h():\n    raise ValueError(1)\n")
    assert _errno_raises(sample) == [3, 5]


def test_nothing_below_the_front_raises_errno_or_imports_the_errno_map():
    graph = import_graph()
    offending = []
    for module, path in source_files().items():
        if part_of(module) not in BELOW_THE_FRONT:
            continue
        offending += [f"{module}:{line}" for line in _errno_raises(path)]
        if "putiofs.front.errno_map" in graph[module]:
            offending.append(f"{module} imports the errno map")
    assert offending == []


def test_the_api_part_does_no_io():
    io_modules = {"requests", "urllib3", "socket", "ssl", "http", "websockets", "subprocess",
                  "shutil", "os", "io", "fuse", "mfusepy"}
    offending = {module: sorted(other_imports(path) & io_modules)
                 for module, path in source_files().items()
                 if part_of(module) == "api" and other_imports(path) & io_modules}
    assert offending == {}


def test_the_emulator_imports_nothing_from_the_rest_of_the_package():
    offending = sorted(
        (module, target) for module, targets in import_graph().items() for target in targets
        if part_of(module) == "emulator" and part_of(target) not in {"emulator", ""})
    assert offending == []


def _modules_at(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.glob("*.py"))


def test_the_house_has_few_modules_per_folder():
    top = _modules_at(PACKAGE)
    assert len(top) <= MAX_TOP_LEVEL, top
    assert len(_modules_at(PACKAGE / "emulator")) <= MAX_TOP_LEVEL
    crowded = {str(folder.relative_to(PACKAGE)): len(_modules_at(folder))
               for folder in PACKAGE.rglob("*") if folder.is_dir()
               and len(_modules_at(folder)) > MAX_PER_PACKAGE}
    assert crowded == {}


def _constants(path: Path) -> set[str]:
    names = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        targets = node.targets if isinstance(node, ast.Assign) else (
            [node.target] if isinstance(node, ast.AnnAssign) and node.value is not None else [])
        names.update(target.id.lstrip("_") for target in targets
                     if isinstance(target, ast.Name) and target.id.lstrip("_").isupper())
    return names


def test_every_constant_has_one_home():
    homes: dict[str, list[str]] = {}
    for module, path in source_files().items():
        for name in _constants(path):
            homes.setdefault(name, []).append(module)
    repeated = {name: modules for name, modules in homes.items() if len(modules) > 1}
    assert set(repeated) <= CONSTANTS_ON_BOTH_SIDES, repeated
    for name in set(repeated):
        assert sum(part_of(module) == "emulator" for module in repeated[name]) == 1, name
