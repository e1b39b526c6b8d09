"""The package's layout: subpackages that follow the data flow, imports that flow one way,
modules and classes small enough to read.

The import graph is read with ``ast`` (nothing is imported). TYPE_CHECKING-only imports
do not count: they never run.
"""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "reformsim"
# lower layers first: a module may import from its own layer or a lower one, never a higher
LAYERS = ("errors", "model", "engine", "scale", "scenarios", "analysis", "report", "explore", "cli")
MAX_MODULE_LINES = 450
MAX_CLASS_LINES = 250
# a module or class over the limit must say why at its top, in a line starting with this
REASON = "Size:"


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped |= {id(sub) for sub in ast.walk(node)}
    return skipped


def _imports(name: str, path: Path) -> set[str]:
    """Modules of the package that ``name`` imports (at any depth: lazy imports count)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped = _type_checking_nodes(tree)
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            found.add(module)
            found |= {f"{module}.{alias.name}" for alias in node.names}
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    graph = {}
    for name, path in modules.items():
        targets = {t for t in _imports(name, path) if t in modules}
        # a module importing a package it lives in, or a package importing its own children,
        # is how Python packages work, not a cycle of the design
        graph[name] = {t for t in targets if t != name and not name.startswith(t + ".")
                       and not t.startswith(name + ".")}
    return graph


def test_there_is_no_import_cycle():
    try:
        graphlib.TopologicalSorter(_graph()).prepare()
    except graphlib.CycleError as cycle:
        pytest.fail("import cycle: " + " -> ".join(cycle.args[1]))


def _layer(module: str) -> int | None:
    parts = module.split(".")
    return LAYERS.index(parts[1]) if len(parts) > 1 and parts[1] in LAYERS else None


def test_imports_flow_from_higher_layers_to_lower_ones():
    wrong = []
    for module, targets in _graph().items():
        mine = _layer(module)
        for target in targets:
            theirs = _layer(target)
            if mine is not None and theirs is not None and theirs > mine:
                wrong.append(f"{module} imports {target}")
    assert not wrong, "\n".join(sorted(wrong))


def test_the_subpackages_follow_the_data_flow():
    packages = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    assert {"model", "engine", "scenarios", "report", "cli"} <= packages


def test_only_report_and_above_import_matplotlib():
    for name, path in _modules().items():
        layer = _layer(name)
        if layer is not None and layer < LAYERS.index("report"):
            assert not any(t.startswith("matplotlib") for t in _imports(name, path)), name


def test_only_the_model_package_imports_pysd():
    for name, path in _modules().items():
        if not name.startswith("reformsim.model"):
            assert not any(t.split(".")[0] == "pysd" for t in _imports(name, path)), name


def _has_reason(text: str) -> bool:
    return REASON in text[:2000]


def test_modules_and_classes_are_small_enough_to_read():
    too_big = []
    for name, path in _modules().items():
        text = path.read_text(encoding="utf-8")
        lines = text.count("\n")
        if lines > MAX_MODULE_LINES and not _has_reason(text):
            too_big.append(f"{name}: {lines} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ClassDef):
                size = node.end_lineno - node.lineno + 1
                doc = ast.get_docstring(node) or ""
                if size > MAX_CLASS_LINES and not _has_reason(doc):
                    too_big.append(f"{name}.{node.name}: {size} lines")
    assert not too_big, ("over the limit, with no 'Size:' reason at the top:\n"
                         + "\n".join(too_big))
