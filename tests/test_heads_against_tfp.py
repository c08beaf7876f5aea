"""The distribution heads equal `tfp.layers` on tf_keras: sizes, log-probabilities and moments."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from heads_cases import CASE_IDS, CASES

tf_keras = pytest.importorskip(
    "tf_keras", reason="tf_keras is not installed; `pip install tf_keras` to compare with tfp.layers"
)
tfpl = pytest.importorskip("tensorflow_probability").layers

from tfp_arch import layers  # noqa: E402

BATCH = 7


def _params(case, seed):
    size = case.size(layers)
    return np.random.default_rng(seed).normal(scale=1.5, size=(BATCH, size)).astype("float32")


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_params_size_equals_tfp(case):
    assert case.size(layers) == int(case.size(tfpl))


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
@pytest.mark.parametrize("seed", [0, 1])
def test_log_prob_equals_tfp_layer_on_random_parameters(case, seed):
    params = _params(case, seed)
    y = case.targets(np.random.default_rng(seed + 100), BATCH)
    reference = case.make_tfp(tfpl)(tf.constant(params)).log_prob(y).numpy()
    ours = case.make().log_prob(params, y).numpy()
    assert reference.shape == (BATCH,)
    np.testing.assert_allclose(ours, reference, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_mean_and_stddev_equal_tfp_layer(case):
    params = _params(case, 2)
    reference = case.make_tfp(tfpl)(tf.constant(params))
    head = case.make()
    np.testing.assert_allclose(head.mean(params), reference.mean(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(head.stddev(params), reference.stddev(), rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_same_inputs_through_dense_layers_give_the_same_log_prob():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(16, 4)).astype("float32")
    y = rng.normal(size=(16, 2)).astype("float32")
    kernel = rng.normal(size=(4, 10)).astype("float32")
    bias = rng.normal(size=10).astype("float32")
    import keras

    ours = keras.Sequential([keras.Input((4,)), keras.layers.Dense(10), layers.MixtureNormal(2, [2])])
    ours.layers[0].set_weights([kernel, bias])
    theirs = tf_keras.Sequential([tf_keras.Input((4,)), tf_keras.layers.Dense(10), tfpl.MixtureNormal(2, [2])])
    theirs.layers[0].set_weights([kernel, bias])
    np.testing.assert_allclose(ours(x).log_prob(y), theirs(x).log_prob(y), rtol=1e-5, atol=1e-5)
