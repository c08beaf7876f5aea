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
