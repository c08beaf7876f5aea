"""Variational transposed convolutions: output moments against Keras' own transposed convolutions,
unbiased gradients, output shapes, saving and conversion."""

from __future__ import annotations

import math
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import assign_random_posterior, layer_draws

from tfp_arch.layers import (
    Conv1DTransposeVariational,
    Conv2DTransposeVariational,
    Conv3DTransposeVariational,
    to_variational,
)

ESTIMATORS = ["reparameterization", "local_reparameterization", "flipout"]
CASES = {  # layer class, Keras' deterministic class, input shape (one example), kernel size, strides, padding
    1: (Conv1DTransposeVariational, keras.layers.Conv1DTranspose, (4, 2), 3, 2, "valid"),
    2: (Conv2DTransposeVariational, keras.layers.Conv2DTranspose, (3, 3, 2), 3, 2, "same"),
    3: (Conv3DTransposeVariational, keras.layers.Conv3DTranspose, (2, 2, 2, 1), 2, 1, "valid"),
}


def _layer(rank: int, estimator: str, seed: int = 0):
    cls, _, shape, kernel_size, strides, padding = CASES[rank]
    layer = cls(2, kernel_size, strides=strides, padding=padding, estimator=estimator, seed=seed)
    layer.build((None, *shape))
    rng = assign_random_posterior(layer, seed)
    return layer, rng.normal(size=(1, *shape)).astype("float32")


