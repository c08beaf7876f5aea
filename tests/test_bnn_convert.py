"""Converting the Dense layers of deterministic Keras models into DenseVariational layers."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import pytest

from tfp_arch.layers.variational.convert import dense_to_variational
from tfp_arch.layers.variational.dense import DenseVariational
from tfp_arch.layers.kl.weight import KLWeightCallback


def _functional() -> keras.Model:
    inputs = keras.Input((3,))
    hidden = keras.layers.Dense(6, activation="tanh", name="hidden")(inputs)
    hidden = keras.layers.LayerNormalization(name="norm")(hidden)
    return keras.Model(inputs, keras.layers.Dense(2, name="out")(hidden))


@pytest.mark.slow
def test_functional_model_centred_on_trained_weights() -> None:
    keras.utils.set_random_seed(0)
    model = _functional()
    x = np.random.default_rng(0).normal(size=(40, 3)).astype("float32")
    model.get_layer("norm").set_weights([np.full(6, 1.3, "float32"), np.full(6, 0.2, "float32")])
    converted = dense_to_variational(model, moped_delta=1e-4, prior="normal", prior_scale=0.5, estimator="flipout")
    assert [type(layer).__name__ for layer in converted.layers] == ["InputLayer", "DenseVariational", "LayerNormalization", "DenseVariational"]
    hidden = converted.get_layer("hidden")
    np.testing.assert_array_equal(hidden.kernel_loc.numpy(), model.get_layer("hidden").kernel.numpy())
    scale = np.log1p(np.exp(hidden.kernel_rho.numpy().astype(np.float64)))
    np.testing.assert_allclose(scale, np.maximum(1e-4 * np.abs(model.get_layer("hidden").kernel.numpy()), 1e-6), rtol=1e-3)
    np.testing.assert_array_equal(converted.get_layer("norm").get_weights()[0], np.full(6, 1.3, "float32"))
    np.testing.assert_allclose(converted.predict(x, verbose=0), model.predict(x, verbose=0), atol=2e-3)
    assert hidden.prior == "normal" and hidden.estimator == "flipout" and hidden.activation.__name__ == "tanh"


def test_sequential_model_fresh_initialisation_and_training() -> None:
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1, name="head")])
    converted = dense_to_variational(model, center_on_weights=False, skip=["head"])
    assert isinstance(converted.layers[0], DenseVariational) and isinstance(converted.layers[1], keras.layers.Dense)
    assert not np.allclose(converted.layers[0].kernel_loc.numpy(), model.layers[0].kernel.numpy())
    x = np.random.default_rng(1).normal(size=(64, 2)).astype("float32")
    converted.compile("adam", "mse")
    converted.fit(x, x.sum(1), epochs=2, verbose=0, callbacks=[KLWeightCallback(x)])
    assert float(converted.layers[0].kl_weight_variable) == pytest.approx(1 / 64)


@pytest.mark.slow
def test_moped_needs_centring() -> None:
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    with pytest.raises(ValueError, match="`moped_delta`"):
        dense_to_variational(model, center_on_weights=False, moped_delta=0.1)
