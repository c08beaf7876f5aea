"""The conformance kit as a plugin author uses it: the wheel's pytest plugin, run in a fresh pytest.

A third-party distribution with a good and a broken architecture is installed on `sys.path`; a test
module of one line checks both, and `pytest --pyargs tfp_arch.testing` checks the good one without
any test module. Each runs in its own pytest process, as in the author's repository.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

BROKEN = '''

class NoSummary(ToyRegressor):
    summary = ""
'''


def _install(plugins) -> None:
    module = plugins.unique("acme_kit")
    source = plugins.toy_module(module) + BROKEN
    plugins.distribution("acme-kit", {"acme_toy": f"{module}:ToyRegressor", "acme_broken": f"{module}:NoSummary"},
                         {module: source})


def _pytest(args: list[str], cwd, plugins) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(plugins.root), *sys.path]), "TF_CPP_MIN_LOG_LEVEL": "3"}
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-W", "ignore::DeprecationWarning", *args]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=env, timeout=600)


def test_one_line_in_an_authors_suite_checks_the_contract_and_names_the_broken_rule(plugins, tmp_path):
    _install(plugins)
    suite = tmp_path / "author"
    suite.mkdir()
    (suite / "test_acme.py").write_text(
        "from tfp_arch.testing import contract_test\n\n"
        'test_acme_keeps_the_contract = contract_test("acme_toy", "acme_broken")\n'
    )
    result = _pytest(["test_acme.py"], suite, plugins)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "1 failed, 1 passed" in result.stdout, result.stdout
    assert "FAILED test_acme.py::test_acme_keeps_the_contract[acme_broken]" in result.stdout
    assert "breaks the contract rule `registry_metadata`" in result.stdout


@pytest.mark.slow
def test_pyargs_runs_the_kit_over_the_chosen_installed_architecture(plugins, tmp_path):
    _install(plugins)
    result = _pytest(["--pyargs", "tfp_arch.testing", "--tfp-arch-architecture", "acme_toy", "-v"], tmp_path, plugins)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "test_installed_architecture_keeps_the_contract[acme_toy] PASSED" in result.stdout, result.stdout
    assert "1 passed" in result.stdout
