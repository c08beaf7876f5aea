"""Quantiles of the distribution heads invert each coordinate's CDF, computed independently."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

from heads_cases import CASES
from tfp_arch import layers

tfd = tfp.distributions

LEVELS = np.array([0.01, 0.1, 0.5, 0.9, 0.99], "float32")


def _params(head, seed=0, batch=6):
    return np.random.default_rng(seed).normal(scale=1.5, size=(batch, head.layer_params_size())).astype("float32")


def _mixture_marginals(distribution, event_shape):
    """The mixture of the components' marginals of each coordinate, built directly with TFP."""
    components = distribution.components_distribution
    base = components.distribution if isinstance(components, tfd.Independent) else None
    if isinstance(components, tfd.MultivariateNormalTriL):
        base = tfd.Normal(components.mean(), components.stddev())
    logits = distribution.mixture_distribution.logits
    logits = tf.reshape(logits, tf.concat([tf.shape(logits), tf.ones([len(event_shape)], tf.int32)], 0))
    logits = tf.experimental.numpy.moveaxis(tf.broadcast_to(logits, base.batch_shape), -1 - len(event_shape), -1)
    parameters = {k: tf.experimental.numpy.moveaxis(v, -1 - len(event_shape), -1)
                  for k, v in base.parameters.items() if k in ("loc", "scale", "log_rate") and v is not None}
    return tfd.MixtureSameFamily(tfd.Categorical(logits=logits), type(base)(**parameters))


def _reference_cdf(head, params):
    distribution = head.distribution(params)
    if isinstance(head, (layers.MixtureSameFamily, layers.MixtureNormal, layers.MixtureLogistic)):
        return _mixture_marginals(distribution, head.event_shape).cdf
    if isinstance(head, layers.MultivariateNormalTriL):
        scale = distribution.scale.to_dense().numpy()
        stddev = np.sqrt(np.einsum("bij,bij->bi", scale, scale))
        return tfd.Normal(params[:, : head.event_size], stddev).cdf
    return distribution.distribution.cdf


ORDERED = [case for case in CASES if case.ordered]


@pytest.mark.parametrize("case", ORDERED, ids=[case.id for case in ORDERED])
def test_quantiles_invert_the_cdf(case):
    head = case.make()
    params = _params(head)
    quantiles = head.quantile(params, LEVELS).numpy()
    assert quantiles.shape == (len(LEVELS), 6, *head.event_shape)
    cdf = _reference_cdf(head, params)
    levels = LEVELS.reshape((-1,) + (1,) * (quantiles.ndim - 1))
    if head.integer_support:
        np.testing.assert_array_equal(quantiles, np.round(quantiles))
        assert np.all(cdf(quantiles).numpy() >= levels - 1e-6)
        assert np.all(cdf(quantiles - 1).numpy() < levels)
    else:
        np.testing.assert_allclose(cdf(quantiles).numpy(), np.broadcast_to(levels, quantiles.shape), atol=2e-5)


def test_mixture_quantile_leaves_its_level_of_samples_below_it():
    head = layers.MixtureNormal(3)
    params = _params(head, seed=4, batch=3)
    draws = head.sample(params, 100_000, seed=1).numpy()
    quantiles = head.quantile(params, LEVELS).numpy()
    below = (draws[None] <= quantiles[:, None]).mean(axis=1)
    standard_error = np.sqrt(LEVELS * (1 - LEVELS) / draws.shape[0])[:, None]
    assert np.all(np.abs(below - LEVELS[:, None]) < 5 * standard_error)


def test_scalar_level_gives_one_quantile_per_coordinate():
    head = layers.IndependentNormal(2)
    params = _params(head)
    median = head.quantile(params, 0.5).numpy()
    np.testing.assert_allclose(median, params[:, :2], atol=1e-6)


def test_bernoulli_quantile_is_zero_below_the_failure_probability():
    head = layers.IndependentBernoulli()
    logits = np.array([[-1.0], [0.0], [2.0]], "float32")
    p_zero = 1 - 1 / (1 + np.exp(-logits[:, 0]))
    for q in (0.2, 0.6):
        np.testing.assert_array_equal(head.quantile(logits, q), (q > p_zero).astype("float32"))


@pytest.mark.slow
def test_quantile_works_inside_a_compiled_function():
    head = layers.MixtureNormal(2, [2])
    params = _params(head)
    compiled = tf.function(head.quantile, jit_compile=True)
    np.testing.assert_allclose(compiled(params, LEVELS), head.quantile(params, LEVELS), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("head", [layers.OneHotCategorical(3), layers.CategoricalMixtureOfOneHotCategorical(3, 2)])
def test_unordered_heads_have_no_quantiles(head):
    with pytest.raises(ValueError, match="has no quantiles"):
        head.quantile(_params(head), 0.5)
