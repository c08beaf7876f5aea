"""beta-NLL (`NegativeLogLikelihood(variance_weighting=beta)`): value and gradients against closed forms."""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfp_arch import layers, losses

RNG = np.random.default_rng(11)
N = 9


def _scalar_case():
    y = RNG.normal(size=N)
    params = np.stack([RNG.normal(size=N), RNG.uniform(0.2, 3.0, size=N)], axis=-1)
    return y, params


def _normal_nll(y, loc, scale):
    return 0.5 * ((y - loc) / scale) ** 2 + np.log(scale) + 0.5 * math.log(2 * math.pi)


@pytest.mark.parametrize("beta", [0.0, 0.5, 1.0])
def test_value_and_gradients_are_the_closed_form_with_stopped_weights(beta):
    y, params = _scalar_case()
    loc, scale = params[:, 0], params[:, 1]
    weight = scale ** (2 * beta)
    weight = weight / weight.mean()
    loss = losses.NegativeLogLikelihood(layers.IndependentNormal((), scale_transform="identity"), variance_weighting=beta)
    tensor = tf.constant(params, tf.float64)
    with tf.GradientTape() as tape:
        tape.watch(tensor)
        value = loss(tf.constant(y[:, None], tf.float64), tensor)
    gradient = tape.gradient(value, tensor).numpy()
    assert float(value) == pytest.approx(np.mean(weight * _normal_nll(y, loc, scale)), rel=1e-6)
    # The weights are constants to the gradient: d/d loc = w (loc - y) / scale^2, d/d scale = w (1/scale - r^2/scale^3).
    np.testing.assert_allclose(gradient[:, 0], weight * (loc - y) / scale**2 / N, rtol=1e-5)
    np.testing.assert_allclose(gradient[:, 1], weight * (1 / scale - (y - loc) ** 2 / scale**3) / N, rtol=1e-5)


def test_vector_events_weight_each_example_by_its_mean_variance_power():
    y = RNG.normal(size=(N, 3))
    loc, scale = RNG.normal(size=(N, 3)), RNG.uniform(0.2, 3.0, size=(N, 3))
    head = layers.IndependentNormal(3, scale_transform="identity")
    loss = losses.NegativeLogLikelihood(head, variance_weighting=0.5)
    weight = np.mean(scale, axis=-1)
    weight = weight / weight.mean()
    expected = np.mean(weight * _normal_nll(y, loc, scale).sum(axis=-1))
    params = tf.constant(np.concatenate([loc, scale], axis=-1), tf.float64)
    assert float(loss(tf.constant(y, tf.float64), params)) == pytest.approx(expected, rel=1e-6)


@pytest.mark.slow
def test_weights_ignore_the_targets_units():
    """Rescaling targets and scales by c shifts every NLL by log c and leaves the weights alone."""
    y, params = _scalar_case()
    loss = losses.NegativeLogLikelihood(layers.IndependentNormal((), scale_transform="identity"), variance_weighting=0.5)
    base = float(loss(y[:, None], params))
    assert float(loss(1000.0 * y[:, None], 1000.0 * params)) == pytest.approx(base + math.log(1000.0), rel=1e-6)


@pytest.mark.slow
def test_config_round_trip_and_invalid_exponent():
    loss = losses.NegativeLogLikelihood(layers.IndependentNormal(1), variance_weighting=0.5)
    restored = keras.losses.deserialize(keras.losses.serialize(loss))
    assert restored.variance_weighting == 0.5
    with pytest.raises(ValueError, match="`variance_weighting`"):
        losses.NegativeLogLikelihood(layers.IndependentNormal(1), variance_weighting=-1.0)
