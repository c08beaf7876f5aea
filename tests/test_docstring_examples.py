"""Every `Example:` in a docstring of tfp_arch, its plugins and its CLI runs as a doctest and gives the output it shows.

Each example runs in its module's namespace plus `np`, `tf`, `tfp`, `keras` and `tfp_arch`, as numpy's own doctests
get `np`.
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil
import re

import pytest

import tfp_arch

SKIPPED_MODULES: tuple[str, ...] = ()
TRAINING_MODULES = {
    "tfp_arch.layers.flows.flow",
    "tfp_arch.layers.flows.nsf",
    "tfp_arch.plugins.bnn.cnn",
    "tfp_arch.plugins.bnn.model",
    "tfp_arch.plugins.maf.model",
    "tfp_arch.plugins.nsf.model",
    "tfp_arch.plugins.vae.model",
}
"""Modules whose examples train a model (3 to 7 CPU-seconds each): in the full suite, not the fast loop."""
EXAMPLE = re.compile(r"^(\s*)Example:\s*$", re.MULTILINE)


def _module_names() -> list[str]:
    names = ["tfp_arch"]
    for package in ("tfp_arch", "tfp_arch.plugins", "tfp_arch.cli"):
        module = importlib.import_module(package)
        names += [info.name for info in pkgutil.walk_packages(module.__path__, f"{package}.")]
    return sorted({name for name in names if name not in SKIPPED_MODULES})


MODULES = _module_names()


def _docstring_tests(name: str) -> list[doctest.DocTest]:
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder(exclude_empty=False)
    return [test for test in finder.find(module, name) if test.docstring and EXAMPLE.search(test.docstring)]


def _example_sections(docstring: str) -> list[str]:
    sections = []
    for match in EXAMPLE.finditer(docstring):
        indent = len(match.group(1))
        lines = []
        for line in docstring[match.end():].splitlines()[1:]:
            if line.strip() and len(line) - len(line.lstrip()) <= indent:
                break
            lines.append(line)
        sections.append("\n".join(lines))
    return sections


def test_modules_are_found() -> None:
    assert {"tfp_arch.losses", "tfp_arch.plugins.bnn.model", "tfp_arch.cli.main"} <= set(MODULES)
    assert TRAINING_MODULES <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_every_example_is_a_doctest(name: str) -> None:
    for test in _docstring_tests(name):
        for section in _example_sections(test.docstring):
            assert ">>>" in section, (
                f"{test.name}: its `Example:` has no `>>>` line to run; write it as a doctest or as prose"
            )


@pytest.mark.parametrize(
    "name", [pytest.param(name, marks=pytest.mark.slow) if name in TRAINING_MODULES else name for name in MODULES]
)
def test_docstring_examples_run(name: str) -> None:
    import keras
    import numpy as np
    import tensorflow as tf
    import tensorflow_probability as tfp

    keras.utils.set_random_seed(0)
    common = {"np": np, "tf": tf, "keras": keras, "tfp": tfp, "tfp_arch": tfp_arch}
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in _docstring_tests(name):
        test.globs = {**common, **test.globs}
        runner.run(test)
    results = runner.summarize(verbose=False)
    assert results.failed == 0, f"{results.failed} of {results.attempted} docstring example lines failed in {name}"
