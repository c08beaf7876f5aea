"""The import arrows of the package point down: runs above the registry, the registry above declarations,
the planning half of a run free of TensorFlow (read from the source, so nothing is imported)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = {"tfp_arch": ROOT / "tfp_arch", "tfp_arch.cli": ROOT / "cli", "tfp_arch.plugins": ROOT / "plugins"}


def _modules() -> dict[str, Path]:
    found = {}
    for package, folder in FOLDERS.items():
        for path in folder.rglob("*.py"):
            parts = path.relative_to(folder).with_suffix("").parts
            parts = parts[:-1] if parts[-1] == "__init__" else parts
            found[".".join((package, *parts))] = path
    return found


MODULES = _modules()


def _imports(path: Path, top_level_only: bool = False) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    names = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def _importers_of(prefix: str, among: str) -> list[str]:
    return sorted(
        name
        for name, path in MODULES.items()
        if name.startswith(among) and not name.startswith(prefix)
        for imported in _imports(path)
        if imported == prefix or imported.startswith(prefix + ".")
    )


def test_the_module_list_is_complete():
    assert {
        "tfp_arch.runs.plan",
        "tfp_arch.registry.core",
        "tfp_arch.cli.training",
        "tfp_arch.plugins.bnn.model",
    } <= set(MODULES)


@pytest.mark.parametrize(
    ("lower", "higher"),
    [
        ("tfp_arch.registry", "tfp_arch.runs"),
        ("tfp_arch.registry", "tfp_arch.distribute"),
        ("tfp_arch.registry", "tfp_arch.data"),
        ("tfp_arch.declaration", "tfp_arch.registry"),
        ("tfp_arch.hyperparameters", "tfp_arch.registry"),
        ("tfp_arch.distribute", "tfp_arch.runs"),
        ("tfp_arch.distribute", "tfp_arch.registry"),
        ("tfp_arch.data", "tfp_arch.runs"),
        ("tfp_arch.architecture", "tfp_arch.runs"),
        ("tfp_arch.callbacks", "tfp_arch.runs"),
        ("tfp_arch.export", "tfp_arch.runs"),
        ("tfp_arch.layers", "tfp_arch.runs"),
        ("tfp_arch.runs", "tfp_arch.cli"),
        ("tfp_arch.registry", "tfp_arch.cli"),
    ],
)
def test_no_import_arrow_runs_back_up(lower, higher):
    assert _importers_of(higher, among=lower) == []


def test_the_core_imports_no_plugin():
    core = [name for name in MODULES if not name.startswith(("tfp_arch.plugins", "tfp_arch.cli", "tfp_arch.testing"))]
    assert [name for name in core if any(i.startswith("tfp_arch.plugins") for i in _imports(MODULES[name]))] == []


@pytest.mark.parametrize(
    "module",
    [
        "tfp_arch.runs",
        "tfp_arch.runs.plan",
        "tfp_arch.runs.request",
        "tfp_arch.runs.folder",
        "tfp_arch.runs.placement",
        "tfp_arch.registry.describe",
        "tfp_arch.declaration",
        "tfp_arch.hyperparameters",
        "tfp_arch.distribute",
        *[name for name in MODULES if name.endswith(".declaration") and name.startswith("tfp_arch.plugins.")],
    ],
)
def test_planning_modules_import_no_tensorflow_at_import_time(module):
    heavy = {i for i in _imports(MODULES[module], top_level_only=True) if i.split(".")[0] in ("tensorflow", "keras")}
    assert heavy == set()