def _keras_moments(rank: int, layer, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean `conv_transpose(x, mu) + mu_b` and variance `conv_transpose(x^2, sigma^2) + sigma_b^2`
    from Keras' own transposed convolution (its kernel is ours with the last two axes swapped)."""
    _, keras_cls, _, kernel_size, strides, padding = CASES[rank]
    loc, scale = (t.numpy() for t in layer.family.loc_and_scale())
    conv = keras_cls(2, kernel_size, strides=strides, padding=padding)
    conv.build(x.shape)
    outputs = []
    for inputs, packed in ((x, loc), (np.square(x), np.square(scale))):
        conv.set_weights([np.swapaxes(packed[:-1].reshape(layer._kernel_shape), -1, -2), packed[-1]])
        outputs.append(conv(inputs).numpy().astype(np.float64))
    return outputs[0], outputs[1]


@pytest.mark.parametrize("rank", [1, 2, 3])
@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_output_mean_and_variance_match_the_transposed_convolution_of_the_posterior(rank: int, estimator: str) -> None:
    layer, x = _layer(rank, estimator, seed=rank)
    mean, variance = _keras_moments(rank, layer, x)
    assert layer.compute_output_shape(x.shape) == mean.shape
    draws = layer_draws(layer, x, 3000)
    assert draws.shape[1:] == mean.shape[1:]
    z_mean = np.abs(draws.mean(0) - mean[0]) / np.sqrt(variance[0] / len(draws))
    z_variance = np.abs(draws.var(0, ddof=1) / variance[0] - 1.0) / math.sqrt(2.0 / (len(draws) - 1))
    assert z_mean.max() < 4.5 and z_variance.max() < 4.5, (z_mean.max(), z_variance.max())


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_transposed_gradient_estimators_are_unbiased(estimator: str) -> None:
    """The mean of many gradient samples of sum(out^2) equals the gradient of sum(mean^2 + variance)."""
    layer, x = _layer(2, estimator, seed=5)
    x = np.repeat(x, 2, axis=0) * np.array([1.0, -0.5], "float32")[:, None, None, None]
    variables = [layer.posterior]
    with tf.GradientTape() as tape:
        loc, scale = layer.family.loc_and_scale()
        expected = tf.reduce_sum(tf.square(layer.apply_packed(x, loc)) + layer.apply_packed(np.square(x), tf.square(scale)))
    analytic = tape.gradient(expected, variables)[0].numpy().ravel()

    @tf.function
    def gradient_samples(count: int) -> tf.Tensor:
        array = tf.TensorArray(tf.float32, size=count)
        for i in tf.range(count):
            with tf.GradientTape() as tape:
                value = tf.reduce_sum(tf.square(layer(x)))
            array = array.write(i, tf.reshape(tape.gradient(value, variables)[0], [-1]))
        return array.stack()

    samples = gradient_samples(tf.constant(3000)).numpy().astype(np.float64)
    z = np.abs(samples.mean(0) - analytic) / (samples.std(0) / math.sqrt(len(samples)) + 1e-12)
    assert z.max() < 4.5, f"{estimator}: max z-score {z.max():.2f}"


@pytest.mark.parametrize("kwargs", [
    {"kernel_size": 3, "strides": 2, "padding": "valid"}, {"kernel_size": 2, "strides": 3, "padding": "valid"},
    {"kernel_size": 3, "strides": 2, "padding": "same"}, {"kernel_size": 3, "dilation_rate": 2, "padding": "valid"},
])
def test_output_shape_is_keras_one(kwargs: dict) -> None:
    """Keras' shape rule for `Conv2DTranspose` (its CPU kernel refuses dilation rates above 1, so the
    rule is asked directly, not read off a call)."""
    x = np.zeros((2, 5, 4, 3), "float32")
    expected = keras.layers.Conv2DTranspose(4, **kwargs).compute_output_shape(x.shape)
    layer = Conv2DTransposeVariational(4, **kwargs)
    assert tuple(layer(x).shape) == tuple(expected) == layer.compute_output_shape(x.shape)


@pytest.mark.slow
def test_decoder_trains_saves_and_loads(tmp_path) -> None:
    keras.utils.set_random_seed(0)
    x = np.random.default_rng(0).normal(size=(32, 4, 4, 2)).astype("float32")
    model = keras.Sequential([
        keras.Input((4, 4, 2)), Conv2DTransposeVariational(3, 3, strides=2, padding="same", activation="relu",
                                                           estimator="flipout", prior="scale_mixture", kl_weight=1 / 32),
        keras.layers.Conv2D(1, 3, padding="same"),
    ])
    model.compile("adam", "mse")
    history = model.fit(x, np.zeros((32, 8, 8, 1), "float32"), epochs=2, batch_size=16, verbose=0).history
    assert np.all(np.isfinite(history["loss"]))
    layer = model.layers[0]
    assert type(layer).from_config(layer.get_config()).get_config() == layer.get_config()
    model.save(tmp_path / "decoder.keras")
    loaded = keras.saving.load_model(tmp_path / "decoder.keras")
    assert type(loaded.layers[0]) is Conv2DTransposeVariational
    np.testing.assert_array_equal(loaded.layers[0].posterior.numpy(), layer.posterior.numpy())
    kernels, biases = loaded.layers[0].sample_weights(2, tf.constant([1, 2]))
    assert kernels.shape == (2, 3, 3, 2, 3) and biases.shape == (2, 3)
    np.testing.assert_allclose(loaded.layers[0].call_with_weights(x[:2], kernels[0], biases[0]),
                               layer.call_with_weights(x[:2], kernels[0], biases[0]), rtol=1e-6)


def test_to_variational_converts_transposed_convolutions_with_moped() -> None:
    keras.utils.set_random_seed(1)
    model = keras.Sequential([
        keras.Input((5, 5, 2)), keras.layers.Conv2DTranspose(3, 3, strides=2, activation="relu", name="up"),
        keras.layers.Flatten(), keras.layers.Dense(2, name="out"),
    ])
    converted = to_variational(model, moped_delta=1e-4, prior="normal", estimator="local_reparameterization")
    assert [type(layer).__name__ for layer in converted.layers] == ["Conv2DTransposeVariational", "Flatten", "DenseVariational"]
    up, kernel = converted.get_layer("up"), model.get_layer("up").kernel.numpy()
    np.testing.assert_array_equal(up.kernel_loc.numpy(), np.swapaxes(kernel, -1, -2))
    scale = np.log1p(np.exp(up.kernel_rho.numpy().astype(np.float64)))
    np.testing.assert_allclose(scale, np.maximum(1e-4 * np.abs(np.swapaxes(kernel, -1, -2)), 1e-6), rtol=1e-3)
    x = np.random.default_rng(1).normal(size=(4, 5, 5, 2)).astype("float32")
    np.testing.assert_allclose(converted.predict(x, verbose=0), model.predict(x, verbose=0), atol=2e-3)
    padded = keras.Sequential([keras.Input((4, 2)), keras.layers.Conv1DTranspose(2, 3, strides=2, output_padding=1, name="p")])
    with pytest.raises(ValueError, match="output_padding"):
        to_variational(padded)


@pytest.mark.parametrize("padding", ["valid", "same"])
def test_a_dilated_transposed_convolution_is_the_adjoint_of_the_dilated_convolution(padding: str) -> None:
    """<conv_transpose(x, K), g> = <x, conv(g, K)> for every x and g, with TensorFlow's dilated
    `conv2d` (which runs on CPU) as the independent reference."""
    rng = np.random.default_rng(0)
    layer = Conv2DTransposeVariational(5, (3, 2), dilation_rate=(2, 3), padding=padding)
    x = rng.normal(size=(2, 6, 7, 4)).astype("float32")
    layer.build(x.shape)
    kernel = rng.normal(size=(3, 2, 4, 5)).astype("float32")  # (*kernel_size, in, filters)
    y = layer._convolve(tf.constant(x), tf.constant(kernel)).numpy()
    assert y.shape == layer.compute_output_shape(x.shape)
    g = rng.normal(size=y.shape).astype("float32")
    back = tf.nn.conv2d(g, np.transpose(kernel, [0, 1, 3, 2]), strides=1, padding=padding.upper(), dilations=(2, 3))
    np.testing.assert_allclose(np.sum(y.astype(np.float64) * g), np.sum(x.astype(np.float64) * back.numpy()), rtol=1e-4)
