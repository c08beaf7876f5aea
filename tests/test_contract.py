"""Every installed architecture, and the test architecture of tests/toy.py, through the conformance kit.

A new plugin is checked here the moment it is installed; a plugin author does the same in their own
repository with `tfp_arch.testing`.
"""

from __future__ import annotations

import math

import keras
import pytest

import tfp_arch
from tfp_arch.testing import architecture_test_cases, check_architecture


@pytest.mark.slow
@pytest.mark.parametrize("architecture", architecture_test_cases())
def test_installed_architecture_keeps_the_contract(architecture):
    report = check_architecture(architecture)
    assert all(outcome.startswith(("ok", "skipped: not declared")) for outcome in report.values()), report
    if architecture.has_capability("density"):
        assert report["density"].startswith("ok"), report


def test_the_test_architecture_keeps_the_contract(toy_registered):
    assert check_architecture(tfp_arch.get("toy"))["save_load"] == "ok"


@pytest.mark.slow
@pytest.mark.parametrize("architecture", architecture_test_cases(["bnn", "maf"]))
def test_can_train_again_after_loading(architecture, tmp_path):
    from tfp_arch.runs import prepare_data

    dataset = prepare_data(architecture, None)
    x, y = dataset.x_train[:64], None if dataset.y_train is None else dataset.y_train[:64]
    model = architecture(**architecture.hyperparameters_for(dataset))
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    assert loaded.compiled
    history = loaded.fit(x, y, epochs=1, batch_size=16, verbose=0)
    assert math.isfinite(history.history["loss"][-1])
