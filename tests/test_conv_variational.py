"""Variational convolutions: output moments against Keras' own convolutions, unbiased gradients, saving, conversion."""

from __future__ import annotations

import math
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import assign_random_posterior, layer_draws, max_gradient_z_score

from tfp_arch.layers import (
    Conv1DVariational,
    Conv2DVariational,
    Conv3DVariational,
    KLWeightCallback,
    dense_to_variational,
    to_variational,
)

ESTIMATORS = ["reparameterization", "local_reparameterization", "flipout"]
CASES = {  # layer class, Keras' deterministic class, input shape (one example), kernel size
    1: (Conv1DVariational, keras.layers.Conv1D, (6, 2), 3),
    2: (Conv2DVariational, keras.layers.Conv2D, (4, 4, 2), 2),
    3: (Conv3DVariational, keras.layers.Conv3D, (3, 3, 3, 1), 2),
}


def _layer(rank: int, estimator: str, seed: int = 0, **kwargs):
    cls, _, shape, kernel_size = CASES[rank]
    layer = cls(2, kernel_size, estimator=estimator, seed=seed, padding="same" if rank == 2 else "valid", **kwargs)
    layer.build((None, *shape))
    rng = assign_random_posterior(layer, seed)
    x = rng.normal(size=(1, *shape)).astype("float32")
    return layer, x


def _keras_moments(rank: int, layer, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean `conv(x, mu) + mu_b` and variance `conv(x^2, sigma^2) + sigma_b^2` from Keras' own convolution."""
    _, keras_cls, _, kernel_size = CASES[rank]
    loc, scale = (t.numpy() for t in layer.family.loc_and_scale())
    conv = keras_cls(2, kernel_size, padding=layer.padding)
    conv.build(x.shape)
    outputs = []
    for inputs, packed in ((x, loc), (np.square(x), np.square(scale))):
        conv.set_weights([packed[:-1].reshape(layer._kernel_shape), packed[-1]])
        outputs.append(conv(inputs).numpy().astype(np.float64))
    return outputs[0], outputs[1]


@pytest.mark.parametrize("rank", [1, 2, 3])
@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_output_mean_and_variance_match_the_convolution_of_the_posterior(rank: int, estimator: str) -> None:
    """Every estimator gives each output value the same normal marginal: mean the convolution with
    the posterior means, variance the convolution of x^2 with the posterior variances (the local
    reparameterisation's closed form)."""
    layer, x = _layer(rank, estimator, seed=rank)
    mean, variance = _keras_moments(rank, layer, x)
    draws = layer_draws(layer, x, 3000)
    z_mean = np.abs(draws.mean(0) - mean[0]) / np.sqrt(variance[0] / len(draws))
    z_variance = np.abs(draws.var(0, ddof=1) / variance[0] - 1.0) / math.sqrt(2.0 / (len(draws) - 1))
    assert z_mean.max() < 4.5 and z_variance.max() < 4.5, (z_mean.max(), z_variance.max())


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_conv_gradient_estimators_are_unbiased(estimator: str) -> None:
    """The mean of many gradient samples of sum(out^2) equals the gradient of its expectation
    sum(mean^2 + variance), within 4.5 standard errors."""
    layer, x = _layer(2, estimator, seed=5)
    x = np.repeat(x, 2, axis=0) * np.array([1.0, -0.5], "float32")[:, None, None, None]
    variables = [layer.posterior]
    with tf.GradientTape() as tape:
        loc, scale = layer.family.loc_and_scale()
        mean = layer.apply_packed(x, loc)
        variance = layer.apply_packed(np.square(x), tf.square(scale))
        expected = tf.reduce_sum(tf.square(mean) + variance)
    analytic = tape.gradient(expected, variables)[0].numpy().ravel()

    z = max_gradient_z_score(layer, x, variables, analytic, 3000)
    assert z < 4.5, f"{estimator}: max z-score {z:.2f}"


@pytest.mark.slow
def test_small_bayesian_cnn_trains_saves_and_loads(tmp_path) -> None:
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 8, 8, 1)).astype("float32")
    y = (x[:, :4].mean(axis=(1, 2, 3)) > x[:, 4:].mean(axis=(1, 2, 3))).astype("int32")
    model = keras.Sequential([
        keras.Input((8, 8, 1)), Conv2DVariational(4, 3, activation="relu", estimator="flipout", prior="scale_mixture"),
        keras.layers.Flatten(), keras.layers.Dense(2),
    ])
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x, y, epochs=1, batch_size=16, verbose=0, callbacks=[KLWeightCallback(x)])
    layer = model.layers[0]
    assert float(layer.kl_weight_variable) == pytest.approx(1 / 64)
    assert type(layer).from_config(layer.get_config()).get_config() == layer.get_config()
    model.save(tmp_path / "cnn.keras")
    loaded = keras.saving.load_model(tmp_path / "cnn.keras")
    np.testing.assert_array_equal(loaded.layers[0].posterior.numpy(), layer.posterior.numpy())
    kernels, biases = loaded.layers[0].sample_weights(3, tf.constant([1, 2]))
    assert kernels.shape == (3, 3, 3, 1, 4) and biases.shape == (3, 4)


@pytest.mark.slow
def test_to_variational_converts_dense_and_convolutions_with_moped() -> None:
    keras.utils.set_random_seed(1)
    model = keras.Sequential([
        keras.Input((10, 10, 1)), keras.layers.Conv2D(3, 3, padding="same", activation="relu", name="conv"),
        keras.layers.MaxPooling2D(), keras.layers.Flatten(), keras.layers.Dense(2, name="out"),
    ])
    converted = to_variational(model, moped_delta=1e-4, prior="normal", estimator="flipout")
    assert dense_to_variational is to_variational
    assert [type(layer).__name__ for layer in converted.layers] == [
        "Conv2DVariational", "MaxPooling2D", "Flatten", "DenseVariational"]
    conv = converted.get_layer("conv")
    np.testing.assert_array_equal(conv.kernel_loc.numpy(), model.get_layer("conv").kernel.numpy())
    scale = np.log1p(np.exp(conv.kernel_rho.numpy().astype(np.float64)))
    np.testing.assert_allclose(scale, np.maximum(1e-4 * np.abs(model.get_layer("conv").kernel.numpy()), 1e-6), rtol=1e-3)
    x = np.random.default_rng(1).normal(size=(5, 10, 10, 1)).astype("float32")
    np.testing.assert_allclose(converted.predict(x, verbose=0), model.predict(x, verbose=0), atol=2e-3)
    assert conv.padding == "same" and conv.activation.__name__ == "relu"


@pytest.mark.slow
def test_unsupported_convolutions_and_estimators_are_refused() -> None:
    model = keras.Sequential([keras.Input((8, 2)), keras.layers.Conv1D(2, 3, padding="causal", name="causal")])
    with pytest.raises(ValueError, match="skip=\\['causal'\\]"):
        to_variational(model)
    assert isinstance(to_variational(model, skip=["causal"]).layers[0], keras.layers.Conv1D)
    with pytest.raises(ValueError, match="`estimator`"):
        Conv2DVariational(2, 3, posterior_family="multivariate_normal_tril", estimator="local_reparameterization")
    with pytest.raises(ValueError, match="`kernel_size`"):
        Conv2DVariational(2, (3, 3, 3))
    with pytest.raises(ValueError, match="`padding`"):
        Conv1DVariational(2, 3, padding="causal")
