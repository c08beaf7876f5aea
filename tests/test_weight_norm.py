"""WeightNorm: TFP's outputs and data-dependent initialisation for the same kernel, training, saving."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tf_keras
from tensorflow_probability.python.layers.weight_norm import WeightNorm as TfpWeightNorm

from tfp_arch.layers import WeightNorm

LAYERS = {
    "dense": (lambda k: k.layers.Dense(4, activation="relu"), (16, 3)),
    "conv2d": (lambda k: k.layers.Conv2D(3, 2, activation="tanh"), (8, 5, 5, 2)),
    "conv2d_transpose": (lambda k: k.layers.Conv2DTranspose(3, 2), (8, 4, 4, 2)),
}


def _pair(kind, data_init, dtype="float32"):
    make, shape = LAYERS[kind]
    rng = np.random.default_rng(0)
    x = rng.normal(size=shape).astype(dtype)
    theirs = TfpWeightNorm(make(tf_keras), data_init=data_init, dtype=dtype)
    ours = WeightNorm(make(keras), data_init=data_init, dtype=dtype)
    theirs.build(shape)
    ours.build(shape)
    kernel = rng.normal(size=ours.v.shape).astype(dtype)
    bias = rng.normal(size=ours.layer.bias.shape).astype(dtype)
    theirs.v.assign(kernel)
    theirs.layer.bias.assign(bias)
    ours.v.assign(kernel)
    ours.layer.bias.assign(bias)
    return theirs, ours, x, rng


@pytest.mark.parametrize("data_init", [True, False])
@pytest.mark.parametrize("kind", sorted(LAYERS))
def test_outputs_and_initialisation_equal_tfps(kind, data_init):
    theirs, ours, x, rng = _pair(kind, data_init)
    np.testing.assert_allclose(ours(x).numpy(), theirs(x).numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(ours.g.numpy(), theirs.g.numpy(), rtol=1e-5)
    np.testing.assert_allclose(ours.layer.bias.numpy(), theirs.layer.bias.numpy(), rtol=1e-5, atol=1e-6)
    assert bool(ours.initialized.numpy())
    other = 2.0 * rng.normal(size=x.shape).astype("float32") + 1.0  # later calls do not initialise again
    np.testing.assert_allclose(ours(other).numpy(), theirs(other).numpy(), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_data_init_standardises_the_first_batch(dtype):
    layer = WeightNorm(keras.layers.Dense(5, dtype=dtype), data_init=True, dtype=dtype)
    x = (3.0 * np.random.default_rng(1).normal(size=(256, 4)) + 2.0).astype(dtype)
    y = layer(x).numpy()
    assert y.dtype == dtype
    np.testing.assert_allclose(y.mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(y.std(axis=0), 1.0, rtol=1e-4)
    w = layer.g.numpy() * layer.v.numpy() / np.linalg.norm(layer.v.numpy(), axis=0)
    np.testing.assert_allclose(y, x @ w + layer.layer.bias.numpy(), rtol=1e-4, atol=1e-4)


def test_fit_initialises_inside_the_compiled_step_and_trains_g_and_v():
    keras.utils.set_random_seed(0)
    layer = WeightNorm(keras.layers.Dense(1))
    model = keras.Sequential([keras.Input((3,)), layer])
    model.compile("adam", "mse")
    x = np.random.default_rng(2).normal(size=(64, 3)).astype("float32")
    y = x @ np.array([[1.0], [-2.0], [0.5]], "float32")
    v0 = layer.v.numpy().copy()
    model.fit(x, y, epochs=2, batch_size=64, verbose=0)
    assert bool(layer.initialized.numpy())
    assert not np.allclose(layer.v.numpy(), v0)
    assert {w.name for w in model.trainable_weights} >= {"g", "kernel", "bias"}


def test_keras_file_round_trip(tmp_path):
    model = keras.Sequential([keras.Input((3,)), WeightNorm(keras.layers.Dense(2, activation="relu"), data_init=True)])
    x = np.random.default_rng(3).normal(size=(10, 3)).astype("float32")
    expected = model(x).numpy()
    path = tmp_path / "weight_norm.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert bool(loaded.layers[0].initialized.numpy()) and loaded.layers[0].data_init
    np.testing.assert_allclose(loaded(5 * x).numpy(), model(5 * x).numpy(), rtol=1e-5)
    np.testing.assert_allclose(loaded(x).numpy(), expected, rtol=1e-5)


@pytest.mark.slow
def test_a_layer_without_kernel_is_refused():
    with pytest.warns(UserWarning, match="tested only"):
        layer = WeightNorm(keras.layers.Dropout(0.1))
    with pytest.raises(ValueError, match="`layer`"):
        layer.build((None, 3))
