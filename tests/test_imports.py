"""The package's import structure: every module imports, no import cycle, nothing imports upward.

Imports are read from the source with :mod:`ast` (every ``import`` statement, also the lazy ones
inside functions and those under ``TYPE_CHECKING``), so a cycle hidden in a function body counts.
The floors are DESIGN.md's, lowest first; a module imports only from its own floor or lower ones.
"""

from __future__ import annotations

import ast
import importlib
from collections.abc import Mapping
from pathlib import Path

import keras
import pytest

PACKAGE = "keras_facegen"
ROOT = Path(__file__).resolve().parents[1] / PACKAGE

# DESIGN.md: backend · layers, data, latent, augment · losses · models, callbacks · training,
# sampling, metrics, hub · explorer, cli. The private pure helpers sit under everything.
FLOORS: dict[str, int] = {
    "_validation": 0,
    "_images": 0,
    "runtime": 0,  # the C allocator's settings: the standard library only
    "backend": 1,
    "distributed": 1,  # keras.distribution and the backend modules only
    "layers": 2,
    "data": 2,
    "latent": 2,
    "augment": 2,
    "losses": 3,
    "models": 4,
    "callbacks": 4,
    "training": 5,
    "sampling": 5,
    "metrics": 5,
    "hub": 5,
    "explorer": 6,
    "cli": 6,
}
# Third-party packages a module may need that an install without extras lacks.
OPTIONAL = {"fastapi", "uvicorn", "pydantic", "jax", "torch", "tensorflow_hub", "playwright"}
# Upward imports kept on purpose, each with its reason (a stale entry fails the test).
ALLOWED_UPWARD = {
    "keras_facegen.callbacks (floor 4) imports keras_facegen.metrics.callback (floor 5)": (
        "keras_facegen.callbacks.EvaluateQuality, a documented alias, resolved lazily by the "
        "module's __getattr__; nothing in callbacks uses the metrics"
    ),
}
# Library files over this many lines are split where their concepts part (issue 17).
MAX_LINES = 600


def module_files(root: Path, package: str = PACKAGE) -> dict[str, Path]:
    """Every module of the package under ``root``: dotted name -> file."""
    modules = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join([package, *parts])] = path
    return modules


def _is_package(name: str, modules: Mapping[str, Path]) -> bool:
    return modules[name].name == "__init__.py"


def import_graph(root: Path, package: str = PACKAGE) -> dict[str, set[str]]:
    """``module -> the package's modules it imports``, read with ``ast`` from the sources.

    ``from a.b import c`` imports ``a.b.c`` when that is a module, else ``a.b``; relative imports
    are resolved against the importing module.
    """
    modules = module_files(root, package)
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        here = name if _is_package(name, modules) else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = here.split(".")[: len(here.split(".")) - node.level + 1]
                    base = ".".join([*anchor, *([base] if base else [])])
                for alias in node.names:
                    full = f"{base}.{alias.name}"
                    targets.append(full if full in modules else base)
            for target in targets:
                # `import a.b.c` names a module; keep the longest prefix that is one of ours.
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target and target != name and target != package:
                    graph[name].add(target)
    return graph


def floor_of(module: str) -> int | None:
    """The floor of a module of the package (``None`` for the package's ``__init__``)."""
    parts = module.split(".")
    if len(parts) == 1:
        return None
    if parts[1] not in FLOORS:
        raise AssertionError(
            f"{module} is in no floor: add {parts[1]!r} to FLOORS (and to DESIGN.md's floors)."
        )
    return FLOORS[parts[1]]


def upward_imports(graph: Mapping[str, set[str]]) -> list[str]:
    """Every import of a module on a higher floor, as ``'a (floor 2) imports b (floor 4)'``."""
    found = []
    for module, targets in sorted(graph.items()):
        low = floor_of(module)
        for target in sorted(targets):
            high = floor_of(target)
            if low is not None and high is not None and high > low:
                found.append(f"{module} (floor {low}) imports {target} (floor {high})")
    return found


def import_cycles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(cycles)


GRAPH = import_graph(ROOT)


def test_no_import_cycle():
    assert import_cycles(GRAPH) == []


def test_nothing_imports_upward():
    assert [found for found in upward_imports(GRAPH) if found not in ALLOWED_UPWARD] == []
    assert set(ALLOWED_UPWARD) <= set(upward_imports(GRAPH)), "remove stale ALLOWED_UPWARD"


def test_every_top_level_module_has_a_floor():
    for module in GRAPH:
        floor_of(module)  # raises for a module in no floor


def test_the_checks_find_an_upward_import_and_a_cycle(tmp_path):
    root = tmp_path / PACKAGE
    for name, source in {
        "__init__.py": "",
        "layers/__init__.py": "from keras_facegen.layers.a import A\n",
        "layers/a.py": "def f():\n    from keras_facegen.models import M  # upward, lazy\nA = 1\n",
        "data/__init__.py": "",
        "data/b.py": "from . import c\n",
        "data/c.py": "def g():\n    from keras_facegen.data.b import x\n",
        "models/__init__.py": "from .m import M\n",
        "models/m.py": "from ..layers import A\nM = A\n",
    }.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(source)
    graph = import_graph(root)
    assert graph["keras_facegen.models.m"] == {"keras_facegen.layers"}
    assert graph["keras_facegen.data.b"] == {"keras_facegen.data.c"}
    assert upward_imports(graph) == [
        "keras_facegen.layers.a (floor 2) imports keras_facegen.models (floor 4)"
    ]
    assert import_cycles(graph) == [
        ["keras_facegen.data.b", "keras_facegen.data.c"],
        [
            "keras_facegen.layers",
            "keras_facegen.layers.a",
            "keras_facegen.models",
            "keras_facegen.models.m",
        ],
    ]


def _importable(module: str) -> bool:
    parts = module.split(".")
    # Each backend package imports its framework: only the active one is imported here.
    return not (len(parts) > 2 and parts[1] == "backend" and parts[2] != keras.backend.backend())


@pytest.mark.parametrize("module", sorted(m for m in GRAPH if _importable(m)))
def test_every_module_imports(module):
    try:
        importlib.import_module(module)
    except ModuleNotFoundError as error:
        if error.name and error.name.split(".")[0] in OPTIONAL:
            pytest.skip(f"{module} needs the optional {error.name}")
        raise


def test_no_library_file_is_over_the_line_limit():
    too_long = {}
    for path in ROOT.rglob("*.py"):
        count = len(path.read_text().splitlines())
        if count > MAX_LINES:
            too_long[path.relative_to(ROOT).as_posix()] = count
    assert too_long == {}, f"split these where their concepts part: {too_long}"
