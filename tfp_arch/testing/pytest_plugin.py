"""The conformance kit's pytest plugin, registered for pytest by the wheel (entry point group `pytest11`).

pytest loads it in every session of an environment where tfp-arch is installed, so it imports neither
TensorFlow nor any plugin until a test asks for an architecture. It gives:

- the fixture `tfp_arch_architecture`: the architecture class under test. Every test that takes it
  is parametrised, one case per registry name: the names of the test's
  `@pytest.mark.tfp_arch_architectures(...)` marker, else those of `--tfp-arch-architecture NAME`
  (repeatable), else the ini option `tfp_arch_architectures`, else every installed architecture.
  Each class is imported in its own test, so a plugin that fails to import fails its case only.
- `contract_test(*names)` (`tfp_arch.testing.contract_test`) builds such a test around
  `check_architecture`, so a plugin author's suite needs one line:
  `test_my_arch_keeps_the_contract = contract_test("my_arch")`.

`pytest --pyargs tfp_arch.testing` runs the kit's own test module over the installed architectures.
"""

from __future__ import annotations

from typing import Any

import pytest

__all__ = ["FIXTURE", "MARKER", "OPTION", "selected_names", "tfp_arch_architecture"]

FIXTURE = "tfp_arch_architecture"
MARKER = "tfp_arch_architectures"
OPTION = "--tfp-arch-architecture"
_INI = "tfp_arch_architectures"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("tfp_arch", "tfp_arch conformance kit")
    group.addoption(
        OPTION,
        action="append",
        default=[],
        metavar="NAME",
        dest="tfp_arch_architectures",
        help="Architecture (registry name) for tests taking `tfp_arch_architecture`; repeatable. "
        "Default: the ini option tfp_arch_architectures, else every installed architecture.",
    )
    parser.addini(_INI, "Architectures (registry names) for tests taking `tfp_arch_architecture`.", type="args")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{MARKER}(*names): the architectures (registry names) a test taking `{FIXTURE}` runs over."
    )


def selected_names(config: pytest.Config, marker: pytest.Mark | None = None) -> list[str]:
    """The registry names a test taking `tfp_arch_architecture` runs over (see the module docstring)."""
    if marker is not None and marker.args:
        return list(marker.args)
    names = config.getoption("tfp_arch_architectures") or config.getini(_INI)
    if names:
        return list(names)
    from tfp_arch.registry import architectures

    return architectures()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if FIXTURE not in metafunc.fixturenames:
        return
    names = selected_names(metafunc.config, metafunc.definition.get_closest_marker(MARKER))
    metafunc.parametrize(FIXTURE, names, indirect=True, ids=names)


@pytest.fixture
def tfp_arch_architecture(request: pytest.FixtureRequest) -> Any:
    """The architecture class registered under this test case's name, imported on demand."""
    from tfp_arch.registry import get

    return get(request.param)
