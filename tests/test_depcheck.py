"""The layers stay honest: read the import graph from the source with ``ast``.

Modelled on go-containerregistry's ``cmd/crane/depcheck_test.go``: the
declared order of archport's top-level packages is data, here, once.  A
package may import packages of its own layer or below, never above; packages
never import each other in a cycle; and only the CLI reads flags, prints or
reads the environment (``cli``, ``rich``, ``argparse``, ``os.environ``,
``os.getenv``).

The same holds for the test bed (``testbed/``, :data:`TESTBED_LAYERS`), and
for the repository's own top-level packages (:data:`REPO_LAYERS`: the
stand-ins below the bed, the bed below the tests, the acceptance run and the
benchmarks on top).  No module imports itself back through others, in
``src/``, ``testbed/`` or ``standins/`` (:func:`module_cycles`), counting
imports inside functions too: an import deferred to call time is still a
dependency.
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SRC = REPO / "src" / "archport"
TESTBED = REPO / "testbed"
STANDINS = REPO / "standins"

# Bottom to top.  A unit is a top-level module or package of ``archport``.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("errors", "redaction", "temps", "progress", "dirlock"),
    ("platform", "reference", "streams", "zstd", "yamlsafe"),
    ("oci",),
    ("store", "location", "write"),
    ("imagefs", "binaries"),
    ("registry", "layout", "archive", "assemble", "emulation", "catalog", "k3s", "cache", "fetch", "remote"),
    ("images", "copy", "airgap", "check", "smoke", "node", "attest"),
    ("publish", "transplant", "toolchain"),
    ("strategies",),
    ("port", "doctor", "audit", "deploy", "verify"),
    ("cli",),
)
# The package's own ``__init__`` (version string) sits below everything.
ROOT_UNIT = "__init__"

# The test bed, bottom to top: paths and processes, the components, the
# registries UPSTREAM and REGISTRY, the node, the board's door, the k3s
# stand-in on top of the node, then the command line.
TESTBED_LAYERS: tuple[tuple[str, ...], ...] = (
    ("paths",),
    ("supervise", "cgroups", "pki", "forward", "build"),
    ("config", "images", "upstream"),
    ("node",),
    ("ssh", "sessions"),
    ("k3s",),
    ("__main__",),
)

# The repository's top-level packages, bottom to top.
REPO_LAYERS: tuple[tuple[str, ...], ...] = (
    ("archport",),
    ("standins",),
    ("testbed",),
    ("tests",),
    ("acceptance", "bench"),
)

FORBIDDEN_OUTSIDE_CLI = ("rich", "argparse")


def _unit_of(path: Path, src: Path) -> str:
    parts = path.relative_to(src).with_suffix("").parts
    return parts[0]


def _package_parts(path: Path, src: Path) -> list[str]:
    parts = [src.name, *path.relative_to(src).with_suffix("").parts]
    return parts[:-1]  # a module's package; for __init__ the package itself


def _imports(tree: ast.AST, pkg: list[str]) -> list[tuple[list[str], int]]:
    """Absolute dotted names each import statement reaches, with its line;
    ``from a.b import c`` reaches ``a.b.c`` (a module, or a name in ``a.b``)."""
    out: list[tuple[list[str], int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = pkg[: len(pkg) - (node.level - 1)] if node.level else []
            module = base + (node.module.split(".") if node.module else [])
            out.extend((module + [a.name], node.lineno) for a in node.names)
        elif isinstance(node, ast.Import):
            out.extend((a.name.split("."), node.lineno) for a in node.names)
    return out


def _reads_environment(tree: ast.AST) -> list[int]:
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "os" \
                and node.attr in ("environ", "environb", "getenv", "putenv"):
            lines.append(node.lineno)
        elif isinstance(node, ast.ImportFrom) and node.module == "os" \
                and any(a.name in ("environ", "getenv") for a in node.names):
            lines.append(node.lineno)
    return lines


def _layer_index(layers: tuple[tuple[str, ...], ...] = LAYERS) -> dict[str, int]:
    return {unit: i for i, layer in enumerate(layers) for unit in layer}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one unit (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph.get(start, ()))))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, it = work[-1]
            nxt = next(it, None)
            if nxt is not None:
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph.get(nxt, ())))))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                comp = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.append(w)
                    if w == node:
                        break
                if len(comp) > 1:
                    found.append(sorted(comp))
    return found


def violations(src: Path, layers: tuple[tuple[str, ...], ...] = LAYERS, library: bool = True) -> list[str]:
    """Every broken rule in the package under ``src``: ``archport``, or the test
    bed with ``TESTBED_LAYERS`` and ``library=False`` (the bed is a tool: it
    may print, parse flags and read its environment)."""
    order = _layer_index(layers)
    package = src.name
    problems: list[str] = []
    graph: dict[str, set[str]] = {}
    for path in sorted(src.rglob("*.py")):
        unit = _unit_of(path, src)
        rel = path.relative_to(src.parent)
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        if unit != ROOT_UNIT and unit not in order:
            problems.append(f"{rel}: '{unit}' is not in the declared LAYERS; place it there")
            continue
        for name, line in _imports(tree, _package_parts(path, src)):
            top = name[0]
            if library and unit != "cli" and top in FORBIDDEN_OUTSIDE_CLI:
                problems.append(f"{rel}:{line}: imports {top}; only archport.cli may")
            if top != package or len(name) < 2:
                continue
            target = name[1]
            if target == unit or target in ("__version__", ROOT_UNIT):
                continue
            if library and target == "cli" and unit != "cli":
                problems.append(f"{rel}:{line}: imports archport.cli; the library never reaches up to the CLI")
            graph.setdefault(unit, set()).add(target)
            if unit == ROOT_UNIT:
                problems.append(f"{rel}:{line}: the package root imports {target}")
            elif target not in order:
                problems.append(f"{rel}:{line}: imports '{target}', which is not in the declared LAYERS")
            elif order[target] > order[unit]:
                problems.append(f"{rel}:{line}: {unit} (layer {order[unit]}) imports {target} "
                                f"(layer {order[target]}), a higher layer")
        if library and unit != "cli":
            for line in _reads_environment(tree):
                problems.append(f"{rel}:{line}: reads the environment; only archport.cli may")
    for comp in _cycles(graph):
        problems.append("import cycle between packages: " + " ↔ ".join(comp))
    return list(dict.fromkeys(problems))     # ``from x import a, b`` reaches x once


def _modules(root: Path) -> dict[str, tuple[Path, list[str]]]:
    """Dotted module name -> (file, its package's parts) for the package at ``root``."""
    found = {}
    for path in sorted(root.rglob("*.py")):
        parts = (root.name, *path.relative_to(root).with_suffix("").parts)
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = (path, _package_parts(path, root))
    return found


def module_cycles(root: Path) -> list[list[str]]:
    """Modules of the package at ``root`` that import each other in a circle.
    ``from p import m`` counts as importing module ``p.m`` when there is one,
    else ``p``."""
    modules = _modules(root)
    graph: dict[str, set[str]] = {}
    for name, (path, pkg) in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for dotted, _line in _imports(tree, pkg):
            reached = next((".".join(dotted[:k]) for k in range(len(dotted), 0, -1)
                            if ".".join(dotted[:k]) in modules), None)
            if reached is not None and reached != name:
                graph.setdefault(name, set()).add(reached)
    return _cycles(graph)


def repo_violations(repo: Path, layers: tuple[tuple[str, ...], ...] = REPO_LAYERS) -> list[str]:
    """Imports between the repository's top-level packages that go up
    :data:`REPO_LAYERS` (``archport`` lives under ``src/``)."""
    order = _layer_index(layers)
    problems: list[str] = []
    for unit in order:
        root = repo / "src" / unit if unit == "archport" else repo / unit
        for path in sorted(root.rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for dotted, line in _imports(tree, _package_parts(path, root)):
                top = dotted[0]
                if top in order and order[top] > order[unit]:
                    problems.append(f"{path.relative_to(repo)}:{line}: {unit} imports {top}, which sits above it")
    return list(dict.fromkeys(problems))


def test_the_tree_keeps_its_layers():
    assert violations(SRC) == []


def test_the_test_bed_keeps_its_layers():
    assert violations(TESTBED, TESTBED_LAYERS, library=False) == []


def test_no_module_imports_itself_back():
    assert {root.name: module_cycles(root) for root in (SRC, TESTBED, STANDINS)} == \
        {"archport": [], "testbed": [], "standins": []}


def test_standins_testbed_tests_and_acceptance_import_downwards_only():
    assert repo_violations(REPO) == []


def test_every_declared_unit_is_named_once():
    names = [u for layer in LAYERS for u in layer]
    assert len(names) == len(set(names))


def test_every_declared_test_bed_and_repository_unit_is_named_once():
    for layers in (TESTBED_LAYERS, REPO_LAYERS):
        names = [u for layer in layers for u in layer]
        assert len(names) == len(set(names))


# -- the checker itself fails when it should -----------------------------------

def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "archport"
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return root


def test_an_upward_import_fails(tmp_path):
    src = _tree(tmp_path, {"__init__.py": "", "oci/__init__.py": "from ..port import run\n",
                           "port/__init__.py": "", "port/run.py": ""})
    assert any("oci (layer 2) imports port" in v for v in violations(src))


def test_a_cycle_fails(tmp_path):
    src = _tree(tmp_path, {"__init__.py": "", "registry.py": "from . import layout\n",
                           "layout.py": "from .registry import x\n"})
    assert any("cycle" in v and "layout" in v and "registry" in v for v in violations(src))


def test_rich_argparse_environment_and_cli_outside_cli_fail(tmp_path):
    src = _tree(tmp_path, {"__init__.py": "",
                           "smoke/__init__.py": "import os\nimport rich\nX = os.environ['A']\n",
                           "port/run.py": "from archport.cli import main\nimport argparse\n",
                           "doctor/x.py": "from os import getenv\n"})
    found = violations(src)
    assert any("smoke/__init__.py:2: imports rich" in v for v in found)
    assert any("smoke/__init__.py:3: reads the environment" in v for v in found)
    assert any("port/run.py:1: imports archport.cli" in v for v in found)
    assert any("port/run.py:2: imports argparse" in v for v in found)
    assert any("doctor/x.py:1: reads the environment" in v for v in found)


def test_an_undeclared_package_fails(tmp_path):
    src = _tree(tmp_path, {"__init__.py": "", "newthing/__init__.py": ""})
    assert any("'newthing' is not in the declared LAYERS" in v for v in violations(src))


def test_the_cli_may_do_all_of_it(tmp_path):
    src = _tree(tmp_path, {"__init__.py": "", "cli/main.py": "import os, argparse, rich\nfrom ..port import x\n"
                                                               "E = os.environ\n", "port/x.py": ""})
    assert violations(src) == []


def test_a_module_cycle_inside_a_package_fails(tmp_path):
    src = _tree(tmp_path, {"__init__.py": "", "catalog/__init__.py": "",
                           "catalog/model.py": "def f():\n    from .releases import Fixup\n",
                           "catalog/releases.py": "from .model import Provenance\n"})
    assert module_cycles(src) == [["archport.catalog.model", "archport.catalog.releases"]]


def test_an_upward_import_between_repository_packages_fails(tmp_path):
    for rel, text in {"src/archport/__init__.py": "", "standins/__init__.py": "from tests.support import images\n",
                      "testbed/__init__.py": "", "tests/__init__.py": "", "acceptance/__init__.py": "",
                      "bench/x.py": ""}.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    assert repo_violations(tmp_path) == ["standins/__init__.py:1: standins imports tests, which sits above it"]
