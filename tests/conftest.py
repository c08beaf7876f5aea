"""Shared fixtures: the test architecture and temporary plugin distributions."""

from __future__ import annotations

import itertools
import os
import sys
import textwrap
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).parent))

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
needs_shared_data = pytest.mark.skipif(
    not SHARED_DATA.is_dir(), reason=f"real data sets not found at {SHARED_DATA} (../shared/data beside the checkout)"
)

_counter = itertools.count()

XDIST_DEFAULTS = {"numprocesses": "auto", "maxprocesses": 4, "dist": "loadfile"}
"""How the suite runs when pytest-xdist is installed and `-n` is not given: on up to 4 workers, one
test module per worker (module-scoped fixtures train once per module)."""


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> None:
    """With pytest-xdist installed: `-n auto --maxprocesses 4` unless `-n` is given, and `--dist loadfile`
    unless `--dist` is given (`-n 0` runs in one process).

    Without pytest-xdist, plain `pytest` runs the tests in one process and says so in its header
    (`pytest_report_header`), instead of stopping at an `-n` in `addopts`.
    """
    if not config.pluginmanager.hasplugin("xdist") or hasattr(config, "workerinput"):
        return
    option = config.option
    if option.numprocesses is None and not option.tx:
        option.numprocesses = XDIST_DEFAULTS["numprocesses"]
        option.maxprocesses = option.maxprocesses or XDIST_DEFAULTS["maxprocesses"]
    if option.dist == "no" and option.numprocesses != 0:
        option.dist = XDIST_DEFAULTS["dist"]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Modules with the most test functions marked slow first, each module's tests in their own order.

    `--dist loadfile` hands whole modules to the workers in collection order: starting with the long
    ones leaves short modules for the end, so no worker is still running a long module while the
    others have nothing left.
    """
    slow: dict[str, set[str]] = {}
    for item in items:
        module, _, name = item.nodeid.partition("::")
        functions = slow.setdefault(module, set())
        if item.get_closest_marker("slow") is not None:
            functions.add(name.split("[")[0])
    position = {module: i for i, module in enumerate(slow)}

    def key(item: pytest.Item) -> tuple[int, int]:
        module = item.nodeid.partition("::")[0]
        return -len(slow[module]), position[module]

    items.sort(key=key)


def pytest_report_header(config: pytest.Config) -> str | None:
    if config.pluginmanager.hasplugin("xdist"):
        return None
    return "pytest-xdist is not installed, so the tests run in one process: pip install -e '.[dev]' runs them in parallel"


class PluginFactory:
    """Writes real plugin distributions (`*.dist-info` with `entry_points.txt`, plus modules) on sys.path."""

    def __init__(self, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.root = root
        monkeypatch.syspath_prepend(str(root))

    def unique(self, stem: str) -> str:
        """A module or distribution name not used before in this process."""
        return f"{stem}_{os.getpid()}_{next(_counter)}"

    def distribution(self, name: str, entry_points: dict[str, str], modules: dict[str, str]) -> Path:
        """Create distribution `name` declaring `entry_points` (name -> value) and the given modules."""
        info = self.root / f"{name.replace('-', '_')}-1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
        lines = "\n".join(f"{key} = {value}" for key, value in entry_points.items())
        (info / "entry_points.txt").write_text(f"[tfp_arch.architectures]\n{lines}\n")
        for module, source in modules.items():
            (self.root / f"{module}.py").write_text(textwrap.dedent(source))
        return info

    def toy_module(self, registered_package: str) -> str:
        """Source of a standalone plugin module defining `ToyRegressor` (a copy of tests/toy.py)."""
        source = (Path(__file__).parent / "toy.py").read_text()
        return source.replace('package="tfp_arch_tests"', f'package="{registered_package}"')


@pytest.fixture
def plugins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> PluginFactory:
    """A factory of plugin distributions installed on sys.path for one test."""
    root = tmp_path / "site"
    root.mkdir()
    return PluginFactory(root, monkeypatch)


@pytest.fixture
def toy_registered():
    """The test architecture registered in-process as `toy` for one test."""
    import tfp_arch
    from tfp_arch.registry import default_registry
    from toy import ToyRegressor

    tfp_arch.register(ToyRegressor, replace=True)
    yield ToyRegressor
    default_registry().unregister("toy")


@pytest.fixture(autouse=True, scope="module")
def _fresh_keras_state_per_module():
    """Clear Keras' global state after each test module, so that later modules do not run slower
    under the graphs and names that earlier modules left behind."""
    yield
    import gc

    import keras

    keras.backend.clear_session()
    gc.collect()
