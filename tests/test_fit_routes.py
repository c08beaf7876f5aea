"""`fit`'s data routes: adapt sees only the training rows, and arrays and datasets train the same model."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfp_arch.fast_fit import hold_out
from tfp_arch.plugins.bnn import BayesianMLP
from tfp_arch.plugins.maf import MaskedAutoregressiveFlowModel
from tfp_arch.plugins.vae.model import VariationalAutoencoder, binarize


def _rows(n: int = 100, d: int = 2) -> np.ndarray:
    return np.random.default_rng(0).normal(size=(n, d)).astype("float32")


def _with_outlier_tail(x: np.ndarray, fraction: float) -> np.ndarray:
    x = x.copy()
    x[int(len(x) * (1.0 - fraction)) :] = 1e3
    return x


def test_hold_out_takes_the_last_fraction_before_shuffling():
    x, y, w = np.arange(10.0)[:, None], np.arange(10.0), np.linspace(0.1, 1.0, 10)
    x_train, y_train, kwargs = hold_out(x, y, {"validation_split": 0.3, "sample_weight": w, "epochs": 2})
    np.testing.assert_array_equal(x_train[:, 0], np.arange(7.0))
    np.testing.assert_array_equal(y_train, np.arange(7.0))
    np.testing.assert_array_equal(kwargs["sample_weight"], w[:7])
    val_x, val_y, val_w = kwargs["validation_data"]
    np.testing.assert_array_equal(val_x[:, 0], [7.0, 8.0, 9.0])
    np.testing.assert_array_equal(val_y, [7.0, 8.0, 9.0])
    np.testing.assert_array_equal(val_w, w[7:])
    assert "validation_split" not in kwargs and kwargs["epochs"] == 2


@pytest.mark.slow
def test_bnn_validation_tail_of_outliers_moves_neither_standardisation_nor_kl_weight():
    x = _with_outlier_tail(_rows(), 0.2)
    y = x[:, 0] + 1.0
    model = BayesianMLP(hidden_units=[4], likelihood="gaussian", seed=0)
    model.fit(x, y, validation_split=0.2, epochs=1, verbose=0)
    train_x, train_y = x[:80], y[:80]
    np.testing.assert_allclose(model.input_standardization.mean.numpy(), train_x.mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(model.input_standardization.scale.numpy(), train_x.std(axis=0), rtol=1e-4)
    np.testing.assert_allclose(model.target_standardization.mean.numpy(), [train_y.mean()], rtol=1e-5)
    for layer in model.variational_layers:
        assert float(layer.kl_weight_variable.numpy()) == pytest.approx(1.0 / 80)


@pytest.mark.slow
def test_maf_validation_tail_of_outliers_does_not_move_standardisation():
    x = _with_outlier_tail(_rows(), 0.25)
    model = MaskedAutoregressiveFlowModel(num_transforms=1, hidden_units=[4])
    model.compile(jit_compile=False)
    history = model.fit(x, validation_split=0.25, epochs=1, verbose=0)
    np.testing.assert_allclose(model.data_mean.numpy(), x[:75].mean(axis=0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.data_std.numpy(), x[:75].std(axis=0), rtol=1e-4)
    assert history.history["val_loss"][0] > history.history["loss"][0] + 100  # the tail was evaluated


def _first_epoch_loss(make, data, route: str, targets=None) -> float:
    keras.utils.set_random_seed(0)
    model = make()
    model.compile(jit_compile=False)
    if route == "arrays":
        history = model.fit(data, targets, batch_size=32, epochs=1, shuffle=False, verbose=0)
    else:
        slices = data if targets is None else (data, targets)
        history = model.fit(tf.data.Dataset.from_tensor_slices(slices).batch(32), epochs=1, verbose=0)
    return history.history["loss"][0]


@pytest.mark.slow
def test_vae_arrays_and_dataset_give_the_same_first_epoch_loss():
    grey = np.random.default_rng(1).random((96, 6, 6, 1)).astype("float32")

    def make():
        return VariationalAutoencoder(data_shape=[6, 6, 1], latent_dim=2, hidden_units=[8], binarize=True, seed=0)

    arrays = _first_epoch_loss(make, grey, "arrays")
    assert _first_epoch_loss(make, grey, "dataset") == pytest.approx(arrays, rel=1e-6)


@pytest.mark.slow
def test_bnn_arrays_and_dataset_give_the_same_first_epoch_loss():
    x = _rows(96, 3)
    y = (x @ np.array([1.0, -2.0, 0.5], "float32") + 3.0).astype("float32")

    def make():
        return BayesianMLP(hidden_units=[8], likelihood="gaussian", seed=0)

    arrays = _first_epoch_loss(make, x, "arrays", y)
    assert _first_epoch_loss(make, x, "dataset", y) == pytest.approx(arrays, rel=1e-5)


@pytest.mark.slow
def test_vae_binarises_training_batches_afresh_and_evaluated_batches_at_a_fixed_seed():
    grey = np.full((64, 6, 6, 1), 0.5, "float32")
    vae = VariationalAutoencoder(data_shape=[6, 6, 1], latent_dim=2, hidden_units=[8], binarize=True, seed=3)
    vae.compile(jit_compile=False)
    first = vae.prepare(grey, training=True)[0].numpy()
    vae.optimizer.iterations.assign_add(1)
    second = vae.prepare(grey, training=True)[0].numpy()
    assert set(np.unique(first)) == {0.0, 1.0} and abs(first.mean() - 0.5) < 0.05
    assert not np.array_equal(first, second)
    evaluated = vae.prepare(grey, training=False)[0].numpy()
    np.testing.assert_array_equal(evaluated, binarize(grey, seed=3))
    np.testing.assert_array_equal(vae.prepare(grey, training=False)[0].numpy(), evaluated)
