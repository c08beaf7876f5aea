"""TensorBoard logging: `TensorBoardTerms` and `tfp-arch train --tensorboard` write each tag (read back)."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from click.testing import CliRunner
from tfp_arch.cli.main import main
from tfp_arch.plugins.bnn import BayesianMLP

from tfp_arch.callbacks import TensorBoardTerms
from tfp_arch.data.synthetic import make_synthetic


def _scalars(log_dir: Path) -> dict[str, list[tuple[int, float]]]:
    found: dict[str, list[tuple[int, float]]] = {}
    for path in sorted(log_dir.rglob("events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            for value in event.summary.value:
                number = float(tf.make_ndarray(value.tensor)) if value.HasField("tensor") else value.simple_value
                found.setdefault(value.tag, []).append((event.step, number))
    return found


@pytest.mark.slow
def test_callback_logs_the_loss_terms_learning_rate_validation_and_posterior_scales(tmp_path):
    keras.utils.set_random_seed(0)
    data = make_synthetic("gap_regression", n=200)
    model = BayesianMLP(hidden_units=[8])
    history = model.fit(data.x_train, data.y_train, epochs=3, verbose=0, validation_split=0.25,
                        callbacks=[TensorBoardTerms(tmp_path)])
    scalars = _scalars(tmp_path)
    expected = {"loss/total", "loss/nll", "loss/kl", "kl_weight", "learning_rate", "val/loss",
                "posterior_scale/dense_variational_0", "posterior_scale/dense_variational_1"}
    assert expected <= set(scalars)
    assert [step for step, _ in scalars["loss/total"]] == [1, 2, 3]
    np.testing.assert_allclose([v for _, v in scalars["loss/total"]], history.history["loss"], rtol=1e-6)
    np.testing.assert_allclose([v for _, v in scalars["val/loss"]], history.history["val_loss"], rtol=1e-6)
    weight = float(model.variational_layers[0].kl_weight_variable)
    kl = sum(float(layer.kl_divergence()) for layer in model.variational_layers) * weight
    np.testing.assert_allclose(scalars["loss/kl"][-1][1], kl, rtol=1e-5)
    np.testing.assert_allclose(scalars["kl_weight"][-1][1], weight, rtol=1e-6)
    total = scalars["loss/nll"][-1][1] + scalars["loss/kl"][-1][1]
    np.testing.assert_allclose(total, scalars["loss/total"][-1][1], rtol=1e-6)
    np.testing.assert_allclose(scalars["learning_rate"][-1][1], float(model.optimizer.learning_rate), rtol=1e-6)
    scale = model.variational_layers[0].family.loc_and_marginal_scale()[1]
    logged = scalars["posterior_scale/dense_variational_0"][-1][1]
    np.testing.assert_allclose(logged, float(tf.reduce_mean(scale)), rtol=1e-6)


@pytest.mark.slow
def test_train_tensorboard_writes_events(tmp_path):
    result = CliRunner().invoke(main, ["train", "bnn", "--data", "synthetic:gap_regression#n=120", "--epochs", "2",
                                       "-p", "hidden_units=[4]", "--output", str(tmp_path / "run"),
                                       "--tensorboard", str(tmp_path / "logs"), "--validation-split", "0.2"])
    assert result.exit_code == 0, result.output
    scalars = _scalars(tmp_path / "logs")
    assert {"loss/nll", "loss/kl", "kl_weight", "learning_rate", "val/loss"} <= set(scalars)
    assert len(scalars["loss/kl"]) == 2


def test_train_tensorboard_without_the_package_fails_early_in_one_line(tmp_path, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "tensorboard" else real(name, *a))
    result = CliRunner().invoke(main, ["train", "bnn", "--epochs", "1", "--output", str(tmp_path / "run"),
                                       "--tensorboard", str(tmp_path / "logs")])
    assert result.exit_code == 2
    assert "pip install 'tfp-arch[tensorboard]'" in result.stderr
    assert not (tmp_path / "run").exists() and not (tmp_path / "run.partial").exists()
    with pytest.raises(ImportError, match="tensorboard"):
        TensorBoardTerms(tmp_path / "logs")
